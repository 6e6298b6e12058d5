"""Pickle checkpoints: refused by default, read only as weights when allowed, never allowed to run code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from studio.engine.loading import load_model
from studio.errors import ModelError


class _Payload:
    """Unpickling this creates ``marker``: what a booby-trapped checkpoint would do (with worse code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def booby_trapped_ckpt(tmp_path) -> tuple[Path, Path]:
    import torch

    marker = tmp_path / "payload-ran.txt"
    path = tmp_path / "free_model.ckpt"
    torch.save({"state_dict": {"weight": torch.zeros(2)}, "extra": _Payload(marker)}, str(path))
    assert not marker.exists()
    return path, marker


def test_pickle_is_refused_by_default_with_an_explanation(booby_trapped_ckpt):
    path, marker = booby_trapped_ckpt
    with pytest.raises(ModelError) as info:
        load_model(str(path))
    message = str(info.value)
    assert "can run code" in message and ".safetensors" in message and "conversion tool" in message
    assert "Settings" in message
    assert not marker.exists()


def test_allowed_pickle_still_never_runs_code(booby_trapped_ckpt):
    path, marker = booby_trapped_ckpt
    with pytest.raises(ModelError, match="more than model weights"):
        load_model(str(path), allow_pickle=True)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin", ".pth"])
def test_every_pickle_suffix_is_covered(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"not even a pickle")
    with pytest.raises(ModelError, match="pickle checkpoint"):
        load_model(str(path))
    with pytest.raises(ModelError, match="could not be read as a checkpoint"):
        load_model(str(path), allow_pickle=True)


def test_allowed_plain_ckpt_loads_like_the_safetensors(tmp_path, tiny_single_file):
    """A weights-only .ckpt of the tiny model (A1111 layout, under "state_dict") loads when allowed."""
    import torch
    from safetensors.torch import load_file

    ckpt = tmp_path / "sd15.ckpt"
    torch.save({"state_dict": load_file(str(tiny_single_file)), "global_step": 470000}, str(ckpt))
    shutil.copytree(tiny_single_file.with_name("sd15.config"), tmp_path / "sd15.config")
    loaded = load_model(str(ckpt), allow_pickle=True)
    assert (loaded.info.name, loaded.info.family) == ("sd15", "sd15")
    reference = load_model(str(tiny_single_file)).pipe.unet.state_dict()
    for key, value in loaded.pipe.unet.state_dict().items():
        assert torch.equal(value, reference[key]), key
