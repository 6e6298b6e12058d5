"""LoRAs on the tiny models: both key formats load, weights change without reloads, fusing, clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from studio.engine.config import EngineConfig
from studio.engine.engine import Engine
from studio.engine.lora_loader import ActiveLora, LoraState
from studio.engine.tiny_addons import write_tiny_lora
from studio.errors import RequestError
from studio.models.lora_library import LoraLibrary, inspect_lora
from studio.request import GenerationRequest, LoraRef

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lora_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("loras")
    files = {}
    for family in ("sd15", "sdxl"):
        for kind in ("kohya", "peft"):
            files[family, kind] = write_tiny_lora(folder / f"{family}-{kind}.safetensors", family, kind)
    return files


@pytest.fixture
def own_loras(studio_home, lora_files):
    """The tiny LoRAs copied into the studio's own LoRA folder (the data folder is per test)."""
    from studio.models.lora_library import own_lora_dir

    own_lora_dir().mkdir(parents=True)
    for path in lora_files.values():
        shutil.copy(path, own_lora_dir() / path.name)
    return own_lora_dir()


def _request(model, **changes):
    size = 256 if str(model).endswith("sdxl") else 64  # SDXL's smallest size; the tiny model is still fast
    base = GenerationRequest(model=str(model), prompt="a fox", width=size, height=size, steps=2, seed=7)
    return base.with_changes(**changes)


def _pixels(result):
    return np.asarray(result.images[0])


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
@pytest.mark.parametrize("kind", ["kohya", "peft"])
def test_both_key_formats_load_and_change_the_image(tiny_models, own_loras, family, kind):
    engine = Engine(EngineConfig(device="cpu"))
    plain = engine.generate(_request(tiny_models / family))
    with_lora = engine.generate(_request(tiny_models / family, prompt=f"a fox <lora:{family}-{kind}:1>"))
    assert not np.array_equal(_pixels(plain), _pixels(with_lora))
    assert [(r.name, r.weight) for r in with_lora.loras] == [(f"{family}-{kind}", 1.0)]
    assert len(with_lora.loras[0].hash10) == 12
    assert with_lora.prompt == f"a fox <lora:{family}-{kind}:1>"  # the tag stays in the metadata's prompt


def test_weight_zero_is_bit_identical_and_removal_restores_the_base(tiny_models, own_loras):
    engine = Engine(EngineConfig(device="cpu"))
    plain = _pixels(engine.generate(_request(tiny_models / "sd15")))
    zero = engine.generate(_request(tiny_models / "sd15", loras=(LoraRef("sd15-kohya", 0.0),)))
    assert np.array_equal(plain, _pixels(zero))
    engine.generate(_request(tiny_models / "sd15", loras=(LoraRef("sd15-kohya", 1.5),)))
    after = engine.generate(_request(tiny_models / "sd15"))  # removed: unloaded, base weights untouched
    assert np.array_equal(plain, _pixels(after))
    assert engine._loras.loaded == {}


def test_reweighting_toggling_and_fusing_reuse_the_loaded_model(tiny_models, own_loras, monkeypatch):
    engine = Engine(EngineConfig(device="cpu"))
    request = _request(tiny_models / "sd15", loras=(LoraRef("sd15-kohya", 0.8), LoraRef("sd15-peft", -0.5)))
    first = engine.generate(request)
    pipe = engine._loaded.pipe
    loads = []
    monkeypatch.setattr(pipe, "load_lora_weights", lambda *a, **k: loads.append(a))
    second = engine.generate(request)  # same set twice: fused, same picture within float error
    assert engine._loras.fused
    assert np.abs(_pixels(first).astype(int) - _pixels(second).astype(int)).max() <= 2
    changed = engine.generate(
        request.with_changes(loras=(LoraRef("sd15-kohya", -1.0), LoraRef("sd15-peft", 1.0)))
    )
    assert not engine._loras.fused and engine._loaded.pipe is pipe and loads == []
    assert not np.array_equal(_pixels(first), _pixels(changed))
    off = engine.generate(request.with_changes(loras=(LoraRef("sd15-kohya", 1.0, enabled=False),)))
    plain = Engine(EngineConfig(device="cpu")).generate(_request(tiny_models / "sd15"))
    assert np.array_equal(_pixels(off), _pixels(plain))


def test_tag_beats_the_request_entry_for_the_same_lora(tiny_models, own_loras):
    engine = Engine(EngineConfig(device="cpu"))
    result = engine.generate(
        _request(
            tiny_models / "sd15", prompt="fox <lora:SD15-KOHYA:0.3>", loras=(LoraRef("sd15-kohya", 1.0),)
        )
    )
    assert [(r.name, r.weight) for r in result.loras] == [("sd15-kohya", 0.3)]
    assert any("prompt's weight was used" in n for n in result.notices)


