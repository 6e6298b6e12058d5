"""A download that cannot fit on the models folder's drive is refused before its first byte."""

from __future__ import annotations

import shutil
from collections import namedtuple

import pytest

from studio.errors import ModelError
from studio.models import download
from studio.models.model_ref import downloaded_folder

FILES = ("model_index.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json")
Usage = namedtuple("Usage", "total used free")


@pytest.fixture
def hub(monkeypatch):
    """A 4 GB repo on the fake hub; the fetches made are recorded."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    sizes = {
        "model_index.json": 500,
        "unet/diffusion_pytorch_model.safetensors": 4_000_000_000,
        "vae/config.json": 1,
    }
    fetched: list[str] = []
    monkeypatch.setattr(download, "_list_repo_files", lambda repo_id: dict(sizes))

    def fetch(repo_id, name, local_dir, bar):
        (local_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (local_dir / name).write_bytes(b"x")
        fetched.append(name)

    monkeypatch.setattr(download, "_fetch", fetch)
    return fetched


def _drive_with(monkeypatch, free: int) -> None:
    monkeypatch.setattr(download.shutil, "disk_usage", lambda path: Usage(10**13, 10**13 - free, free))


def test_a_download_larger_than_the_free_space_is_refused_before_any_byte(hub, monkeypatch):
    _drive_with(monkeypatch, 3_000_000_000)
    with pytest.raises(
        ModelError, match=r"Not enough free disk space .*needs 4\.0 GB.* 3\.0 GB free\. Free some"
    ):
        download.download_model("org/model")
    assert hub == []
    assert not downloaded_folder("org/model").with_name("org--model.partial").exists()


def test_the_margin_counts_too(hub, monkeypatch):
    _drive_with(monkeypatch, 4_000_000_501 + download.SPACE_MARGIN_BYTES - 1)
    with pytest.raises(ModelError, match="Not enough free disk space"):
        download.download_model("org/model")
    assert hub == []


def test_enough_space_downloads(hub, monkeypatch):
    _drive_with(monkeypatch, 4_000_000_501 + download.SPACE_MARGIN_BYTES)
    folder = download.download_model("org/model")
    assert folder == downloaded_folder("org/model") and sorted(hub) == sorted(FILES)


def test_free_space_looks_at_the_nearest_existing_folder(tmp_path):
    assert download.free_space(tmp_path / "not" / "yet") == shutil.disk_usage(tmp_path).free
