"""Where the studio keeps its files. Qt-free, so the CLI and the engine agree with the window.

``DIFFUSION_STUDIO_HOME`` overrides the data folder (the tests point it into a temporary folder so they never
touch a real profile).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "DiffusionStudio"
HOME_ENV = "DIFFUSION_STUDIO_HOME"


def data_dir() -> Path:
    """The per-user data folder: settings, session, log, models and outputs by default."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_NAME


def models_dir() -> Path:
    return data_dir() / "models"


def outputs_dir() -> Path:
    return data_dir() / "outputs"


def log_file() -> Path:
    return data_dir() / "studio.log"


def resources_dir() -> Path:
    """The ``resources/`` folder: beside the package in a checkout, inside the bundle when frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
