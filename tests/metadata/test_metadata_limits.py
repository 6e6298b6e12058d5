"""How much is read from an image and how much is written into one: capped, compressed, never silently cut."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from studio.errors import MetadataError
from studio.metadata import png_chunks
from studio.metadata.png_chunks import (
    MAX_TEXT_BYTES,
    MAX_TOTAL_TEXT_BYTES,
    POSE_KEY,
    STUDIO_KEY,
    read_text_chunks,
    read_text_chunks_from_bytes,
)
from studio.metadata.reader import read_image_settings, read_settings_text
from studio.metadata.saving import save_result
from studio.metadata.stealth import read_stealth_text
from studio.pose.pose_json import load_pose
from studio.pose.presets import presets_dir
from studio.request import ControlInput, GenerationRequest
from studio.results import GenerationResult, ModelInfo

A1111 = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 99, Size: 512x768, Model: foo"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(*chunks: bytes) -> bytes:
    """A 4×4 PNG with ``chunks`` before its IEND."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    data = buffer.getvalue()
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + b"".join(chunks) + data[iend:]


def _text(key: str, size: int) -> bytes:
    return _chunk(b"tEXt", key.encode() + b"\0" + b"a" * size)


# --- reading ----------------------------------------------------------------------------------------------


def test_a_50_mb_text_is_left_out_and_named(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(_png(_text("parameters", 50_000_000)))
    texts = read_text_chunks(path)
    assert "parameters" not in texts
    assert texts.left_out == [
        "the 'parameters' text (50.0 MB) is larger than the 8.0 MB the studio reads from one text"
    ]
    with pytest.raises(
        MetadataError, match=r"The settings in 'huge.png' could not be read: the 'parameters' text"
    ):
        read_image_settings(path)


def test_a_text_at_the_cap_is_read_whole():
    texts = read_text_chunks_from_bytes(_png(_chunk(b"tEXt", b"Comment\0" + b"b" * MAX_TEXT_BYTES)))
    assert len(texts["Comment"]) == MAX_TEXT_BYTES and texts.left_out == []


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_a_compressed_bomb_stops_inflating_at_the_cap(kind):
    bomb = zlib.compress(b"a" * 100_000_000, 9)  # 100 MB in about 100 KB
    body = b"parameters\0\0" + bomb if kind == b"zTXt" else b"parameters\0\x01\0\0\0" + bomb
    texts = read_text_chunks_from_bytes(_png(_chunk(kind, body)))
    assert "parameters" not in texts
    assert texts.left_out == [
        "the 'parameters' text is larger than the 8.0 MB the studio reads from one text"
    ]


def test_the_texts_of_one_image_are_capped_together():
    size = 7_000_000
    texts = read_text_chunks_from_bytes(_png(*(_text(f"t{i}", size) for i in range(6))))
    read = MAX_TOTAL_TEXT_BYTES // size  # 4 of 7 MB fit in 32 MB
    assert sorted(texts) == [f"t{i}" for i in range(read)]
    assert len(texts.left_out) == 6 - read
    assert texts.left_out[0] == (
        "the 't4' text (7.0 MB) was left out: the texts of this image together pass the 32.0 MB the studio reads "
        "from one image"
    )


def test_a_large_compressed_text_pil_refuses_is_still_read():
    """PIL will not open a PNG holding a compressed text over 1 MB; the reader hands PIL the image without its
    texts, so a 2 MB ComfyUI workflow no longer makes the whole file "not an image"."""
    workflow = json.dumps({"nodes": ["x" * 100] * 20_000})
    info = PngImagePlugin.PngInfo()
    info.add_itxt("workflow", workflow, zip=True)  # before the image data, where PIL reads it when opening
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG", pnginfo=info)
    data = buffer.getvalue()
    with pytest.raises(ValueError, match="MAX_TEXT_CHUNK"):
        Image.open(io.BytesIO(data))
    assert read_text_chunks_from_bytes(data)["workflow"] == workflow


def test_what_was_left_out_is_listed_beside_the_settings_that_were_read(tmp_path):
    path = tmp_path / "mixed.png"
    path.write_bytes(_png(_chunk(b"tEXt", b"parameters\0" + A1111.encode()), _text("workflow", 9_000_000)))
    settings = read_image_settings(path)
    assert settings.source == "a1111" and settings.request.seed == 99
    assert settings.unmapped[0] == (
        "the 'workflow' text (9.0 MB) is larger than the 8.0 MB the studio reads from one text"
    )


def test_hidden_pixel_text_over_the_cap_is_left_out_and_said():
    text = b"a cat\nSteps: 20, Seed: 5"
    data = b"stealth_pnginfo" + struct.pack(">I", len(text) * 8) + text
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    pixels = np.full((40, 40, 4), 200, dtype=np.uint8)
    alpha = pixels[..., 3].T.reshape(-1).copy()
    alpha[: bits.size] = (alpha[: bits.size] & 0xFE) | bits
    pixels[..., 3] = alpha.reshape(40, 40).T
    image = Image.fromarray(pixels, "RGBA")
    assert read_stealth_text(image) == {"parameters": text.decode()}
    left_out: list[str] = []
    assert read_stealth_text(image, max_bytes=10, left_out=left_out) == {}
    assert left_out == [
        "the text hidden in the pixels (0.0 MB) is larger than the 0.0 MB the studio reads from one text"
    ]


def test_pasted_text_over_the_cap_is_not_read_and_said():
    settings = read_settings_text("a fox, " * 2_000_000)
    assert settings.source == "none"
    assert settings.unmapped == [
        "the pasted text (14,000,000 characters) is larger than the studio reads as settings"
    ]


# --- writing: the pose travels compressed, and a pose too large stays out ----------------------------------


def _result(controls=(), **changes) -> GenerationResult:
    request = GenerationRequest(
        model="tiny", prompt="a dancer", seed=7, steps=2, width=64, height=64, controls=tuple(controls), **changes,
    )  # fmt: skip
    return GenerationResult(
        request=request,
        images=[Image.new("RGB", (64, 64), (20, 40, 60))],
        seeds=[7],
        prompt="a dancer",
        negative_prompt="",
        model=ModelInfo(name="tiny", family="sd15"),
    )


def _pose_control(path: Path) -> ControlInput:
    return ControlInput(type="openpose", image=str(path), source="pose")


def _chunk_headers(data: bytes) -> dict[bytes, tuple[bytes, int]]:
    """keyword -> (chunk type, compression flag of an iTXt), read independently of the code under test."""
    found, pos = {}, 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        key, _, rest = body.partition(b"\0")
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            found[key] = (kind, rest[0] if kind == b"iTXt" else -1)
        pos += 12 + length
    return found


def test_the_pose_and_the_request_are_embedded_compressed_and_read_back_by_everyone(tmp_path):
    pose_file = presets_dir() / "two_people_facing.json"
    result = _result([_pose_control(pose_file)])
    (path,) = save_result(result, tmp_path)
    data = path.read_bytes()
    headers = _chunk_headers(data)
    assert headers[POSE_KEY.encode()] == (b"iTXt", 1) and headers[STUDIO_KEY.encode()] == (b"iTXt", 1)
    assert headers[b"parameters"][0] == b"tEXt"  # A1111's text stays plain, as A1111 writes it
    assert load_pose(read_text_chunks(path)[POSE_KEY]) == load_pose(pose_file)
    assert load_pose(Image.open(path).info[POSE_KEY]) == load_pose(pose_file)  # PIL-based tools read it too
    assert read_image_settings(path).request == result.request
    assert result.notices == []


def test_a_pose_of_10000_people_is_left_out_with_a_notice_and_the_picture_saved(tmp_path):
    """It used to make a 64×64 PNG of 13.8 MB."""
    person = {"pose_keypoints_2d": [float(v) for i in range(18) for v in (i + 0.5, 2 * i + 0.25, 1)]}
    pose_file = tmp_path / "crowd.json"
    pose_file.write_text(json.dumps({"people": [person] * 10_000, "canvas_width": 64, "canvas_height": 64}))
    assert pose_file.stat().st_size > 3_000_000
    result = _result([_pose_control(pose_file)])
    (path,) = save_result(result, tmp_path / "out")
    assert path.stat().st_size < 100_000
    assert POSE_KEY not in read_text_chunks(path)
    assert read_image_settings(path).request == result.request
    (notice,) = result.notices
    assert notice.startswith("The pose") and "PNG" in notice


def test_a_pose_over_the_embedding_cap_is_left_out_with_the_reason(tmp_path, monkeypatch):
    """The cap is lowered so that a pose of 20 people with faces and hands passes it and the request does not."""
    monkeypatch.setattr(png_chunks, "MAX_EMBEDDED_BYTES", 10_000)

    def points(count: int) -> list[float]:
        return [float(v) for i in range(count) for v in (i + 0.5, i + 0.75, 1)]

    person = {
        "pose_keypoints_2d": points(18),
        "face_keypoints_2d": points(70),
        "hand_left_keypoints_2d": points(21),
        "hand_right_keypoints_2d": points(21),
    }
    pose_file = tmp_path / "group.json"
    pose_file.write_text(json.dumps({"people": [person] * 20, "canvas_width": 64, "canvas_height": 64}))
    result = _result([_pose_control(pose_file)])
    paths = save_result(result, tmp_path) + save_result(result, tmp_path)
    assert all(POSE_KEY not in read_text_chunks(path) for path in paths)
    assert len(result.notices) == 1  # one notice per cause, however many images
    assert result.notices[0].startswith("The pose (20 people) is too large to embed in the PNG")
    assert "so it was left out; the picture and its settings were saved" in result.notices[0]
    assert read_image_settings(paths[0]).request == result.request


def test_settings_kept_from_another_tool_go_first_when_the_request_is_too_large(tmp_path):
    result = _result(extras={"workflow": "x" * 2_000_000})
    (path,) = save_result(result, tmp_path)
    restored = read_image_settings(path).request
    assert restored == result.request.with_changes(extras={})
    assert result.notices == [
        "The settings kept from another tool were too large to embed in the PNG and were left out of it."
    ]
