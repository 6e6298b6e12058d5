"""Other tools' metadata dialects, each in a file made here in that tool's documented layout.

Layouts as the tools write them (their sources and docs): SwarmUI "Image Metadata Format"; ComfyUI's WebP saver
(``prompt:`` in Model, ``workflow:`` from Make down), Save Image Extended (``Prompt:`` in Make, ``Workflow:`` in
ImageDescription, or one JSON in UserComment); Civitai's generator (the API graph in UserComment with
``extraMetadata`` and AIR URNs); Draw Things (XMP ``exif:UserComment`` JSON); RuinedFooocus (JSON in
``parameters``); NovelAI V4 (``Comment`` with ``v4_prompt``; WebP: the chunks as JSON in UserComment, or in the
alpha channel); Stability Matrix (``parameters-json`` beside ``parameters``).
"""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from studio.metadata.png_chunks import read_text_chunks
from studio.metadata.reader import read_image_settings

EXIF_IFD, USER_COMMENT = 0x8769, 0x9286
MAKE, MODEL, IMAGE_DESCRIPTION = 0x010F, 0x0110, 0x010E


def graph(prompt: str = "a red fox", seed: int = 77, ckpt: str = "sd15/dream.safetensors") -> dict:
    """A ComfyUI API graph: checkpoint, two text encoders, empty latent, KSampler, decode, save."""
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 640, "height": 448, "batch_size": 1}},
        "3": {"class_type": "KSampler", "inputs": {
            "seed": seed, "steps": 23, "cfg": 6.5, "sampler_name": "dpmpp_2m", "scheduler": "karras",
            "denoise": 1.0, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
            "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "ComfyUI"}},
    }  # fmt: skip


WORKFLOW = {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": []}


def unicode_comment(text: str, encoding: str) -> bytes:
    return b"UNICODE\0" + text.encode(encoding)


def save_with_exif(path: Path, ifd0: dict | None = None, comment: bytes | str | None = None, *,
                   big_endian: bool = False, xmp: str | None = None, mode: str = "RGB") -> Path:  # fmt: skip
    exif = Image.Exif()
    if big_endian:
        exif.endian = ">"
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    if comment is not None:
        exif.get_ifd(EXIF_IFD)[USER_COMMENT] = comment
    options: dict = {"exif": exif.tobytes()}
    if xmp is not None:
        options["xmp"] = xmp.encode()
    if path.suffix == ".webp":
        options["lossless"] = True
    Image.new(mode, (16, 16), "teal").save(path, **options)
    return path


def save_png(path: Path, texts: dict[str, str], itxt: tuple[str, ...] = ()) -> Path:
    info = PngInfo()
    for key, value in texts.items():
        if key in itxt:
            info.add_itxt(key, value)
        else:
            info.add_text(key, value)
    Image.new("RGB", (16, 16), "teal").save(path, pnginfo=info)
    return path


def assert_graph_read(settings, prompt: str = "a red fox", seed: int = 77) -> None:
    request = settings.request
    assert settings.source == "comfyui"
    assert (request.prompt, request.negative_prompt, request.seed) == (prompt, "blurry", seed)
    assert (request.steps, request.cfg_scale, request.sampler) == (23, 6.5, "DPM++ 2M Karras")
    assert (request.width, request.height) == (640, 448)


# --- ComfyUI graphs in JPEG and WebP -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_comfyui_core_layout_prompt_in_model_workflow_in_make(tmp_path, suffix):
    ifd0 = {MODEL: "prompt:" + json.dumps(graph()), MAKE: "workflow:" + json.dumps(WORKFLOW)}
    settings = read_image_settings(save_with_exif(tmp_path / f"core{suffix}", ifd0))
    assert_graph_read(settings)
    assert json.loads(settings.raw["workflow"]) == WORKFLOW
    assert settings.read_from == "ComfyUI graph, from the EXIF Model tag ('prompt:')"


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_save_image_extended_prompt_in_make_workflow_in_description(tmp_path, suffix, as_bytes):
    prompt, workflow = "Prompt: " + json.dumps(graph()), "Workflow: " + json.dumps(WORKFLOW)
    ifd0 = {MAKE: prompt.encode() if as_bytes else prompt, IMAGE_DESCRIPTION: workflow}
    settings = read_image_settings(save_with_exif(tmp_path / f"extended{suffix}", ifd0))
    assert_graph_read(settings)
    assert "EXIF Make tag ('Prompt:')" in settings.read_from
    assert "workflow" in settings.raw


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
@pytest.mark.parametrize("nested", [False, True])
def test_prompt_and_workflow_as_one_json_in_user_comment(tmp_path, suffix, nested):
    parts = {"prompt": graph(), "workflow": WORKFLOW}
    if nested:  # some savers store each part as a JSON string inside the JSON
        parts = {key: json.dumps(value) for key, value in parts.items()}
    comment = json.dumps(parts)  # PIL writes a str as ASCII
    settings = read_image_settings(save_with_exif(tmp_path / f"one{suffix}", comment=comment))
    assert_graph_read(settings)
    assert settings.read_from == "ComfyUI graph, from the EXIF UserComment"


def civitai_graph(**extra_meta) -> dict:
    data = graph(ckpt="urn:air:sdxl:checkpoint:civitai:827184@2514310")
    data["10"] = {"class_type": "LoraLoader", "inputs": {
        "lora_name": "urn:air:sdxl:lora:civitai:328553@368189", "strength_model": 0.8, "strength_clip": 1,
        "model": ["4", 0], "clip": ["4", 1]}}  # fmt: skip
    data["3"]["inputs"]["model"] = ["10", 0]
    data["extra"] = {"airs": ["urn:air:sdxl:checkpoint:civitai:827184@2514310",
                              "urn:air:sdxl:lora:civitai:328553@368189"]}  # fmt: skip
    data["extraMetadata"] = json.dumps({"prompt": "from extra", "negativePrompt": "bad", "steps": 30,
                                        "cfgScale": 4, "sampler": "Euler a", "seed": 5, "width": 832,
                                        "height": 1216, "clipSkip": 2, **extra_meta})  # fmt: skip
    return data


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-16-le"])
def test_civitai_generated_jpeg_graph_wins_and_resources_are_named(tmp_path, encoding):
    comment = unicode_comment(json.dumps(civitai_graph()), encoding)
    path = save_with_exif(tmp_path / "civitai.jpeg", comment=comment, big_endian=encoding.endswith("be"))
    settings = read_image_settings(path)
    assert_graph_read(settings)  # the graph, not the extraMetadata, is what ran
    assert settings.request.model == "urn:air:sdxl:checkpoint:civitai:827184@2514310"
    notes = "\n".join(settings.unmapped)
    assert "a sdxl checkpoint, model 827184, version 2514310 (civitai.com/models/827184)" in notes
    assert "a sdxl lora, model 328553, version 368189" in notes
    assert settings.request.clip_skip == 2 and "Clip skip" not in notes  # extraMetadata's clipSkip, applied
    assert settings.read_from == "ComfyUI graph (generated on Civitai), from the EXIF UserComment"


def test_civitai_upscale_only_graph_takes_the_settings_from_extra_metadata(tmp_path):
    data = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "source.png"}},
        "2": {"class_type": "ImageScaleBy", "inputs": {"image": ["1", 0], "scale_by": 2}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0]}},
        "extraMetadata": civitai_graph()["extraMetadata"],
    }
    path = save_with_exif(tmp_path / "upscaled.jpeg", comment=unicode_comment(json.dumps(data), "utf-16-le"))
    request = read_image_settings(path).request
    assert (request.prompt, request.negative_prompt, request.seed, request.steps) == (
        "from extra",
        "bad",
        5,
        30,
    )
    assert (request.width, request.height, request.sampler, request.cfg_scale) == (832, 1216, "Euler a", 4.0)


