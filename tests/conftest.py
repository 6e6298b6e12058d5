"""Fixtures shared by every test tier."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Nothing in the tests may reach the network: a model that is not local must fail fast and clearly.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

INTEROP_DIR = Path(__file__).resolve().parents[2] / "shared" / "interop"


@pytest.fixture(autouse=True)
def studio_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data folder, never the real profile."""
    home = tmp_path / "studio-home"
    monkeypatch.setenv("DIFFUSION_STUDIO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    """The tiny random-weight models (``DIR/sd15``, ``DIR/sdxl``), built once per test run."""
    from studio.engine.tiny_models import write_tiny_sd15, write_tiny_sdxl

    folder = tmp_path_factory.mktemp("tiny-models")
    write_tiny_sd15(folder / "sd15")
    write_tiny_sdxl(folder / "sdxl")
    return folder


@pytest.fixture
def interop_dir() -> Path:
    """Real files written by other tools; not ours to ship, so tests using them skip where absent."""
    if not INTEROP_DIR.is_dir():
        pytest.skip("shared/interop is not present beside this checkout")
    return INTEROP_DIR


@pytest.fixture(scope="session")
def tiny_single_file(tmp_path_factory) -> Path:
    """The tiny SD1.x model as an A1111-style ``sd15.safetensors`` (with its ``sd15.config/`` sidecar)."""
    from studio.engine.tiny_models import write_tiny_sd15_single_file

    return write_tiny_sd15_single_file(tmp_path_factory.mktemp("tiny-single") / "sd15.safetensors")


@pytest.fixture(scope="session")
def tiny_controlnets(tmp_path_factory) -> Path:
    """Tiny ControlNets for the tiny models (``DIR/controlnet-sd15``, ``DIR/controlnet-sdxl``) and a tiny
    9-channel inpainting model (``DIR/sd15-inpaint``)."""
    from studio.engine.tiny_addons import write_tiny_controlnet, write_tiny_sd15_inpaint

    folder = tmp_path_factory.mktemp("tiny-controlnets")
    for family in ("sd15", "sdxl"):
        write_tiny_controlnet(folder / f"controlnet-{family}", family)
    write_tiny_sd15_inpaint(folder / "sd15-inpaint")
    return folder
