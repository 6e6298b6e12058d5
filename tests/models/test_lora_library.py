"""The LoRA library: scanning folders, family from tensors, trigger words, previews, A1111 hashes, search."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct

import pytest

from studio.engine.tiny_addons import write_tiny_lora
from studio.errors import RequestError
from studio.models.lora_file import addnet_hash, detect_family, trigger_words
from studio.models.lora_library import LoraLibrary, inspect_lora, lora_folders, own_lora_dir, scan_loras


@pytest.fixture(scope="module")
def tiny_loras(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-loras")
    return {
        (family, kind): write_tiny_lora(folder / f"{family}-{kind}.safetensors", family, kind)
        for family in ("sd15", "sdxl")
        for kind in ("kohya", "peft")
    }


def _write_header_only(path, tensors, metadata=None):
    """A safetensors file with the given tensor shapes (zero-filled F32), for shape-only family checks."""
    header, offset = {}, 0
    for name, shape in tensors.items():
        size = 4
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)
    return path


def test_tiny_loras_are_read_with_family_format_and_triggers(tiny_loras):
    for (family, kind), path in tiny_loras.items():
        entry = inspect_lora(path)
        assert entry.usable and entry.family == family
        assert entry.format == ("kohya" if kind == "kohya" else "diffusers")
        assert entry.triggers[:2] == (f"tiny {family} style", "tiny tag")
        assert entry.size_bytes == path.stat().st_size


@pytest.mark.parametrize(
    ("tensors", "family"),
    [
        ({"lora_unet_x_attn2_to_k.lora_down.weight": (4, 768)}, "sd15"),
        ({"lora_unet_x_attn2_to_k.lora_down.weight": (4, 2048)}, "sdxl"),
        ({"lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": (4, 1280)}, "sdxl"),
        ({"unet.down_blocks.1.attn2.to_k.lora_A.weight": (4, 2048)}, "sdxl"),
        ({"unet.down_blocks.1.attn2.to_q.lora_A.weight": (4, 1280)}, None),  # a UNet width, not a context
        ({"unet:0:down": (1, 768), "unet:1:down": (1, 1280)}, "sd15"),
    ],
)
def test_family_comes_from_tensor_shapes(tmp_path, tensors, family):
    path = _write_header_only(tmp_path / "sdxl_named_file.safetensors", tensors)
    assert inspect_lora(path).family == family  # never from the file name


def test_family_falls_back_to_kohya_metadata():
    assert detect_family({}, {"ss_base_model_version": "sdxl_base_v1-0"}) == "sdxl"
    assert detect_family({}, {"modelspec.architecture": "stable-diffusion-v1/lora"}) == "sd15"
    assert detect_family({}, {}) is None


def test_trigger_words_prefer_the_phrase_then_the_most_frequent_tags():
    metadata = {
        "modelspec.trigger_phrase": "inkwash, sumi",
        "ss_tag_frequency": json.dumps({"a": {"rare": 1, "common": 9}, "b": {"common": 2, "mid": 5}}),
    }
    assert trigger_words(metadata) == ("inkwash", "sumi", "common", "mid", "rare")
    assert trigger_words({"ss_tag_frequency": "{not json"}) == ()


def test_addnet_hash_skips_the_header(tiny_loras):
    path = tiny_loras["sd15", "kohya"]
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    assert addnet_hash(path) == hashlib.sha256(data[8 + length :]).hexdigest()
    assert len(inspect_lora(path).short_hash()) == 12


def test_a_damaged_or_foreign_file_is_listed_with_a_problem(tmp_path):
    (tmp_path / "short.safetensors").write_bytes(b"abc")
    (tmp_path / "junk.safetensors").write_bytes(struct.pack("<Q", 5) + b"{oops" + b"\0" * 8)
    (tmp_path / "huge.safetensors").write_bytes(struct.pack("<Q", 10**9) + b"{}")
    _write_header_only(tmp_path / "checkpoint.safetensors", {"model.diffusion_model.x.weight": (4, 4)})
    entries = {e.name: e for e in scan_loras([tmp_path])}
    assert {name for name, e in entries.items() if not e.usable} == {"short", "junk", "huge", "checkpoint"}
    assert "too short" in entries["short"].problem and "damaged" in entries["junk"].problem
    assert "truncated" in entries["huge"].problem and "no LoRA weights" in entries["checkpoint"].problem


def test_scan_finds_own_a1111_and_comfyui_folders_with_previews(tmp_path, tiny_loras):
    own_lora_dir().mkdir(parents=True)
    shutil.copy(tiny_loras["sd15", "kohya"], own_lora_dir() / "mine.safetensors")
    a1111 = tmp_path / "webui"
    (a1111 / "models" / "Lora" / "styles").mkdir(parents=True)
    shutil.copy(tiny_loras["sdxl", "peft"], a1111 / "models" / "Lora" / "styles" / "Ink.safetensors")
    (a1111 / "models" / "Lora" / "styles" / "Ink.preview.png").write_bytes(b"png")
    comfy_leaf = tmp_path / "ComfyUI" / "models" / "loras"
    comfy_leaf.mkdir(parents=True)
    shutil.copy(tiny_loras["sd15", "peft"], comfy_leaf / "watercolor.safetensors")
    assert lora_folders([a1111])[1] == a1111 / "models" / "Lora"
    library = LoraLibrary.scan([a1111, comfy_leaf])  # a root and a leaf
    assert [e.name for e in library.entries] == ["Ink", "mine", "watercolor"]
    ink = library.find("ink")
    assert ink.family == "sdxl" and ink.preview.name == "Ink.preview.png"
    assert [e.name for e in library.search("TINY SDXL")] == ["Ink"]  # trigger words are searched
    assert [e.name for e in library.search("water")] == ["watercolor"]
    assert library.by_hash(ink.short_hash()) == ink
    assert library.find(str(comfy_leaf / "watercolor.safetensors")).name == "watercolor"


def test_an_unknown_name_names_the_closest_ones(tiny_loras):
    library = LoraLibrary([inspect_lora(p) for p in tiny_loras.values()])
    with pytest.raises(
        RequestError, match=r"'sd15-kohja' is not in the LoRA library\. Did you mean 'sd15-kohya'"
    ):
        library.find("sd15-kohja")
    with pytest.raises(RequestError, match="library is empty"):
        LoraLibrary([]).find("anything")


def test_interop_files_are_read(interop_dir):
    entries = {e.format: e for e in scan_loras([interop_dir / "lora"])}
    lokr, clone = entries["lycoris"], entries["cloneofsimo"]
    assert lokr.family == clone.family == "sd15"
    assert lokr.title == "smart_falcon_lokr_3.0e-4" and lokr.triggers[0] == r"smart falcon \(umamusume\)"
    assert lokr.short_hash() == lokr.stored_hash[:12]  # kohya's own sshs_model_hash is the same digest
