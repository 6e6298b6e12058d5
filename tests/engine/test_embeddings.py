"""Textual-inversion embeddings on the tiny models: the name in the prompt (A1111) or embedding:name (ComfyUI)
is the file's vectors, SD 1.x and SDXL files, recorded as TI hashes and restored from the PNG."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from studio.engine.config import EngineConfig
from studio.engine.engine import Engine
from studio.models.embedding_library import scan_embeddings
from studio.request import GenerationRequest

pytestmark = pytest.mark.slow


def _write(path, tensors):
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return path


@pytest.fixture(scope="module")
def roots(tmp_path_factory, tiny_models):
    """An A1111 root (embeddings/) with an SD 1.x embedding, a ComfyUI root (models/embeddings/) with an SDXL one."""
    import torch

    from studio.engine import loading

    base = tmp_path_factory.mktemp("tools")
    sd15 = loading.load_model(str(tiny_models / "sd15")).pipe
    xl = loading.load_model(str(tiny_models / "sdxl")).pipe
    generator = torch.Generator().manual_seed(4)
    width = sd15.text_encoder.get_input_embeddings().weight.shape[1]
    _write(
        base / "a1111" / "embeddings" / "inkwash.safetensors",
        {"emb_params": torch.randn(2, width, generator=generator)},
    )
    widths = [e.get_input_embeddings().weight.shape[1] for e in (xl.text_encoder, xl.text_encoder_2)]
    _write(
        base / "comfy" / "models" / "embeddings" / "xl-grain.safetensors",
        {
            "clip_l": torch.randn(3, widths[0], generator=generator),
            "clip_g": torch.randn(3, widths[1], generator=generator),
        },
    )
    (base / "a1111" / "embeddings" / "old.pt").write_bytes(b"pickle")
    return (str(base / "a1111"), str(base / "comfy"))


def test_embeddings_are_listed_with_their_family(roots):
    entries = {e.name: e for e in scan_embeddings(roots)}
    assert (entries["inkwash"].family, entries["inkwash"].vectors) == ("sd15", 2)
    assert (entries["xl-grain"].family, entries["xl-grain"].vectors) == ("sdxl", 3)
    assert entries["old"].problem is not None and "pickle" in entries["old"].problem
    path = entries["inkwash"].path
    assert entries["inkwash"].short_hash() == hashlib.sha256(path.read_bytes()).hexdigest()[:10]


@pytest.mark.parametrize(("family", "name"), [("sd15", "inkwash"), ("sdxl", "xl-grain")])
def test_the_name_is_the_embedding_in_both_spellings_and_round_trips(
    tiny_models, roots, tmp_path, family, name
):
    from studio.metadata.reader import read_image_settings
    from studio.metadata.saving import save_result

    engine = Engine(EngineConfig(device="cpu", lora_dirs=roots))
    size = 256 if family == "sdxl" else 64
    request = GenerationRequest(
        model=str(tiny_models / family), prompt="a fox", width=size, height=size, steps=2, seed=9
    )

    def pixels(prompt):
        result = engine.generate(request.with_changes(prompt=prompt))
        return result, np.asarray(result.images[0])

    without = Engine(EngineConfig(device="cpu"))  # no embeddings folder: the name is only a word
    plain = np.asarray(without.generate(request.with_changes(prompt=f"a fox, {name}")).images[0])
    used, a1111 = pixels(f"a fox, {name}")
    _, comfy = pixels(f"a fox, embedding:{name}")
    assert np.array_equal(a1111, comfy)
    assert not np.array_equal(a1111, plain)
    assert used.embeddings == [(name, [e for e in scan_embeddings(roots) if e.name == name][0].short_hash())]
    assert used.prompt == f"a fox, {name}"  # the metadata keeps the name
    png = save_result(used, tmp_path)[0]
    settings = read_image_settings(png)
    assert f'TI hashes: "{name}: {used.embeddings[0][1]}"' in settings.raw["parameters"]
    assert not any("TI hashes" in item for item in settings.unmapped)
    again = engine.generate(settings.request.with_changes(model=str(tiny_models / family)))
    assert np.array_equal(np.asarray(again.images[0]), a1111)


def test_an_embedding_of_the_other_family_is_left_out_with_a_notice(tiny_models, roots):
    engine = Engine(EngineConfig(device="cpu", lora_dirs=roots))
    request = GenerationRequest(
        model=str(tiny_models / "sd15"), prompt="a fox, xl-grain", width=64, height=64, steps=2
    )
    result = engine.generate(request)
    assert result.embeddings == []
    assert any("'xl-grain' was not used" in notice and "SDXL" in notice for notice in result.notices)


def test_cli_lists_embeddings_with_their_family(roots, studio_home):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
    from cli_process import run_cli

    lora_leaf = (
        Path(roots[0]) / "models" / "Lora"
    )  # a LoRA folder given: its A1111 root's embeddings are found
    lora_leaf.mkdir(parents=True, exist_ok=True)
    run = run_cli(
        "models", "--embeddings", "--json", "--dir", str(lora_leaf), "--dir", roots[1], env_home=studio_home
    )
    assert run.returncode == 0, run.stderr
    rows = {row["name"]: row for row in json.loads(run.stdout)}
    assert (rows["inkwash"]["family"], rows["xl-grain"]["family"]) == ("sd15", "sdxl")
    assert "pickle" in rows["old"]["problem"]