# --- SwarmUI ---------------------------------------------------------------------------------------------

SWARM = {
    "sui_image_params": {
        "prompt": "a photo of a cat", "negativeprompt": "dull", "model": "OfficialStableDiffusion/sd_xl_base_1.0",
        "seed": "1234", "steps": 20, "cfgscale": "7.0", "aspectratio": "1:1", "width": 1024, "height": 768,
        "sampler": "euler_ancestral", "scheduler": "normal", "loras": ["pixel-art"], "loraweights": ["0.7"],
        "automaticvae": True, "swarm_version": "0.9.3.1", "refinerupscale": 1.5,
    },
    "sui_extra_data": {"date": "2024-11-13", "generation_time": "6.11 (prep) and 4.84 (gen) seconds"},
}  # fmt: skip


def assert_swarm(settings) -> None:
    request = settings.request
    assert settings.source == "swarmui"
    assert (request.prompt, request.negative_prompt, request.seed, request.steps) == (
        "a photo of a cat",
        "dull",
        1234,
        20,
    )
    assert (request.cfg_scale, request.width, request.height, request.sampler) == (7.0, 1024, 768, "Euler a")
    assert request.model == "OfficialStableDiffusion/sd_xl_base_1.0"
    notes = "\n".join(settings.unmapped)
    assert "refinerupscale: 1.5" in notes  # what has no place here is said
    assert "LoRA 'pixel-art'" in notes  # named, and missing from the LoRA library
    assert "swarm_version" not in notes  # a fact about the file, not a lost setting


