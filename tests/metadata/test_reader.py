"""Reading settings from images and pasted text: every container and dialect, and never a crash."""

from __future__ import annotations

import gzip
import io
import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.errors import MetadataError
from studio.metadata.png_chunks import decode_user_comment, encode_png, read_text_chunks
from studio.metadata.reader import read_image_settings, read_settings_text, settings_from_chunks
from studio.request import SCHEMA_VERSION, GenerationRequest, HiresSettings

A1111 = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 99, Size: 512x768, Model: foo"


def _chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _chunk_types(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, keyword) of each chunk, read independently of the code under test."""
    found, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        found.append((kind, data[pos + 8 : pos + 8 + length].split(b"\0", 1)[0]))
        pos += 12 + length
    return found


def _png_with_chunk_after_idat(chunk: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    data = buffer.getvalue()
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + chunk + data[iend:]


def _valid_png_prefix() -> bytes:
    """A real PNG cut just before its IEND, so random bytes after it look like more chunks."""
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (5, 6, 7, 255)).save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: data.rindex(b"IEND") - 4]


def _stealth_image(payload: bytes, signature: str, *, rgb: bool = False, size=(32, 48)) -> Image.Image:
    """Hide ``payload`` the way the stealth-pnginfo extension does: column by column, in the lowest bits."""
    data = signature.encode() + struct.pack(">I", len(payload) * 8) + payload
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    width, height = size
    pixels = np.full((height, width, 4), 200, dtype=np.uint8)
    if rgb:
        flat = pixels[..., :3].transpose(1, 0, 2).reshape(-1).copy()
        flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
        pixels[..., :3] = flat.reshape(width, height, 3).transpose(1, 0, 2)
        return Image.fromarray(pixels[..., :3], "RGB")
    flat = pixels[..., 3].T.reshape(-1).copy()
    flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
    pixels[..., 3] = flat.reshape(width, height).T
    return Image.fromarray(pixels, "RGBA")


# --- containers -----------------------------------------------------------------------------------------


def test_parameters_is_text_when_latin1_and_itxt_otherwise_and_ours_is_itxt():
    latin = _chunk_types(encode_png(Image.new("RGB", (4, 4)), "café", "{}"))
    assert (b"tEXt", b"parameters") in latin and (b"iTXt", b"diffusion_studio") in latin
    wide = _chunk_types(encode_png(Image.new("RGB", (4, 4)), "猫"))
    assert (b"iTXt", b"parameters") in wide


def test_unicode_parameters_round_trip(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(encode_png(Image.new("RGB", (4, 4)), "猫 and café\nSteps: 1, Sampler: Euler, Seed: 2"))
    assert read_text_chunks(path)["parameters"].startswith("猫 and café")


def test_ztxt_after_idat_is_read(tmp_path):
    body = b"parameters\0\0" + zlib.compress(A1111.encode("latin-1"))
    path = tmp_path / "late.png"
    path.write_bytes(_png_with_chunk_after_idat(_chunk(b"zTXt", body)))
    settings = read_image_settings(path)
    assert settings.source == "a1111" and settings.request.seed == 99 and settings.request.height == 768


def test_compressed_itxt_and_bad_crc_and_broken_chunks_do_not_lose_the_rest(tmp_path):
    itxt = b"parameters\0\x01\0en\0\0" + zlib.compress(A1111.encode())
    broken = _chunk(b"zTXt", b"Comment\0\0not zlib") + _chunk(b"tEXt", b"no-separator")
    path = tmp_path / "x.png"
    path.write_bytes(_png_with_chunk_after_idat(broken + _chunk(b"iTXt", itxt, crc=0)))
    assert read_text_chunks(path)["parameters"] == A1111


def test_text_chunk_zip_bomb_is_cut_off(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(
        _png_with_chunk_after_idat(_chunk(b"zTXt", b"parameters\0\0" + zlib.compress(b"a" * 40_000_000)))
    )
    assert "parameters" not in read_text_chunks(path)


def test_text_of_an_image_too_large_to_decode_is_still_read(tmp_path):
    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)  # 400 megapixels: over PIL's bomb limit
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"tEXt", b"parameters\0" + A1111.encode())
    path = tmp_path / "huge.png"
    path.write_bytes(data + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b""))
    assert read_image_settings(path).request.seed == 99


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le"])
def test_user_comment_either_byte_order(encoding):
    text = "a cat, 猫\nSteps: 20"
    assert (
        decode_user_comment(b"UNICODE\0" + text.encode(encoding), big_endian=encoding.endswith("be")) == text
    )
    # Even when the file's byte order says otherwise, mostly-ASCII text gives the order away.
    assert (
        decode_user_comment(b"UNICODE\0" + text.encode(encoding), big_endian=encoding.endswith("le")) == text
    )


def test_user_comment_ascii_and_unmarked():
    assert decode_user_comment(b"ASCII\0\0\0hello") == "hello"
    assert decode_user_comment(b"\0" * 8 + "café".encode()) == "café"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_exif_user_comment_in_jpeg_and_webp(tmp_path, fmt):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + A1111.encode("utf-16-le")
    path = tmp_path / f"x.{fmt.lower()}"
    Image.new("RGB", (8, 8)).save(path, format=fmt, exif=exif.tobytes())
    settings = read_image_settings(path)
    assert settings.source == "a1111"
    assert (settings.request.prompt, settings.request.negative_prompt, settings.request.seed) == (
        "a cat",
        "dog",
        99,
    )


@pytest.mark.parametrize(
    ("signature", "rgb", "compress"),
    [("stealth_pngcomp", False, True), ("stealth_pnginfo", False, False), ("stealth_rgbinfo", True, False)],
)
def test_stealth_alpha_and_rgb(tmp_path, signature, rgb, compress):
    payload = gzip.compress(A1111.encode()) if compress else A1111.encode()
    path = tmp_path / "stealth.png"
    _stealth_image(payload, signature, rgb=rgb).save(path)
    settings = read_image_settings(path)
    assert settings.raw["parameters"] == A1111
    assert settings.request.seed == 99


def test_stealth_novelai_json_payload_gives_its_chunks(tmp_path):
    comment = {"steps": 28, "scale": 5.0, "seed": 7, "uc": "bad", "sampler": "k_euler", "prompt": "fox"}
    payload = gzip.compress(json.dumps({"Software": "NovelAI", "Comment": json.dumps(comment)}).encode())
    path = tmp_path / "nai.png"
    _stealth_image(payload, "stealth_pngcomp", size=(64, 64)).save(path)
    settings = read_image_settings(path)
    assert settings.source == "novelai"
    assert (settings.request.prompt, settings.request.sampler, settings.request.seed) == ("fox", "Euler", 7)


def test_image_without_metadata_gives_source_none(tmp_path):
    path = tmp_path / "plain.png"
    Image.new("RGBA", (16, 16), (1, 2, 3, 255)).save(path)
    settings = read_image_settings(path)
    assert settings.source == "none" and settings.request == GenerationRequest()


def test_not_an_image_or_missing_file_raises_metadata_error(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(MetadataError, match="not an image"):
        read_image_settings(path)
    with pytest.raises(MetadataError, match="Could not read"):
        read_image_settings(tmp_path / "missing.png")


# --- dialects -------------------------------------------------------------------------------------------


def test_our_chunk_wins_over_parameters():
    ours = GenerationRequest(prompt="exact", seed=5, style="oil", hires=HiresSettings(scale=2.0))
    settings = settings_from_chunks({"diffusion_studio": ours.to_json(), "parameters": A1111})
    assert settings.source == "diffusion-studio" and settings.request == ours


def test_newer_own_chunk_falls_back_to_parameters_with_a_note():
    newer = json.dumps({"version": SCHEMA_VERSION + 1, "prompt": "future"})
    settings = settings_from_chunks({"diffusion_studio": newer, "parameters": A1111})
    assert settings.source == "a1111" and settings.request.prompt == "a cat"
    assert any("newer Diffusion Studio" in note for note in settings.unmapped)


def test_sdnext_is_recognised():
    text = A1111 + ", App: SD.Next, Version: 4b3c1f8"
    assert read_settings_text(text).source == "sdnext"


def test_fooocus_text_scheme_uses_infotext():
    settings = settings_from_chunks({"parameters": A1111, "fooocus_scheme": "a1111"})
    assert settings.source == "fooocus" and settings.request.steps == 20


def _graph(**overrides) -> dict:
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl/base.safetensors"}},
        "2": {"class_type": "LoraLoader", "inputs": {"lora_name": "ink.safetensors", "strength_model": 0.7,
                                                     "model": ["1", 0], "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncodeSDXL", "inputs": {"text_g": "a fox", "text_l": "a fox", "clip": ["2", 1]}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["2", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 832, "height": 1216, "batch_size": 2}},
        "6": {"class_type": "KSampler", "inputs": {"seed": 11, "steps": 30, "cfg": 6.0, "sampler_name": "euler_ancestral",
                                                   "scheduler": "normal", "denoise": 1.0, "model": ["2", 0],
                                                   "positive": ["3", 0], "negative": ["4", 0], "latent_image": ["5", 0]}},
        "7": {"class_type": "LatentUpscaleBy", "inputs": {"upscale_method": "bicubic", "scale_by": 1.5, "samples": ["6", 0]}},
        "8": {"class_type": "KSampler", "inputs": {"seed": 11, "steps": 12, "cfg": 6.0, "sampler_name": "euler_ancestral",
                                                   "scheduler": "normal", "denoise": 0.45, "model": ["2", 0],
                                                   "positive": ["3", 0], "negative": ["4", 0], "latent_image": ["7", 0]}},
        "9": {"class_type": "VAEDecode", "inputs": {"samples": ["8", 0], "vae": ["1", 2]}},
        "10": {"class_type": "SaveImage", "inputs": {"images": ["9", 0], "filename_prefix": "x"}},
    }  # fmt: skip
    graph.update(overrides)
    return graph


def test_comfyui_graph_with_lora_and_latent_hires_pass():
    settings = read_settings_text(json.dumps(_graph()))
    request = settings.request
    assert settings.source == "comfyui"
    assert (request.prompt, request.negative_prompt, request.model) == (
        "a fox",
        "blurry",
        "sdxl/base.safetensors",
    )
    assert (request.seed, request.steps, request.cfg_scale, request.sampler) == (11, 30, 6.0, "Euler a")
    assert (request.width, request.height, request.batch_size) == (832, 1216, 2)
    assert request.hires == HiresSettings(scale=1.5, strength=0.45, steps=12, upscaler="Latent (bicubic)")
    assert any("LoRA ink.safetensors (strength 0.7)" in note for note in settings.unmapped)
    assert not any("Second pass seed" in note for note in settings.unmapped)


def test_comfyui_unknown_sampler_and_scheduler_are_reported():
    graph = _graph()
    graph["6"]["inputs"].update(sampler_name="res_multistep", scheduler="beta")
    settings = read_settings_text(json.dumps(graph))
    assert settings.request.sampler == GenerationRequest().sampler
    assert any("res_multistep / beta" in note for note in settings.unmapped)


def test_dream_line_and_bracket_negative():
    settings = read_settings_text(
        '"a red fox [blurry] in snow [lowres]" -s 30 -S 42 -W 640 -H 512 -C 7.5 -A k_euler_a -G 0.8'
    )
    request = settings.request
    assert settings.source == "invokeai"
    assert (request.prompt, request.negative_prompt) == ("a red fox in snow", "blurry, lowres")
    assert (request.steps, request.seed, request.width, request.height, request.cfg_scale) == (
        30,
        42,
        640,
        512,
        7.5,
    )
    assert request.sampler == "Euler a" and settings.unmapped == ["-G 0.8"]


def test_invokeai3_json_paste():
    data = {"positive_prompt": "owl", "negative_prompt": "", "seed": 3, "steps": 9, "cfg_scale": 4, "width": 768,
            "height": 768, "scheduler": "dpmpp_2m_k", "model": {"model_name": "dreamshaper"}, "hrf_enabled": True}  # fmt: skip
    settings = read_settings_text(json.dumps(data))
    assert settings.source == "invokeai"
    assert (settings.request.sampler, settings.request.model, settings.request.cfg_scale) == (
        "DPM++ 2M Karras",
        "dreamshaper",
        4.0,
    )
    assert settings.unmapped == ["hrf_enabled: true"]


def test_comfyui_sampler_custom_reads_helper_nodes():
    graph = _graph()
    graph["11"] = {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "dpmpp_2m"}}
    graph["12"] = {
        "class_type": "BasicScheduler",
        "inputs": {"scheduler": "karras", "steps": 22, "denoise": 1.0},
    }
    graph["6"] = {"class_type": "SamplerCustom", "inputs": {
        "noise_seed": 5, "cfg": 4.5, "add_noise": True, "model": ["1", 0], "positive": ["3", 0],
        "negative": ["4", 0], "sampler": ["11", 0], "sigmas": ["12", 0], "latent_image": ["5", 0]}}  # fmt: skip
    graph["9"]["inputs"]["samples"] = ["6", 0]
    request = read_settings_text(json.dumps(graph)).request
    assert (request.seed, request.steps, request.cfg_scale, request.sampler) == (
        5,
        22,
        4.5,
        "DPM++ 2M Karras",
    )
    assert request.hires is None and request.model == "sdxl/base.safetensors"


def test_comfyui_webp_exif_tags(tmp_path):
    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(_graph())
    exif[0x010F] = "workflow:{}"
    path = tmp_path / "comfy.webp"
    Image.new("RGB", (8, 8)).save(path, format="WEBP", exif=exif.tobytes())
    settings = read_image_settings(path)
    assert settings.source == "comfyui" and settings.request.prompt == "a fox"
    assert settings.raw["workflow"] == "{}"


def test_fooocus_json_parameters():
    data = {"prompt": "goldfish", "negative_prompt": "", "steps": 30, "guidance_scale": 4, "seed": "123456789012",
            "resolution": "(896, 1152)", "sampler": "dpmpp_2m_sde_gpu", "scheduler": "karras",
            "base_model": "juggernautXL", "styles": "['Fooocus V2']", "metadata_scheme": "fooocus"}  # fmt: skip
    settings = settings_from_chunks({"parameters": json.dumps(data), "fooocus_scheme": "fooocus"})
    request = settings.request
    assert settings.source == "fooocus"
    assert (request.seed, request.width, request.height, request.cfg_scale) == (123456789012, 896, 1152, 4.0)
    assert request.sampler == "DPM++ 2M SDE Karras" and request.model == "juggernautXL"
    assert settings.unmapped == ["styles: ['Fooocus V2']"]


def test_invokeai_sd_metadata_with_bracket_negative():
    data = {"model_weights": "deliberate", "image": {"prompt": [{"prompt": "owl [blurry]", "weight": 1.0}],
            "steps": 40, "cfg_scale": 6, "seed": 8, "width": 512, "height": 640, "sampler": "k_dpmpp_2_a",
            "type": "txt2img", "perlin": 0, "postprocessing": None}}  # fmt: skip
    settings = read_settings_text(json.dumps(data))
    request = settings.request
    assert settings.source == "invokeai" and settings.unmapped == []
    assert (request.prompt, request.negative_prompt, request.sampler) == ("owl", "blurry", "DPM++ 2S a")
    assert (request.model, request.steps, request.height) == ("deliberate", 40, 640)


def test_pasted_empty_text_is_none():
    assert read_settings_text("   ").source == "none"


# --- never raising --------------------------------------------------------------------------------------


_MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe1", b"RIFF\0\0\0\0WEBPVP8 ", b"GIF89a", b"BM", b"II*\0"]


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # PIL's own notice about the junk it was given
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(magic=st.sampled_from(_MAGIC), data=st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_metadata_error(tmp_path, magic, data):
    path = tmp_path / "junk.png"
    for blob in (magic + data, _valid_png_prefix() + data):
        path.write_bytes(blob)
        try:
            read_image_settings(path)
        except MetadataError:
            pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chunks=st.lists(
        st.tuples(st.sampled_from([b"tEXt", b"zTXt", b"iTXt"]), st.binary(max_size=80)), max_size=4
    )
)
def test_garbage_text_chunks_in_a_valid_png_never_raise(tmp_path, chunks):
    path = tmp_path / "x.png"
    path.write_bytes(_png_with_chunk_after_idat(b"".join(_chunk(kind, body) for kind, body in chunks)))
    assert read_image_settings(path).source in (
        "a1111",
        "none",
        "novelai",
        "comfyui",
        "invokeai",
        "fooocus",
        "sdnext",
    )


_keys = st.sampled_from(["parameters", "diffusion_studio", "prompt", "invokeai_metadata", "sd-metadata", "Dream",
                         "Comment", "Description", "Software", "fooocus_scheme"])  # fmt: skip
_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, st.text(max_size=60) | _json_like.map(json.dumps), max_size=4))
def test_arbitrary_chunks_never_raise(raw):
    settings = settings_from_chunks(raw)
    assert isinstance(settings.request, GenerationRequest)


@settings(max_examples=200, deadline=None)
@given(st.text() | _json_like.map(json.dumps))
def test_arbitrary_pasted_text_never_raises(text):
    read_settings_text(text)


def test_own_json_pasted_restores_exactly():
    request = GenerationRequest(prompt="p", seed=3, extras={"k": 1})
    assert read_settings_text(request.to_json()).request == request
