"""Pickle checkpoints (.ckpt/.pt/.bin/.pth): refused unless the artist allows them, then read safely.

A pickle file can run any code the moment it is opened with a plain ``torch.load``. The studio refuses them by
default; with the "allow pickle checkpoints" setting it reads them only with ``torch.load(weights_only=True)``,
which rebuilds tensors and plain containers and refuses everything else (so a booby-trapped file fails with a
``ModelError`` instead of running its payload).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from studio.engine.lazy import torch_modules
from studio.errors import ModelError

SETTING_NAME = "Allow pickle checkpoints (.ckpt)"


def refusal_message(path: Path) -> str:
    return (
        f"'{path.name}' is a pickle checkpoint ({path.suffix}). Pickle files can run code on your computer when "
        "they are opened, so the studio does not open them by default. Prefer a .safetensors version of this "
        "model (most model pages offer one), or convert it with a conversion tool. If you trust where it came "
        f"from, turn on '{SETTING_NAME}' in Settings: the studio then reads only its weights, never its code."
    )


def check_pickle_allowed(path: Path, allow_pickle: bool) -> None:
    """Raise ``ModelError`` explaining the risk unless pickles are allowed."""
    if not allow_pickle:
        raise ModelError(refusal_message(path))


def load_pickle_state_dict(path: Path) -> dict[str, Any]:
    """Read a pickle checkpoint's tensors with ``weights_only=True``; unwrap a ``state_dict`` entry.

    Raises ``ModelError`` when the file holds anything but weights (code, custom classes) or is damaged.
    """
    torch = torch_modules().torch
    try:
        try:
            # mmap avoids reading a multi-GB zip-format checkpoint into memory just to check it.
            state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            state = torch.load(str(path), map_location="cpu", weights_only=True)  # legacy (non-zip) format
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc).lower():  # torch names the class or function the file asks for
            raise _damaged(path, exc) from exc
        raise ModelError(
            f"'{path.name}' contains more than model weights (it asks to run code or build objects while "
            "loading), so the studio refused to open it. Get a .safetensors version of this model instead."
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise _damaged(path, exc) from exc
    while isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        raise ModelError(
            f"'{path.name}' holds no model weights. Check that it is a Stable Diffusion checkpoint."
        )
    return state


def _damaged(path: Path, exc: Exception) -> ModelError:
    return ModelError(
        f"'{path.name}' could not be read as a checkpoint ({exc.__class__.__name__}: {str(exc)[:200]}). "
        "The file may be damaged or incomplete; download it again."
    )