def test_swarmui_png_parameters_itxt(tmp_path):
    path = save_png(tmp_path / "swarm.png", {"parameters": json.dumps(SWARM, indent=2)}, itxt=("parameters",))
    settings = read_image_settings(path)
    assert_swarm(settings)
    assert settings.read_from == "SwarmUI settings (sui_image_params), from a PNG iTXt chunk"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_swarmui_exif_user_comment_utf16_either_order(tmp_path, encoding, suffix):
    comment = unicode_comment(json.dumps(SWARM), encoding)
    path = save_with_exif(tmp_path / f"swarm{suffix}", comment=comment, big_endian=encoding.endswith("be"))
    settings = read_image_settings(path)
    assert_swarm(settings)
    assert settings.read_from == "SwarmUI settings (sui_image_params), from the EXIF UserComment"


# --- Draw Things -----------------------------------------------------------------------------------------

DRAW_THINGS_JSON = {"c": "a lighthouse, dusk", "uc": "low quality", "seed": 1601874409, "steps": 30,
                    "scale": 7.5, "sampler": "DPM++ 2M Karras", "model": "sd_xl_base_1.0_f16.ckpt",
                    "size": "1024x768", "strength": 1, "shift": 1,
                    "v2": {"loras": [{"file": "ink_lora_f16.ckpt", "weight": 0.6}]}}  # fmt: skip


def draw_things_xmp(data: dict) -> str:
    text = json.dumps(data).replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">a lighthouse, dusk\n-low quality\n'
        "Steps: 30, Sampler: DPM++ 2M Karras, Guidance Scale: 7.5, Seed: 1601874409</rdf:li></rdf:Alt>"
        "</dc:description>"
        f'<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{text}</rdf:li></rdf:Alt></exif:UserComment>'
        "<xmp:CreatorTool>Draw Things</xmp:CreatorTool>"
        '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="r"?>'
    )


def assert_draw_things(settings) -> None:
    request = settings.request
    assert settings.source == "drawthings"
    assert (request.prompt, request.negative_prompt, request.seed) == (
        "a lighthouse, dusk",
        "low quality",
        1601874409,
    )
    assert (request.steps, request.cfg_scale, request.sampler) == (30, 7.5, "DPM++ 2M Karras")
    assert (request.width, request.height, request.model) == (1024, 768, "sd_xl_base_1.0_f16.ckpt")
    notes = "\n".join(settings.unmapped)
    assert "shift: 1" in notes and "LoRA 'ink_lora_f16.ckpt'" in notes


def test_draw_things_png_xmp_itxt(tmp_path):
    path = save_png(
        tmp_path / "dt.png", {"XML:com.adobe.xmp": draw_things_xmp(DRAW_THINGS_JSON)}, ("XML:com.adobe.xmp",)
    )
    settings = read_image_settings(path)
    assert_draw_things(settings)
    assert settings.read_from == "Draw Things settings (XMP), from a PNG iTXt chunk"


def test_draw_things_jpeg_xmp_app1(tmp_path):
    path = save_with_exif(tmp_path / "dt.jpg", xmp=draw_things_xmp(DRAW_THINGS_JSON))
    settings = read_image_settings(path)
    assert_draw_things(settings)
    assert settings.read_from == "Draw Things settings (XMP), from the JPEG's XMP packet"


