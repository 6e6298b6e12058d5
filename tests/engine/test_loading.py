"""References, family detection and load_model on the tiny models."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from studio.engine.loading import load_model
from studio.errors import ModelError
from studio.models.model_family import detect_family, family_of_folder, family_of_single_file
from studio.models.model_ref import read_safetensors_header, resolve_reference


def _save(path: Path, names: dict[str, tuple[int, ...]]) -> Path:
    """A .safetensors file with zero tensors of the given names and shapes (enough for header checks)."""
    import torch
    from safetensors.torch import save_file

    save_file({name: torch.zeros(shape) for name, shape in names.items()}, str(path))
    return path


UNET_IN = "model.diffusion_model.input_blocks.0.0.weight"
SD15_TEXT = "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"
SDXL_TEXT = "conditioner.embedders.1.model.token_embedding.weight"


# --- references ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["", "   "])
def test_empty_reference_is_refused(reference):
    with pytest.raises(ModelError, match="No model is chosen"):
        resolve_reference(reference)


def test_missing_path_says_no_file_or_folder(tmp_path):
    with pytest.raises(ModelError, match="no file or folder at") as info:
        resolve_reference(str(tmp_path / "nothing" / "here.safetensors"))
    assert "here.safetensors" in str(info.value)


def test_uncached_repo_id_offline_says_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError) as info:
        resolve_reference("someone/not-downloaded-model")
    message = str(info.value)
    assert "no file or folder at 'someone/not-downloaded-model'" in message
    assert "HF_HUB_OFFLINE" in message and "online" in message and "local model folder" in message


def test_cached_repo_id_resolves_to_its_snapshot(monkeypatch, tmp_path, tiny_models):
    cache = tmp_path / "hub"
    snapshot = cache / "models--org--tiny" / "snapshots" / "abc123"
    shutil.copytree(tiny_models / "sd15", snapshot)
    (cache / "models--org--tiny" / "refs").mkdir()
    (cache / "models--org--tiny" / "refs" / "main").write_text("abc123")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)
    ref = resolve_reference("org/tiny")
    assert (ref.kind, ref.path, ref.name) == ("hub", snapshot, "org/tiny")
    loaded = load_model("org/tiny")
    assert (loaded.info.name, loaded.info.family) == ("org/tiny", "sd15")


def test_folder_without_model_index_names_its_contents_and_suggests_a_checkpoint(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    _save(tmp_path / "dreamy.safetensors", {SD15_TEXT: (1,)})
    with pytest.raises(ModelError) as info:
        resolve_reference(str(tmp_path))
    message = str(info.value)
    assert "no model_index.json" in message and "notes.txt" in message
    assert "model_index.json beside subfolders" in message
    assert "pick one of them (dreamy.safetensors)" in message


def test_empty_safetensors_is_reported(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    with pytest.raises(ModelError, match="empty or truncated .*Download it again"):
        resolve_reference(str(path))


def test_truncated_safetensors_names_expected_and_actual_size(tmp_path):
    path = _save(tmp_path / "cut.safetensors", {SD15_TEXT: (64, 64)})
    full = path.stat().st_size
    path.write_bytes(path.read_bytes()[: full - 100])
    with pytest.raises(ModelError, match="truncated") as info:
        resolve_reference(str(path))
    assert f"{full} vs {full - 100} bytes" in str(info.value)


def test_non_checkpoint_file_is_refused(tmp_path):
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(ModelError, match="not a model checkpoint"):
        resolve_reference(str(path))


# --- families ------------------------------------------------------------------------------------------------


def test_tiny_folders_are_detected_from_their_files(tiny_models):
    assert family_of_folder(tiny_models / "sd15") == "sd15"
    assert family_of_folder(tiny_models / "sdxl") == "sdxl"


def test_folder_family_ignores_the_name(tmp_path, tiny_models):
    misleading = tmp_path / "sdxl-turbo-ultra"
    shutil.copytree(tiny_models / "sd15", misleading)
    assert family_of_folder(misleading) == "sd15"


def test_inpainting_unet_gives_inpaint_family_and_loads(tmp_path, tiny_models, tiny_controlnets):
    folder = tmp_path / "inpaint"
    shutil.copytree(tiny_models / "sd15", folder)
    config = json.loads((folder / "unet" / "config.json").read_text())
    (folder / "unet" / "config.json").write_text(json.dumps({**config, "in_channels": 9}))
    assert family_of_folder(folder) == "sd15-inpaint"
    # A real inpainting folder loads as its base pipeline; the engine derives the inpaint pipeline from it.
    loaded = load_model(str(tiny_controlnets / "sd15-inpaint"))
    assert loaded.info.family == "sd15-inpaint" and loaded.pipe.unet.config.in_channels == 9


def test_other_pipelines_say_what_is_supported(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    with pytest.raises(ModelError, match="FluxPipeline.*supports Stable Diffusion 1.x .*SDXL"):
        family_of_folder(tmp_path)


def test_sd2_folder_is_recognised_and_refused(tmp_path, tiny_models):
    folder = tmp_path / "sd2"
    shutil.copytree(tiny_models / "sd15", folder)
    config = json.loads((folder / "text_encoder" / "config.json").read_text())
    (folder / "text_encoder" / "config.json").write_text(json.dumps({**config, "hidden_act": "gelu"}))
    with pytest.raises(ModelError, match="Stable Diffusion 2.x"):
        family_of_folder(folder)


@pytest.mark.parametrize(
    ("names", "family"),
    [
        ({UNET_IN: (4, 4, 1, 1), SD15_TEXT: (1,)}, "sd15"),
        ({UNET_IN: (4, 9, 1, 1), SD15_TEXT: (1,)}, "sd15-inpaint"),
        ({UNET_IN: (4, 4, 1, 1), SDXL_TEXT: (1,), "conditioner.embedders.0.transformer.x": (1,)}, "sdxl"),
    ],
)
def test_single_file_family_from_header(tmp_path, names, family):
    assert family_of_single_file(_save(tmp_path / "renamed_xl_v2.safetensors", names)) == family


@pytest.mark.parametrize(
    ("names", "what"),
    [
        (
            {UNET_IN: (4, 4, 1, 1), "cond_stage_model.model.token_embedding.weight": (1,)},
            "Stable Diffusion 2.x",
        ),
        ({"double_blocks.0.img_attn.qkv.weight": (1,)}, "Flux"),
        ({"model.diffusion_model.joint_blocks.0.x": (1,)}, "Stable Diffusion 3"),
        ({"lora_unet_down_blocks_0.alpha": (1,)}, "LoRA"),
        ({"conditioner.embedders.0.model.token_embedding.weight": (1,), UNET_IN: (4, 4, 1, 1)}, "refiner"),
    ],
)
def test_unsupported_single_files_are_named(tmp_path, names, what):
    with pytest.raises(ModelError, match=what) as info:
        family_of_single_file(_save(tmp_path / "x.safetensors", names))
    assert "supports Stable Diffusion 1.x" in str(info.value)


def test_family_reads_only_the_header(tmp_path):
    """A file whose tensor data is garbage still has its family read (nothing beyond the header is parsed)."""
    path = _save(tmp_path / "big.safetensors", {SD15_TEXT: (256, 256), UNET_IN: (4, 4, 1, 1)})
    data = bytearray(path.read_bytes())
    header_end = 8 + int.from_bytes(data[:8], "little")
    data[header_end:] = b"\xff" * (len(data) - header_end)
    path.write_bytes(bytes(data))
    assert read_safetensors_header(path)[UNET_IN]["shape"] == [4, 4, 1, 1]
    assert detect_family(resolve_reference(str(path))) == "sd15"


# --- load_model ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_load_folder_reports_stages_and_info(tiny_models, family):
    stages: list[str] = []
    loaded = load_model(str(tiny_models / family), on_progress=stages.append)
    assert loaded.info.name == family and loaded.info.family == family and loaded.info.hash10 is None
    assert type(loaded.pipe).__name__ == (
        "StableDiffusionXLPipeline" if family == "sdxl" else "StableDiffusionPipeline"
    )
    assert stages[0] == f"Loading {family}" and stages[-1] == "Moving the model to cpu"


def test_load_single_file_records_a1111_hash(tiny_single_file):
    loaded = load_model(str(tiny_single_file))
    expected = hashlib.sha256(tiny_single_file.read_bytes()).hexdigest()[:10]
    assert loaded.info == type(loaded.info)(name="sd15", family="sd15", hash10=expected)


def test_damaged_safetensors_header_is_a_model_error(tmp_path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [1]}}).encode()  # no data_offsets
    path = tmp_path / "odd.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(ModelError, match="damaged header"):
        resolve_reference(str(path))
