"""TAESD: tiny preview decoders (diffusers ``AutoencoderTiny``) that turn each step's latents into a real picture.

One folder setting serves both families: either a TAESD folder itself (its ``config.json`` beside the weights)
or a folder holding one per family, as the download puts them (``taesd/madebyollin--taesd`` for SD 1.5 and
``taesd/madebyollin--taesdxl`` for SDXL). The latent spaces differ, so the wrong one would preview noise.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.models.model_family import base_family


@dataclass(frozen=True)
class TaesdModel:
    repo_id: str
    family: str  # the base family whose latents it decodes
    name: str
    download_bytes: int


RECOMMENDED_TAESD = (
    TaesdModel("madebyollin/taesd", "sd15", "TAESD previews for SD 1.5", 10_000_000),
    TaesdModel("madebyollin/taesdxl", "sdxl", "TAESD previews for SDXL", 10_000_000),
)


def is_taesd_repo(repo_id: str) -> bool:
    return any(model.repo_id == repo_id for model in RECOMMENDED_TAESD)


def is_taesd_folder(folder: Path) -> bool:
    """True when ``folder`` holds an ``AutoencoderTiny``: its config names the class, weights lie beside it."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    weights = any(folder.glob("diffusion_pytorch_model.*"))
    return isinstance(config, dict) and config.get("_class_name") == "AutoencoderTiny" and weights


def taesd_for(folder: str | Path, family: str) -> Path | None:
    """The TAESD folder for ``family`` in the setting's ``folder``, or None (the cheap linear previews)."""
    root = Path(folder)
    if is_taesd_folder(root):
        return root
    want_xl = base_family(family) == "sdxl"
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if is_taesd_folder(child) and child.name.lower().endswith("xl") == want_xl:
                return child
    return None


def taesd_problem(folder: str | Path) -> str | None:
    """A sentence when ``folder`` can give no TAESD previews at all, else None."""
    root = Path(folder)
    if not root.is_dir():
        return f"The TAESD folder '{folder}' does not exist or is not a folder."
    if taesd_for(root, "sd15") is None and taesd_for(root, "sdxl") is None:
        return (
            f"'{folder}' holds no TAESD preview decoder (an AutoencoderTiny folder with config.json). Download "
            "madebyollin/taesd or madebyollin/taesdxl with File ▸ Download model…, or give their folder."
        )
    return None


def taesd_root(models_folder: str | Path | None = None) -> Path:
    """Where downloaded TAESD decoders go: ``taesd/`` in the models folder (the folder the setting names)."""
    from studio.models.model_folders import model_folders

    return model_folders(models_folder).root / "taesd"


def default_taesd_folder(models_folder: str | Path | None = None) -> str | None:
    """The downloaded decoders' folder when it holds any: previews use them without a setting."""
    root = taesd_root(models_folder)
    return str(root) if root.is_dir() and taesd_problem(root) is None else None


def download_taesd(
    repo_id: str,
    *,
    folder: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download a TAESD repo (its config.json and one copy of its weights) into ``taesd_root(folder)``."""
    from studio.models.download import _download, controlnet_files

    # A TAESD repo is laid out as a ControlNet's: config.json and diffusion_pytorch_model.* at its root.
    return _download(repo_id, taesd_root(folder), controlnet_files, "config.json", on_progress, cancel)
