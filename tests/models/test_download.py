"""Hub downloads, tested offline: the file choice, progress, cancellation and the offline message."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import studio.models.download as download
from studio.errors import ModelError
from studio.models.download import DownloadCancelled, download_model, pipeline_files
from studio.models.model_ref import resolve_reference
from studio.paths import models_dir

TOKENIZER = ["merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]
# The file list of runwayml/stable-diffusion-v1-5 (abridged only by leaving out nothing that matters).
SD15_REPO = [
    ".gitattributes", "README.md", "model_index.json", "v1-5-pruned-emaonly.ckpt", "v1-5-pruned-emaonly.safetensors",
    "v1-5-pruned.ckpt", "v1-5-pruned.safetensors", "v1-inference.yaml",
    "feature_extractor/preprocessor_config.json",
    "safety_checker/config.json", "safety_checker/model.fp16.safetensors", "safety_checker/model.safetensors",
    "safety_checker/pytorch_model.bin", "safety_checker/pytorch_model.fp16.bin",
    "scheduler/scheduler_config.json",
    "text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors",
    "text_encoder/pytorch_model.bin", "text_encoder/pytorch_model.fp16.bin",
    *[f"tokenizer/{name}" for name in TOKENIZER],
    "unet/config.json", "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.fp16.bin",
    "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.non_ema.bin",
    "unet/diffusion_pytorch_model.non_ema.safetensors", "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json", "vae/diffusion_pytorch_model.bin", "vae/diffusion_pytorch_model.fp16.bin",
    "vae/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.safetensors",
]  # fmt: skip


def test_sd15_choice_is_one_fp16_safetensors_copy_per_component():
    chosen = pipeline_files(SD15_REPO)
    weights = [f for f in chosen if f.endswith((".safetensors", ".bin", ".ckpt"))]
    assert weights == [
        "text_encoder/model.fp16.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.fp16.safetensors",
    ]
    assert "model_index.json" in chosen and "scheduler/scheduler_config.json" in chosen
    assert all(f"tokenizer/{name}" in chosen for name in TOKENIZER)
    assert not any(f.startswith("safety_checker/") for f in chosen)


def test_sdxl_choice_skips_root_checkpoints_and_extra_folders():
    repo = [
        "model_index.json", "sd_xl_base_1.0.safetensors", "sd_xl_base_1.0_0.9vae.safetensors",
        "sd_xl_offset_example-lora_1.0.safetensors",
        "text_encoder_2/config.json", "text_encoder_2/model.safetensors", "text_encoder_2/model.fp16.safetensors",
        "text_encoder_2/openvino_model.bin", "text_encoder_2/openvino_model.xml",
        *[f"tokenizer_2/{name}" for name in TOKENIZER],
        "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "unet/diffusion_flax_model.msgpack",
        "unet/model.onnx", "unet/model.onnx_data",
        "vae_1_0/config.json", "vae_1_0/diffusion_pytorch_model.fp16.safetensors",
        "vae_decoder/config.json", "vae_decoder/model.onnx",
    ]  # fmt: skip
    chosen = pipeline_files(repo)
    assert [f for f in chosen if ".safetensors" in f or f.endswith(".bin")] == [
        "text_encoder_2/model.fp16.safetensors",
        "unet/diffusion_pytorch_model.safetensors",  # no fp16 variant here: the plain file
    ]
    assert not any(f.startswith(("vae_1_0/", "vae_decoder/")) for f in chosen)


def test_sharded_weights_keep_their_index():
    repo = [
        "model_index.json",
        "unet/diffusion_pytorch_model-00001-of-00002.fp16.safetensors",
        "unet/diffusion_pytorch_model-00002-of-00002.fp16.safetensors",
        "unet/diffusion_pytorch_model.safetensors.index.fp16.json",
        "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
        "unet/diffusion_pytorch_model.safetensors.index.json",
    ]
    assert [f for f in pipeline_files(repo) if f.startswith("unet/")] == sorted(repo[1:4])


def test_offline_download_says_what_to_do(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="offline .*HF_HUB_OFFLINE.*model file or folder"):
        download_model("org/model")


@pytest.fixture
def fake_hub(monkeypatch):
    """The hub calls replaced: a tiny repo whose files 'arrive' in 3 chunks each through the progress bar."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    repo = {name: 300 for name in SD15_REPO}
    fetched: list[str] = []

    def fetch(repo_id, filename, local_dir: Path, tqdm_class):
        target = local_dir / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        with tqdm_class(total=repo[filename], unit="B") as bar:
            for _ in range(3):
                bar.update(100)
        target.write_bytes(b"x" * repo[filename])
        fetched.append(filename)

    monkeypatch.setattr(download, "_list_repo_files", lambda repo_id: dict(repo))
    monkeypatch.setattr(download, "_fetch", fetch)
    return fetched


def test_download_reports_bytes_and_finishes_in_place(fake_hub):
    progress: list[tuple[int, int]] = []
    folder = download_model("org/model", on_progress=lambda done, total: progress.append((done, total)))
    expected = pipeline_files(SD15_REPO)
    assert folder == models_dir() / "org--model" and fake_hub[-1] == "model_index.json"
    assert sorted(fake_hub) == expected
    assert progress[-1] == (300 * len(expected), 300 * len(expected))
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)
    assert not (models_dir() / "org--model.partial").exists()
    assert resolve_reference("org/model").path == folder  # found again without the hub


def test_cancel_leaves_no_half_model(fake_hub):
    cancel = threading.Event()

    def on_progress(done: int, total: int) -> None:
        if done >= 1000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled; nothing was kept"):
        download_model("org/model", on_progress=on_progress, cancel=cancel)
    assert 0 < len(fake_hub) < len(pipeline_files(SD15_REPO))
    assert list(models_dir().glob("org--model*")) == []


def test_repo_without_pipeline_is_refused(fake_hub, monkeypatch):
    monkeypatch.setattr(
        download, "_list_repo_files", lambda repo_id: {"model.safetensors": 10, "README.md": 1}
    )
    with pytest.raises(ModelError, match="not a diffusers pipeline"):
        download_model("org/lora")


def test_load_model_downloads_a_hub_model_once(monkeypatch, tiny_models, tmp_path):
    """An uncached repo id while online: downloaded (only what the pipeline needs), then loaded; later offline."""
    from studio.engine.loading import load_model

    source = tiny_models / "sd15"
    repo = {p.relative_to(source).as_posix(): p.stat().st_size for p in source.rglob("*") if p.is_file()}
    fetched: list[str] = []

    def fetch(repo_id, filename, local_dir: Path, tqdm_class):
        (local_dir / filename).parent.mkdir(parents=True, exist_ok=True)
        (local_dir / filename).write_bytes((source / filename).read_bytes())
        tqdm_class(total=repo[filename]).update(repo[filename])
        fetched.append(filename)

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setattr(download, "_list_repo_files", lambda repo_id: dict(repo))
    monkeypatch.setattr(download, "_fetch", fetch)
    stages: list[str] = []
    loaded = load_model("org/tiny-download", on_progress=stages.append)
    assert (loaded.info.name, loaded.info.family) == ("org/tiny-download", "sd15")
    assert any(s.startswith("Downloading org/tiny-download") for s in stages)
    assert sorted(fetched) == pipeline_files(repo)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert load_model("org/tiny-download").info.name == "org/tiny-download"
    assert len(fetched) == len(pipeline_files(repo))  # nothing fetched again
