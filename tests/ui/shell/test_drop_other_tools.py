"""Dropping or pasting other tools' JPEG/WebP files on the window restores their settings (and says what not)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtWidgets import QApplication
from window_fixture import studio_on_fake_engine

GRAPH = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny"}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a paper crane", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "torn", "clip": ["4", 1]}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 576, "height": 448, "batch_size": 1}},
    "3": {"class_type": "KSampler", "inputs": {
        "seed": 9090, "steps": 17, "cfg": 4.5, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
        "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0]}},
}  # fmt: skip


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def comfy_image(path):
    """ComfyUI's WebP/JPEG layout: the API graph in EXIF Model as ``prompt:{...}``, the workflow in Make."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(GRAPH)
    exif[0x010F] = "workflow:" + json.dumps({"nodes": []})
    Image.new("RGB", (16, 16), "white").save(path, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_dropped_comfyui_jpeg_or_webp_restores_its_settings(studio, tmp_path, suffix):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(comfy_image(tmp_path / f"comfy{suffix}")))])
    assert studio.window.apply_mime(mime)
    request = studio.state.request
    assert (request.prompt, request.negative_prompt, request.seed, request.steps) == (
        "a paper crane",
        "torn",
        9090,
        17,
    )
    assert (request.width, request.height, request.cfg_scale, request.sampler) == (576, 448, 4.5, "Euler")
    assert request.model == "/models/tiny"  # matched to the installed model


def test_pasted_webp_bytes_restore_its_settings(studio, tmp_path):
    mime = QMimeData()
    mime.setData("image/webp", comfy_image(tmp_path / "copied.webp").read_bytes())
    QApplication.clipboard().setMimeData(mime)
    studio.window.paste_settings()
    assert studio.state.request.prompt == "a paper crane" and studio.state.request.seed == 9090