def test_xmp_declaring_entities_is_not_parsed(tmp_path):
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            + draw_things_xmp({**DRAW_THINGS_JSON, "c": "&b;"}))  # fmt: skip
    path = save_png(tmp_path / "bomb.png", {"XML:com.adobe.xmp": bomb}, ("XML:com.adobe.xmp",))
    assert read_image_settings(path).source == "none"


# --- RuinedFooocus ---------------------------------------------------------------------------------------

RUINED = {"Prompt": "a castle on a hill", "Negative": "fog", "steps": 32, "cfg": 6.0, "width": 1152, "height": 896,
          "seed": 4242, "sampler_name": "dpmpp_2m_sde_gpu", "scheduler": "karras", "base_model_name":
          "sd_xl_base_1.0.safetensors", "base_model_hash": "31e35c80fc", "loras": [["watercolor.safetensors", 0.5]],
          "start_step": 0, "denoise": 1, "clip_skip": 2, "software": "RuinedFooocus"}  # fmt: skip


@pytest.mark.parametrize("twice", [False, True])
def test_ruined_fooocus_json_in_parameters(tmp_path, twice):
    text = json.dumps(RUINED)
    path = save_png(tmp_path / "rf.png", {"parameters": json.dumps(text) if twice else text})
    settings = read_image_settings(path)
    request = settings.request
    assert settings.source == "ruinedfooocus"
    assert (request.prompt, request.negative_prompt, request.seed, request.steps) == (
        "a castle on a hill",
        "fog",
        4242,
        32,
    )
    assert (request.width, request.height, request.sampler) == (1152, 896, "DPM++ 2M SDE Karras")
    assert request.model == "sd_xl_base_1.0.safetensors" and request.extras["Model hash"] == "31e35c80fc"
    notes = "\n".join(settings.unmapped)
    assert request.clip_skip == 2 and "Clip skip" not in notes and "LoRA 'watercolor.safetensors'" in notes


# --- NovelAI V4 ------------------------------------------------------------------------------------------

NAI_COMMENT = {
    "prompt": "1girl, garden", "steps": 28, "height": 1216, "width": 832, "scale": 5.5, "uncond_scale": 1.0,
    "cfg_rescale": 0.2, "seed": 3141, "n_samples": 1, "noise_schedule": "karras", "sampler": "k_euler_ancestral",
    "v4_prompt": {"caption": {"base_caption": "1girl, garden, masterpiece", "char_captions": [
        {"char_caption": "girl, red dress", "centers": [{"x": 0.3, "y": 0.5}]}]}, "use_coords": True, "use_order": True},
    "v4_negative_prompt": {"caption": {"base_caption": "lowres, bad hands", "char_captions": []}},
    "uc": "lowres", "request_type": "PromptGenerateRequest", "signed_hash": "x" * 88,
}  # fmt: skip
NAI_CHUNKS = {"Title": "NovelAI generated image", "Description": "1girl, garden", "Software": "NovelAI",
              "Source": "NovelAI Diffusion V4 Full 0A1B2C3D", "Generation time": "6.1",
              "Comment": json.dumps(NAI_COMMENT)}  # fmt: skip


def assert_novelai_v4(settings) -> None:
    request = settings.request
    assert settings.source == "novelai"
    assert (request.prompt, request.negative_prompt) == ("1girl, garden, masterpiece", "lowres, bad hands")
    assert (request.seed, request.steps, request.cfg_scale, request.sampler) == (3141, 28, 5.5, "Euler a")
    assert (request.width, request.height, request.model) == (832, 1216, "NovelAI Diffusion V4 Full 0A1B2C3D")
    notes = "\n".join(settings.unmapped)
    assert "Character prompt 1 (at 0.3, 0.5): girl, red dress" in notes
    assert "cfg_rescale: 0.2" in notes and "signed_hash" not in notes
    assert "Euler a only without the Karras schedule" in notes


def test_novelai_v4_png(tmp_path):
    assert_novelai_v4(read_image_settings(save_png(tmp_path / "nai.png", NAI_CHUNKS)))


def test_novelai_v4_webp_exif_user_comment(tmp_path):
    path = save_with_exif(tmp_path / "nai.webp", comment=unicode_comment(json.dumps(NAI_CHUNKS), "utf-16-le"))
    settings = read_image_settings(path)
    assert_novelai_v4(settings)
    assert settings.read_from == "NovelAI settings, from the EXIF UserComment"


