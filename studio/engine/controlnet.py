"""Loading ControlNets (diffusers' ``ControlNetModel``) and keeping the few in use; finding them and telling their
family is ``studio.models.controlnets``'s, which reads files only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.errors import ModelError
from studio.models.controlnets import ControlNetRef, reference_config, sidecar_config


def load_controlnet(ref: ControlNetRef, *, device: str, dtype: Any) -> Any:
    """Load the ControlNet weights (a diffusers ``ControlNetModel``) onto ``device``. Raises ``ModelError``."""
    from studio.engine.lazy import torch_modules

    diffusers = torch_modules().diffusers
    cls = diffusers.ControlNetModel
    try:
        if ref.path.is_dir():
            model = cls.from_pretrained(
                str(ref.path), torch_dtype=dtype, local_files_only=True, variant=_weights_variant(ref.path)
            )
        else:
            config = sidecar_config(ref.path) or reference_config(ref.family)
            model = cls.from_single_file(
                str(ref.path), config=str(config), torch_dtype=dtype, local_files_only=True
            )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise ModelError(
            f"The ControlNet '{ref.name}' could not be loaded ({exc.__class__.__name__}: {str(exc)[:300]}). "
            "A file may be missing or damaged; download it again."
        ) from exc
    return model.to(device).eval()


def _weights_variant(folder: Path) -> str | None:
    """ "fp16" when the folder holds only fp16 weights (as ``download_controlnet`` fetches them)."""
    plain = any(folder.glob("diffusion_pytorch_model.safetensors")) or any(
        folder.glob("diffusion_pytorch_model.bin")
    )
    return "fp16" if not plain and any(folder.glob("diffusion_pytorch_model.fp16.*")) else None


class ControlNetCache:
    """Keeps loaded ControlNets by reference, for the one base model the engine holds.

    ControlNets are small beside the base model (SD1.5: 1.4 GB fp32), so up to ``limit`` stay loaded; the
    oldest is dropped first. The engine clears the cache when it changes the base model.
    """

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self._models: dict[str, Any] = {}

    def get(self, ref: ControlNetRef, *, device: str, dtype: Any) -> Any:
        model = self._models.pop(ref.reference, None)
        if model is None:
            model = load_controlnet(ref, device=device, dtype=dtype)
        self._models[ref.reference] = model  # most recently used last
        while len(self._models) > self.limit:
            self._models.pop(next(iter(self._models)))
        return model

    def clear(self) -> None:
        self._models.clear()

    def __len__(self) -> int:
        return len(self._models)
