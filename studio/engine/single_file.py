"""Single-file checkpoints (A1111 / Civitai style) loaded fully offline.

``from_single_file`` needs a diffusers config folder for the pipeline layout; without one it fetches the
configs from the Hugging Face hub, even with ``local_files_only``. The studio always passes one:

* ``NAME.config/`` beside ``NAME.safetensors`` when present (a sidecar: a diffusers folder without weights, for
  checkpoints whose shapes are not a standard family's, such as the tiny test models), else
* ``resources/model_configs/<family>/``, the configs of the reference SD1.5 / SDXL base 1.0 repos.

The reference folders share one CLIP vocabulary (``resources/model_configs/clip_tokenizer``, built by
``packaging/make_tokenizer_files.py``) instead of three copies, so their tokenizers are built here and passed in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.engine.lazy import torch_modules
from studio.errors import ModelError
from studio.models.model_family import PIPELINE_CLASSES, base_family
from studio.paths import resources_dir

SIDECAR_SUFFIX = ".config"
SHARED_TOKENIZER = "clip_tokenizer"


def reference_config_folder(family: str) -> Path:
    return resources_dir() / "model_configs" / base_family(family)


def config_folder_for(path: Path, family: str) -> Path:
    """The diffusers config folder to load ``path`` with: its sidecar, else the family's reference configs."""
    sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
    if (sidecar / "model_index.json").is_file():
        return sidecar
    folder = reference_config_folder(family)
    if not (folder / "model_index.json").is_file():
        raise ModelError(
            f"The studio's model configuration for {family} is missing ({folder}). Reinstall Diffusion Studio."
        )
    return folder


def _shared_tokenizer(config_folder: Path, subfolder: str) -> Any:
    """A CLIP tokenizer from the shared vocabulary, configured as ``config_folder/subfolder`` says."""
    transformers = torch_modules().transformers
    shared = resources_dir() / "model_configs" / SHARED_TOKENIZER
    config = json.loads((config_folder / subfolder / "tokenizer_config.json").read_text(encoding="utf-8"))
    # from_pretrained on the folder, not the constructor: the constructor's arguments differ between
    # transformers 4 (vocab_file=, merges_file=) and 5 (vocab=, merges=).
    return transformers.CLIPTokenizer.from_pretrained(
        str(shared),
        pad_token=config.get("pad_token", "<|endoftext|>"),
        model_max_length=config.get("model_max_length", 77),
        local_files_only=True,
    )


def load_single_file(
    path: Path,
    family: str,
    *,
    dtype: Any,
    on_progress: Callable[[str], None] | None = None,
) -> Any:
    """Build the family's text-to-image pipeline from one checkpoint file, without touching the network.

    Pickle files must have passed ``pickle_policy`` first (diffusers itself reads them with
    ``weights_only=True``).
    """
    diffusers = torch_modules().diffusers
    config = config_folder_for(path, family)
    extra: dict[str, Any] = {}
    inpaint = family != base_family(family)
    family = base_family(family)  # an inpainting checkpoint loads as its base family's pipeline
    tokenizers = ("tokenizer",) if family == "sd15" else ("tokenizer", "tokenizer_2")
    for name in tokenizers:
        if not (config / name / "vocab.json").is_file():
            extra[name] = _shared_tokenizer(config, name)
    if family == "sd15":
        # The studio runs no safety checker (as A1111); skipping it also avoids a 1.2 GB download.
        extra.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    if on_progress:
        on_progress(f"Reading {path.name}")
    cls = getattr(diffusers, PIPELINE_CLASSES[family])
    try:
        if inpaint:
            # The reference configs describe a 4-channel UNet; an inpainting one takes 9 (latents, mask,
            # masked image), so it is built with that one change and handed to the pipeline.
            extra["unet"] = diffusers.UNet2DConditionModel.from_single_file(
                str(path),
                config=str(config),
                subfolder="unet",
                in_channels=9,
                local_files_only=True,
                dtype=dtype,
            )
        return cls.from_single_file(
            str(path), config=str(config), local_files_only=True, dtype=dtype, **extra
        )
    except (KeyError, RuntimeError, ValueError) as exc:
        # Shape or key mismatches: a checkpoint of another architecture, or a damaged one.
        raise ModelError(
            f"'{path.name}' could not be loaded as an {family.upper()} checkpoint ({exc.__class__.__name__}: "
            f"{str(exc)[:300]}). It may be a different kind of model or damaged; try another file."
        ) from exc
