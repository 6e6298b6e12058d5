"""Turning a model reference into a loaded text-to-image pipeline.

``load_model`` only loads: keeping models in memory between generations is the engine's job. The steps are
resolve (``model_ref``), download a hub model not cached yet (``download``), read the family from the files
(``model_family``), apply the pickle policy, then load the diffusers folder or the single file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engine.lazy import torch_modules
from studio.engine.pickle_policy import check_pickle_allowed, load_pickle_state_dict
from studio.engine.single_file import load_single_file
from studio.errors import ModelError
from studio.models.download import download_model
from studio.models.hashing import model_hash10
from studio.models.model_family import PIPELINE_CLASSES, base_family, detect_family
from studio.models.model_ref import ModelRef, resolve_reference
from studio.results import ModelInfo


@dataclass
class LoadedModel:
    """A loaded text-to-image pipeline and what the metadata records about it.

    ``pipe`` is a diffusers ``StableDiffusionPipeline`` or ``StableDiffusionXLPipeline`` on ``device`` in
    ``dtype``. Image-to-image pipelines are derived from it with ``from_pipe`` (shared weights, no reload).
    """

    pipe: Any
    info: ModelInfo
    reference: str
    device: str
    dtype: Any


def load_model(
    reference: str,
    *,
    device: str = "cpu",
    dtype: Any = None,
    allow_pickle: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> LoadedModel:
    """Load ``reference`` (hub id, diffusers folder, or single checkpoint file) onto ``device``.

    ``dtype`` defaults to float32. ``on_progress`` receives short stage messages ("Reading model.safetensors").
    ``info.hash10`` is A1111's model hash for single files, None otherwise. Raises ``ModelError`` with a
    message that says what is wrong and what to do.
    """
    say = on_progress or (lambda message: None)
    ref = resolve_reference(reference)
    if ref.kind == "hub" and ref.path is None:
        ref = _download(ref, say)
    torch = torch_modules().torch
    dtype = dtype or torch.float32
    hash10 = None
    if ref.kind == "single_file":
        assert ref.path is not None
        state = None
        if ref.is_pickle:
            check_pickle_allowed(ref.path, allow_pickle)
            say(f"Checking {ref.path.name}")
            state = load_pickle_state_dict(ref.path)  # refuses anything but weights, before diffusers sees it
        family = detect_family(ref, state)
        del state
        pipe = load_single_file(ref.path, family, dtype=dtype, on_progress=say)
        say(f"Hashing {ref.path.name}")
        hash10 = model_hash10(ref.path)
    else:
        family = detect_family(ref)
        pipe = _load_folder(ref, family, dtype, say)
    say(f"Moving the model to {device}")
    try:
        pipe.to(device)
    except RuntimeError as exc:  # CUDA/MPS out of memory is a RuntimeError
        if "out of memory" not in str(exc).lower():
            raise
        raise ModelError(
            f"The model '{ref.name}' does not fit on {device} ({str(exc)[:200]}). Close other programs using the "
            "GPU, choose half precision, or use a smaller model."
        ) from exc
    info = ModelInfo(name=ref.name, family=family, hash10=hash10)
    return LoadedModel(pipe=pipe, info=info, reference=reference, device=device, dtype=dtype)


def _download(ref: ModelRef, say: Callable[[str], None]) -> ModelRef:
    def progress(done: int, total: int) -> None:
        say(f"Downloading {ref.repo_id}: {done / 1e9:.2f} of {total / 1e9:.2f} GB")

    folder = download_model(str(ref.repo_id), on_progress=progress)
    return ModelRef(ref.reference, "hub", folder, repo_id=ref.repo_id)


def weights_variant(folder: Path) -> str | None:
    """ "fp16" when the folder holds only fp16-variant UNet weights (as ``download_model`` fetches them)."""
    unet = folder / "unet"
    plain = any(unet.glob("diffusion_pytorch_model.safetensors*")) or any(
        unet.glob("diffusion_pytorch_model.bin")
    )
    return "fp16" if not plain and any(unet.glob("diffusion_pytorch_model.fp16.*")) else None


def _load_folder(ref: ModelRef, family: str, dtype: Any, say: Callable[[str], None]) -> Any:
    assert ref.path is not None
    diffusers = torch_modules().diffusers
    # An inpainting model (9-channel UNet) loads as its base family's pipeline too; the engine derives the
    # inpaint pipeline from it with from_pipe.
    cls = getattr(diffusers, PIPELINE_CLASSES[base_family(family)])
    extra: dict[str, Any] = {}
    if base_family(family) == "sd15":
        # No safety checker, as in A1111; a folder's own checker would otherwise cost 1.2 GB of memory.
        extra.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    say(f"Loading {ref.name}")
    try:
        return cls.from_pretrained(
            str(ref.path),
            dtype=dtype,
            local_files_only=True,
            variant=weights_variant(ref.path),
            **extra,
        )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelError(
            f"The model folder '{ref.path}' could not be loaded ({exc.__class__.__name__}: {str(exc)[:300]}). "
            "A file may be missing or damaged; download the model again."
        ) from exc