def stealth_pixels(payload: bytes, size=(64, 64)) -> Image.Image:
    """NovelAI's stealth form: signature, bit length, gzip payload, column by column in alpha's lowest bit."""
    data = b"stealth_pngcomp" + struct.pack(">I", len(payload) * 8) + payload
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    width, height = size
    pixels = np.full((height, width, 4), 200, dtype=np.uint8)
    flat = pixels[..., 3].T.reshape(-1).copy()
    flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
    pixels[..., 3] = flat.reshape(width, height).T
    return Image.fromarray(pixels, "RGBA")


def test_novelai_v4_webp_alpha_stealth(tmp_path):
    path = tmp_path / "stealth.webp"
    stealth_pixels(gzip.compress(json.dumps(NAI_CHUNKS).encode()), size=(96, 96)).save(path, lossless=True)
    settings = read_image_settings(path)
    assert_novelai_v4(settings)
    assert settings.read_from == "NovelAI settings, from the pixels' lowest bits (stealth metadata)"


# --- Stability Matrix ------------------------------------------------------------------------------------

SM_TEXT = "a koi pond\nNegative prompt: murky\nSteps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 99, Size: 768x512, Model: dreamshaper_8"
SM_JSON = {"PositivePrompt": "a koi pond", "NegativePrompt": "murky", "Steps": 25, "Sampler": "dpmpp_2m",
           "Scheduler": "karras", "CfgScale": 7.0, "Seed": 99, "Width": 768, "Height": 512,
           "ModelName": "dreamshaper_8", "ModelHash": "879db523c3", "FrameCount": 0}  # fmt: skip


def test_stability_matrix_json_beside_the_a1111_text(tmp_path):
    texts = {
        "parameters": SM_TEXT,
        "parameters-json": json.dumps(SM_JSON),
        "smproj": json.dumps({"Version": 2}),
    }
    settings = read_image_settings(save_png(tmp_path / "sm.png", texts))
    request = settings.request
    assert settings.source == "stability-matrix"
    assert (request.prompt, request.negative_prompt, request.seed, request.steps) == (
        "a koi pond",
        "murky",
        99,
        25,
    )
    assert (request.width, request.height, request.sampler, request.model) == (
        768,
        512,
        "DPM++ 2M Karras",
        "dreamshaper_8",
    )
    assert request.extras["Model hash"] == "879db523c3"
    assert settings.read_from == "Stability Matrix settings, from a PNG tEXt chunk"


# --- A1111 text beside a ComfyUI graph -------------------------------------------------------------------

PLACEHOLDER = "unknown\nNegative prompt: unknown\nSteps: unknown, Sampler: unknown, CFG scale: unknown, Seed: 0, Size: 512x512, Model: unknown"


def test_graph_wins_over_disagreeing_a1111_text_and_says_so(tmp_path):
    texts = {"parameters": PLACEHOLDER, "prompt": json.dumps(graph()), "workflow": json.dumps(WORKFLOW)}
    settings = read_image_settings(save_png(tmp_path / "both.png", texts))
    assert_graph_read(settings)
    assert settings.read_from == "ComfyUI graph, from a PNG tEXt chunk"
    first = settings.unmapped[0]
    assert first.startswith("The A1111 settings text in this image disagrees with its ComfyUI graph")
    assert "the graph was used" in first and "'unknown' in the text" in first


def test_agreeing_a1111_text_beside_a_graph_is_read(tmp_path):
    text = ("a red fox\nNegative prompt: blurry\nSteps: 23, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 77, "
            "Size: 640x448, Model: sd15/dream.safetensors, Lora hashes: \"ink: 0123456789ab\"")  # fmt: skip
    texts = {"parameters": text, "prompt": json.dumps(graph())}
    settings = read_image_settings(save_png(tmp_path / "same.png", texts))
    assert settings.source == "a1111" and settings.read_from == "A1111 settings text, from a PNG tEXt chunk"
    assert settings.request.seed == 77


# --- bounds ----------------------------------------------------------------------------------------------


