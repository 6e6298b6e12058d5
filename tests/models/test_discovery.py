"""Finding models: the studio's folder, A1111 / ComfyUI roots, the Hugging Face cache; hashes on demand."""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path

import pytest

import studio.models.hashing as hashing
from studio.models.discovery import discover_models, model_roots
from studio.models.hashing import cache_file, model_hash10
from studio.paths import models_dir


def _copy_single(tiny_single_file: Path, folder: Path, stem: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}.safetensors"
    shutil.copy(tiny_single_file, target)
    shutil.copytree(tiny_single_file.with_name("sd15.config"), folder / f"{stem}.config")
    return target


def _fake_hub_repo(cache: Path, repo_id: str, source: Path) -> Path:
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / "0123abcd"
    shutil.copytree(source, snapshot)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    return snapshot


@pytest.fixture
def library(tmp_path, tiny_models, tiny_single_file) -> dict[str, Path]:
    """A studio models folder, an A1111 root, a ComfyUI root and a bare folder, with some bad files."""
    shutil.copytree(tiny_models / "sdxl", models_dir() / "my-xl")
    _copy_single(tiny_single_file, models_dir(), "studio_single")
    (models_dir() / "broken.safetensors").write_bytes(b"\x10\x00")
    (models_dir() / "old.ckpt").write_bytes(pickle.dumps({"state_dict": {}}))  # never unpickled by a listing
    (models_dir() / "junk.ckpt").write_bytes(b"not a checkpoint")
    (models_dir() / "readme.txt").write_text("not a model")
    (models_dir() / "empty-folder").mkdir()
    webui = tmp_path / "stable-diffusion-webui"
    _copy_single(tiny_single_file, webui / "models" / "Stable-diffusion" / "portraits", "a1111_model")
    comfy = tmp_path / "ComfyUI"
    _copy_single(tiny_single_file, comfy / "models" / "checkpoints", "comfy_model")
    leaf = tmp_path / "loose-checkpoints"
    _copy_single(tiny_single_file, leaf, "leaf_model")
    hub = tmp_path / "hf-cache"
    _fake_hub_repo(hub, "org/tiny-sd15", tiny_models / "sd15")
    text_only = hub / "models--org--bert" / "snapshots" / "ff" / "config.json"
    text_only.parent.mkdir(parents=True)
    text_only.write_text("{}")
    return {"webui": webui, "comfy": comfy, "leaf": leaf, "hub": hub}


def test_tool_roots_are_expanded_to_their_checkpoint_folders(library):
    roots = model_roots([library["webui"], library["comfy"], library["leaf"]])
    assert roots == [
        models_dir(),
        library["webui"] / "models" / "Stable-diffusion",
        library["comfy"] / "models" / "checkpoints",
        library["leaf"],
    ]


def test_discovery_finds_every_kind_and_records_problems(library):
    extra = [library["webui"], library["comfy"], library["leaf"]]
    entries = {e.name: e for e in discover_models(extra, hub_cache_dir=library["hub"])}
    usable = {name: (e.kind, e.family) for name, e in entries.items() if e.usable}
    assert usable == {
        "my-xl": ("folder", "sdxl"),
        "studio_single": ("single_file", "sd15"),
        "a1111_model": ("single_file", "sd15"),
        "comfy_model": ("single_file", "sd15"),
        "leaf_model": ("single_file", "sd15"),
        "org/tiny-sd15": ("hub_cache", "sd15"),
    }
    assert "truncated" in entries["broken"].problem and entries["broken"].family is None
    assert "pickle" in entries["old"].problem
    assert "not a PyTorch checkpoint" in entries["junk"].problem
    assert "readme" not in entries and "empty-folder" not in entries and "org/bert" not in entries
    single = entries["studio_single"]
    assert single.size_bytes == Path(single.reference).stat().st_size
    assert entries["org/tiny-sd15"].reference == "org/tiny-sd15" and entries["org/tiny-sd15"].size_bytes > 0


def test_unreadable_file_does_not_stop_the_scan(library, monkeypatch):
    import studio.models.discovery as discovery

    real = discovery.read_safetensors_header

    def flaky(path: Path) -> dict:
        if path.stem == "studio_single":
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(discovery, "read_safetensors_header", flaky)
    names = {e.name for e in discover_models([library["leaf"]], hub_cache_dir=library["hub"])}
    assert "leaf_model" in names and "my-xl" in names and "studio_single" not in names


def test_hashes_are_computed_only_when_asked_and_then_cached(library, monkeypatch):
    calls: list[Path] = []
    real = hashing.sha256_file
    monkeypatch.setattr(hashing, "sha256_file", lambda path: calls.append(path) or real(path))
    entries = {e.name: e for e in discover_models([library["leaf"]], hub_cache_dir=library["hub"])}
    assert calls == [] and all(e.hash10 is None for e in entries.values())
    leaf = entries["leaf_model"]
    expected = hashlib.sha256(Path(leaf.reference).read_bytes()).hexdigest()[:10]
    assert leaf.hash() == expected and leaf.hash() == expected and len(calls) == 1
    assert leaf.hash10 == expected
    assert model_hash10(Path(leaf.reference)) == expected and len(calls) == 1  # from the JSON cache on disk
    assert cache_file().is_file()
    unet_file = Path(entries["my-xl"].reference) / "unet" / "diffusion_pytorch_model.safetensors"
    assert entries["my-xl"].hash() == hashlib.sha256(unet_file.read_bytes()).hexdigest()[:10]
    assert entries["org/tiny-sd15"].hash() is not None


def test_a_changed_file_is_hashed_again(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"first version")
    first = model_hash10(path)
    path.write_bytes(b"second version, longer")
    assert model_hash10(path) == hashlib.sha256(b"second version, longer").hexdigest()[:10] != first


def test_only_what_could_be_a_checkpoint_is_listed_each_unusable_one_with_its_reason(
    tmp_path, tiny_controlnets
):
    """A folder of junk: LoRAs, ControlNets and data files are not models; damaged checkpoints say why."""
    from studio.engine.tiny_addons import write_tiny_lora

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "random.bin").write_bytes(bytes(range(256)) * 4)
    (junk / "notes.pt").write_bytes(b"hello")
    write_tiny_lora(junk / "style-lora.safetensors", "sd15")
    shutil.copy(
        tiny_controlnets / "controlnet-sd15" / "diffusion_pytorch_model.safetensors", junk / "cn.safetensors"
    )
    (junk / "corrupt.safetensors").write_bytes(b"\xff" * 64)
    (junk / "old.ckpt").write_bytes(b"\x00" * 64)
    entries = {e.name: e for e in discover_models([junk], hub_cache_dir=tmp_path / "no-cache")}
    assert set(entries) == {"corrupt", "old"}
    assert "not a valid .safetensors file" in entries["corrupt"].problem
    assert "not a PyTorch checkpoint" in entries["old"].problem


def test_a_folder_inside_another_root_is_listed_once(tiny_models):
    """The demo set lives in the models folder and is also added as a model folder of its own."""
    shutil.copytree(tiny_models / "sd15", models_dir() / "demo" / "sd15")
    entries = discover_models([models_dir() / "demo"], hub_cache_dir=models_dir() / "no-cache")
    assert [e.name for e in entries] == ["sd15"]
