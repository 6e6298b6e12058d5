"""What a server answers is checked before use: names, pictures, preview frames, addresses."""

from __future__ import annotations

import json
import struct

import pytest
from fake_comfy import png

from studio.backend.comfyui.answers import file_name, name_list, picture
from studio.backend.comfyui.backend import server_label
from studio.backend.comfyui.errors import ServerError
from studio.backend.comfyui.http_client import check_url, display_address
from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.comfyui.ws_client import preview_bytes, socket_url


@pytest.mark.parametrize("name", ["model.safetensors", "sub/dir/model.safetensors", "ünïcode name.png"])
def test_ordinary_names_pass(name):
    assert file_name(name, "a model") == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../x.png",
        "a/../../x",
        "/etc/passwd",
        "C:\\x.png",
        "\\\\host\\share",
        "a\x00b",
        "x" * 300,
        5,
        None,
    ],
)
def test_unsafe_or_odd_names_are_refused(name):
    with pytest.raises(ServerError):
        file_name(name, "an image")


def test_a_list_keeps_only_usable_names():
    assert name_list(["a.safetensors", "../b", 7, "c/d.ckpt"], "the models") == ["a.safetensors", "c/d.ckpt"]
    with pytest.raises(ServerError, match="no JSON list"):
        name_list({"a": 1}, "the models")


def test_pictures_are_checked_before_and_after_decoding():
    assert picture(png(16, 8), "the image").size == (16, 8)
    with pytest.raises(ServerError, match="more than any image"):
        picture(png(16, 8), "the image", max_bytes=10)
    with pytest.raises(ServerError, match="not a readable picture"):
        picture(b"GIF89a nonsense", "the image")


def test_preview_frames_of_both_kinds_give_their_picture():
    jpeg = png(8, 8, format="JPEG")
    assert preview_bytes(struct.pack(">II", 1, 1) + jpeg) == jpeg
    metadata = json.dumps({"node_id": "3"}).encode()
    assert preview_bytes(struct.pack(">II", 4, len(metadata)) + metadata + jpeg) == jpeg
    assert preview_bytes(struct.pack(">II", 4, 10_000) + b"short") is None  # a length past the end
    assert preview_bytes(struct.pack(">II", 3, 0) + b"text") is None  # not a preview
    assert preview_bytes(b"\x00") is None


def test_addresses_never_show_a_password_or_token():
    server = ServerConfig("desk", "https://artist:hunter2@gpu.example.org:8443", token="tok")
    assert display_address(server.url) == "https://gpu.example.org:8443"
    assert server_label(server) == "ComfyUI desk (gpu.example.org:8443)"
    assert socket_url(server, "abc").startswith("wss://artist:hunter2@gpu.example.org:8443/ws?clientId=abc")
    assert check_url(" http://10.0.0.2:8188/ ") == "http://10.0.0.2:8188"
    with pytest.raises(ServerError, match="not a server address"):
        check_url("10.0.0.2:8188")
