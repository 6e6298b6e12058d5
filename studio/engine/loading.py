"""Turning a model reference into a loaded pipeline.

MINIMAL FIRST VERSION: diffusers folders only. Hub ids, single-file checkpoints, pickle policy and family
detection from files are being added (see ``load_model``'s contract, which will not change).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engine.events import ModelInfo
from studio.engine.lazy import torch_modules
from studio.errors import ModelError


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


def load_model(reference: str, *, device: str = "cpu", dtype: Any = None, allow_pickle: bool = False) -> LoadedModel:
    """Load ``reference`` (hub id, diffusers folder, or single checkpoint file) onto ``device``.

    Raises ``ModelError`` with a message that says what is wrong and what to do.
    """
    mods = torch_modules()
    torch, diffusers = mods.torch, mods.diffusers
    dtype = dtype or torch.float32
    path = Path(reference)
    index = path / "model_index.json"
    if not index.is_file():
        raise ModelError(f"'{reference}' is not a diffusers model folder (no model_index.json).")
    class_name = json.loads(index.read_text(encoding="utf-8")).get("_class_name", "")
    family = "sdxl" if "XL" in class_name else "sd15"
    cls = diffusers.StableDiffusionXLPipeline if family == "sdxl" else diffusers.StableDiffusionPipeline
    pipe = cls.from_pretrained(str(path), torch_dtype=dtype, local_files_only=True)
    pipe.to(device)
    return LoadedModel(pipe=pipe, info=ModelInfo(name=path.name, family=family), reference=reference, device=device, dtype=dtype)