def test_oversized_user_comment_is_left_out_and_named(tmp_path, monkeypatch):
    from studio.metadata import png_chunks

    monkeypatch.setattr(png_chunks, "MAX_TEXT_BYTES", 10_000)
    comment = unicode_comment(json.dumps({**SWARM, "pad": "x" * 20_000}), "utf-16-le")
    chunks = read_text_chunks(save_with_exif(tmp_path / "big.jpg", comment=comment))
    assert "parameters" not in chunks
    assert any("EXIF UserComment" in note for note in chunks.left_out)


def test_oversized_xmp_is_left_out_and_named(tmp_path, monkeypatch):
    from studio.metadata import png_chunks

    monkeypatch.setattr(png_chunks, "MAX_TEXT_BYTES", 10_000)
    xmp = draw_things_xmp({**DRAW_THINGS_JSON, "c": "x" * 20_000})
    chunks = read_text_chunks(save_with_exif(tmp_path / "bigxmp.jpg", xmp=xmp))
    assert "XML:com.adobe.xmp" not in chunks
    assert any("XML:com.adobe.xmp" in note for note in chunks.left_out)


def test_settings_of_a_jpeg_too_large_to_open_are_still_read(tmp_path, monkeypatch):
    path = save_with_exif(tmp_path / "bomb.jpg", comment=unicode_comment(json.dumps(SWARM), "utf-16-le"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 8)  # 16x16 is now a decompression bomb
    with pytest.raises(Image.DecompressionBombError):
        Image.open(path)
    assert_swarm(read_image_settings(path))


def test_settings_of_a_webp_too_large_to_open_are_still_read(tmp_path, monkeypatch):
    ifd0 = {MODEL: "prompt:" + json.dumps(graph())}
    path = save_with_exif(tmp_path / "bomb.webp", ifd0, xmp=draw_things_xmp(DRAW_THINGS_JSON))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 8)
    chunks = read_text_chunks(path)
    assert json.loads(chunks["prompt"]) == graph() and "Draw Things" in chunks["XML:com.adobe.xmp"]


def test_graph_in_exif_make_wins_over_placeholder_text_in_user_comment(tmp_path):
    comment = unicode_comment(PLACEHOLDER, "utf-16-be")
    ifd0 = {MAKE: "Prompt: " + json.dumps(graph()), IMAGE_DESCRIPTION: "Workflow: " + json.dumps(WORKFLOW)}
    settings = read_image_settings(save_with_exif(tmp_path / "both.jpg", ifd0, comment, big_endian=True))
    assert_graph_read(settings)
    assert settings.read_from == "ComfyUI graph, from the EXIF Make tag ('Prompt:')"
    assert "the graph was used" in settings.unmapped[0]


def test_civitai_a1111_style_text_names_its_resources(tmp_path):
    resources = [{"type": "checkpoint", "modelVersionId": 290640, "modelName": "Pony Diffusion V6 XL",
                  "modelVersionName": "V6"}, {"type": "lora", "weight": 0.8, "modelVersionId": 1111,
                  "modelName": "Ink Style", "modelVersionName": "v1"}]  # fmt: skip
    text = ("a heron\nNegative prompt: blur\nSteps: 25, Sampler: Euler a, CFG scale: 5, Seed: 12, Size: 832x1216, "
            f"Clip skip: 2, Civitai resources: {json.dumps(resources)}, Civitai metadata: {{}}")  # fmt: skip
    path = save_with_exif(
        tmp_path / "civitai.jpeg", comment=unicode_comment(text, "utf-16-be"), big_endian=True
    )
    settings = read_image_settings(path)
    assert settings.source == "a1111" and settings.request.seed == 12
    notes = "\n".join(settings.unmapped)
    assert "Civitai checkpoint 'Pony Diffusion V6 XL' (V6): version id 290640" in notes
    assert "Civitai lora 'Ink Style' (v1), weight 0.8: version id 1111" in notes


@pytest.mark.parametrize(
    ("text", "source"),
    [
        (json.dumps(SWARM), "swarmui"),
        (json.dumps(RUINED), "ruinedfooocus"),
        (json.dumps(SM_JSON), "stability-matrix"),
    ],
)
def test_pasted_json_of_each_dialect_is_recognised(text, source):
    from studio.metadata.reader import read_settings_text

    settings = read_settings_text(text)
    assert settings.source == source and settings.request.prompt