def test_wrong_family_and_unknown_names_are_request_errors(tiny_models, own_loras):
    engine = Engine(EngineConfig(device="cpu"))
    with pytest.raises(RequestError, match="made for SDXL models"):
        engine.generate(_request(tiny_models / "sd15", prompt="fox <lora:sdxl-kohya:1>"))
    with pytest.raises(RequestError, match=r"'sd15-kohja' is not in the LoRA library.*'sd15-kohya'"):
        engine.generate(_request(tiny_models / "sd15", prompt="fox <lora:sd15-kohja:1>"))
    with pytest.raises(RequestError, match="from -2.0 to 2.0"):
        engine.generate(_request(tiny_models / "sd15", loras=(LoraRef("sd15-kohya", 3.0),)))


def test_a_lora_by_path_and_from_an_a1111_root(tiny_models, lora_files, tmp_path):
    root = tmp_path / "webui"
    (root / "models" / "Lora").mkdir(parents=True)
    shutil.copy(lora_files["sd15", "peft"], root / "models" / "Lora" / "ink.safetensors")
    engine = Engine(EngineConfig(device="cpu", lora_dirs=(str(root),)))
    result = engine.generate(_request(tiny_models / "sd15", prompt="fox <lora:ink:0.5>"))
    assert result.loras[0].name == "ink"
    by_path = engine.generate(
        _request(tiny_models / "sd15", loras=(LoraRef(str(lora_files["sd15", "kohya"])),))
    )
    assert by_path.loras[0].name == "sd15-kohya"


def test_interop_files_load_or_are_refused_clearly(interop_dir, tiny_models):
    from studio.engine import loading

    pipe = loading.load_model(str(tiny_models / "sd15")).pipe
    library = LoraLibrary([inspect_lora(p) for p in sorted((interop_dir / "lora").glob("*.safetensors"))])
    state = LoraState()
    lokr = library.find("kohya_lycoris_lokr__smart_falcon_4_lokr")
    assert (lokr.family, lokr.format, lokr.problem) == ("sd15", "lycoris", None)
    disney = library.find("cloneofsimo_lora_diffusion__lora_disney")
    assert (disney.family, disney.format) == ("sd15", "cloneofsimo")
    with pytest.raises(RequestError, match="early lora_diffusion format"):
        state.apply(pipe, [ActiveLora(disney, 1.0)], "sd15")
    # A real SD 1.5 LoKr does not fit the tiny model's shapes: refused with a sentence, nothing changed.
    with pytest.raises(RequestError, match="made for a different model"):
        state.apply(pipe, [ActiveLora(lokr, 1.0)], "sd15")
    assert state.loaded == {}


def test_metadata_keeps_the_tags_writes_hashes_and_reactivates_the_loras(tiny_models, own_loras, tmp_path):
    from studio.metadata.reader import read_image_settings, read_settings_text
    from studio.metadata.saving import save_result

    engine = Engine(EngineConfig(device="cpu"))
    result = engine.generate(
        _request(tiny_models / "sd15", prompt="fox <lora:sd15-kohya:0.7>", loras=(LoraRef("sd15-peft", 0.4),))
    )
    hashes = {r.name: r.hash10 for r in result.loras}
    path = save_result(result, tmp_path)[0]
    settings = read_image_settings(path)
    text = settings.raw["parameters"]
    assert text.startswith("fox <lora:sd15-kohya:0.7>\n")
    # The request's list first, then the prompt's tags.
    assert f'Lora hashes: "sd15-peft: {hashes["sd15-peft"]}, sd15-kohya: {hashes["sd15-kohya"]}"' in text
    # Read as A1111 text (another tool's image): the LoRAs come back from the library by hash.
    a1111 = read_settings_text(text.replace("sd15-kohya:", "renamed-alias:"))
    assert a1111.source == "a1111"
    assert [(r.name, r.weight) for r in a1111.request.loras] == [("sd15-peft", 1.0), ("sd15-kohya", 0.7)]
    assert "<lora:sd15-kohya:0.7>" in a1111.request.prompt  # the alias in the tag follows the library
    # A LoRA the library does not have is reported, not silently dropped.
    missing = read_settings_text(
        'castle <lora:gone:1>\nSteps: 2, Sampler: Euler, Seed: 1, Size: 64x64, Lora hashes: "gone: 0123456789ab"'
    )
    assert missing.request.loras == ()
    assert any("LoRA 'gone', hash 0123456789ab" in item for item in missing.unmapped)


def test_fuse_unfuse_rounds_leave_the_base_weights_bit_exact(tiny_models, lora_files):
    import torch

    from studio.engine import loading

    pipe = loading.load_model(str(tiny_models / "sd15")).pipe
    before = {k: v.clone() for k, v in pipe.unet.state_dict().items()}
    entry = inspect_lora(lora_files["sd15", "kohya"])
    state = LoraState()
    fused = []
    for weight in (0.8, 0.8, 0.3, 0.3, -1.0, -1.0):
        state.apply(pipe, [ActiveLora(entry, weight)], "sd15")
        fused.append(state.fused)
    assert fused == [False, True] * 3
    state.clear(pipe)
    after = pipe.unet.state_dict()
    assert after.keys() == before.keys()  # the peft wrapper layers are gone too
    assert all(torch.equal(before[k], after[k]) for k in before)
