"""ControlNets: references and families, loading, and generation through the engine on the tiny models."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio.engine import Engine, loading
from studio.engine import controlnet as controlnet_module
from studio.engine.config import EngineConfig
from studio.errors import ModelError, RequestError
from studio.metadata.infotext import format_infotext, infotext_to_request, parse_infotext
from studio.models.controlnets import (
    RECOMMENDED_CONTROLNETS,
    family_of_config,
    recommended_for,
    reference_config,
    resolve_controlnet,
)
from studio.request import ControlInput, GenerationRequest, HiresSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(EngineConfig(torch_threads=2))


@pytest.fixture(scope="module")
def sketch(tmp_path_factory):
    path = tmp_path_factory.mktemp("control") / "sketch.png"
    image = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(image).ellipse((10, 10, 54, 54), outline="black", width=4)
    image.save(path)
    return path


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("control") / "photo.png"
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[:, 32:] = 230
    pixels[20:40, :] = (200, 40, 40)
    Image.fromarray(pixels).save(path)
    return path


def _request(tiny_models, family="sd15", **changes) -> GenerationRequest:
    size = 64 if family == "sd15" else 256
    return GenerationRequest(
        model=str(tiny_models / family),
        prompt="a red fox",
        seed=7,
        steps=2,
        sampler="Euler",
        width=size,
        height=size,
    ).with_changes(**changes)


def _net(tiny_controlnets, family):
    return str(tiny_controlnets / f"controlnet-{family}")


def _pixels(image):
    return np.asarray(image, dtype=np.int16)


# --- references and families -------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_family_is_read_from_the_folder_config(tiny_controlnets, family):
    ref = resolve_controlnet(_net(tiny_controlnets, family))
    assert ref.family == family and ref.name == f"controlnet-{family}"


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_single_file_family_from_tensors_and_loading_with_its_sidecar(tiny_controlnets, tmp_path, family):
    folder = tiny_controlnets / f"controlnet-{family}"
    single = tmp_path / f"tiny_{family}.safetensors"
    shutil.copy(folder / "diffusion_pytorch_model.safetensors", single)
    ref = resolve_controlnet(str(single))
    assert ref.family == family and ref.name == f"tiny_{family}"
    sidecar = tmp_path / f"tiny_{family}.config"
    sidecar.mkdir()
    shutil.copy(folder / "config.json", sidecar / "config.json")
    from_file = controlnet_module.load_controlnet(ref, device="cpu", dtype=None)
    from_folder = controlnet_module.load_controlnet(resolve_controlnet(str(folder)), device="cpu", dtype=None)
    state, expected = from_file.state_dict(), from_folder.state_dict()
    assert state.keys() == expected.keys()
    assert all((state[k] == expected[k]).all() for k in expected)


def test_a_downloaded_hub_controlnet_resolves_and_loads_its_fp16_weights(tiny_controlnets, studio_home):
    from safetensors.torch import load_file, save_file

    from studio.models.download import controlnet_files
    from studio.models.model_ref import downloaded_folder

    repo_files = [
        ".gitattributes",
        "README.md",
        "config.json",
        "diffusion_pytorch_model.bin",
        "diffusion_pytorch_model.fp16.bin",
        "diffusion_pytorch_model.fp16.safetensors",
        "diffusion_pytorch_model.safetensors",
        "diffusion_pytorch_model_V2.safetensors",
        "images/input.png",
    ]
    assert controlnet_files(repo_files) == ["config.json", "diffusion_pytorch_model.fp16.safetensors"]
    repo_id = "lllyasviel/control_v11p_sd15_scribble"
    folder = downloaded_folder(repo_id)
    folder.mkdir(parents=True)
    source = tiny_controlnets / "controlnet-sd15"
    shutil.copy(source / "config.json", folder / "config.json")
    state = load_file(source / "diffusion_pytorch_model.safetensors")
    save_file({k: v.half() for k, v in state.items()}, folder / "diffusion_pytorch_model.fp16.safetensors")
    ref = resolve_controlnet(repo_id)
    assert (ref.path, ref.family, ref.name) == (folder, "sd15", "control_v11p_sd15_scribble")
    model = controlnet_module.load_controlnet(ref, device="cpu", dtype=None)
    assert sum(p.numel() for p in model.parameters()) == sum(t.numel() for t in state.values())


def test_reference_configs_are_of_their_family():
    for family in ("sd15", "sdxl"):
        config = json.loads((reference_config(family) / "config.json").read_text())
        assert family_of_config(config) == family
    assert family_of_config({"cross_attention_dim": 768}) == "sd15"
    with pytest.raises(ModelError, match="2.x"):
        family_of_config({"cross_attention_dim": 1024})


def test_missing_and_wrong_controlnets_are_clear_errors(tiny_models, tmp_path):
    with pytest.raises(ModelError, match="no ControlNet file or folder"):
        resolve_controlnet(str(tmp_path / "nope.safetensors"))
    with pytest.raises(ModelError, match="not downloaded"):
        resolve_controlnet("lllyasviel/control_v11p_sd15_canny")
    with pytest.raises(ModelError, match="full image model"):
        resolve_controlnet(str(tiny_models / "sd15"))
    checkpoint = next((tiny_models / "sd15" / "unet").glob("*.safetensors"))
    with pytest.raises(ModelError, match="not a ControlNet"):
        resolve_controlnet(str(checkpoint))
    pickle = tmp_path / "control.pth"
    pickle.write_bytes(b"\x80\x04")
    with pytest.raises(ModelError, match="safetensors"):
        resolve_controlnet(str(pickle))


def test_recommended_list_covers_both_families():
    assert {r.family for r in RECOMMENDED_CONTROLNETS} == {"sd15", "sdxl"}
    assert recommended_for("canny", "sd15").repo_id == "lllyasviel/control_v11p_sd15_canny"
    assert recommended_for("openpose", "sdxl-inpaint").repo_id == "thibaud/controlnet-openpose-sdxl-1.0"
    for kind in ("scribble", "lineart", "canny", "openpose", "depth", "softedge"):
        assert recommended_for(kind, "sd15") is not None


# --- the engine --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model_family, net_family", [("sd15", "sdxl"), ("sdxl", "sd15")])
def test_wrong_family_is_refused_before_anything_loads(
    tiny_models, tiny_controlnets, sketch, monkeypatch, model_family, net_family
):
    def no_loading(*args, **kwargs):
        raise AssertionError("nothing may load before the family check")

    monkeypatch.setattr(loading, "load_model", no_loading)
    monkeypatch.setattr(controlnet_module, "load_controlnet", no_loading)
    control = ControlInput("scribble", str(sketch), _net(tiny_controlnets, net_family))
    with pytest.raises(RequestError, match="ControlNet 'controlnet-.*' is for") as error:
        Engine().generate(_request(tiny_models, model_family, controls=(control,)))
    assert ("SDXL" in str(error.value)) and ("SD 1.x" in str(error.value))


def test_a_control_without_a_controlnet_is_a_request_error(engine, tiny_models, sketch):
    with pytest.raises(RequestError, match="has no ControlNet model"):
        engine.generate(_request(tiny_models, controls=(ControlInput("scribble", str(sketch)),)))


def test_multi_controlnet_sd15_steers_shares_weights_and_caches(
    engine, tiny_models, tiny_controlnets, sketch, photo
):
    net = _net(tiny_controlnets, "sd15")
    scribble = ControlInput("scribble", str(sketch), net, source="canvas")
    edges = ControlInput("canny", str(photo), net, scale=0.8)
    plain = engine.generate(_request(tiny_models)).images[0]
    previews = []
    both = engine.generate(_request(tiny_models, controls=(scribble, edges)), on_step=previews.append)
    assert [(p.step, p.total) for p in previews] == [(1, 2), (2, 2)]
    assert both.images[0].size == (64, 64) and both.notices == []
    one = engine.generate(_request(tiny_models, controls=(scribble,))).images[0]
    assert len({plain.tobytes(), both.images[0].tobytes(), one.tobytes()}) == 3
    # Weight 0 switches the ControlNet off: the picture is the plain one (up to float rounding).
    off = engine.generate(_request(tiny_models, controls=(dataclasses.replace(scribble, scale=0.0),)))
    assert np.abs(_pixels(off.images[0]) - _pixels(plain)).max() <= 2
    # One ControlNet folder, loaded once however often it is used; the pipeline shares the base weights.
    assert len(engine._controlnets) == 1
    assert all(pipe.unet is engine._loaded.pipe.unet for pipe in engine._variants._pipes.values())


def test_guidance_end_changes_the_result_and_callbacks_still_come_each_step(
    engine, tiny_models, tiny_controlnets, sketch
):
    net = _net(tiny_controlnets, "sd15")
    full = engine.generate(
        _request(tiny_models, steps=4, controls=(ControlInput("scribble", str(sketch), net),))
    )
    previews = []
    half = engine.generate(
        _request(tiny_models, steps=4, controls=(ControlInput("scribble", str(sketch), net, end=0.5),)),
        on_step=previews.append,
    )
    assert [p.step for p in previews] == [1, 2, 3, 4] and previews[-1].total == 4
    assert full.images[0].tobytes() != half.images[0].tobytes()


def test_multi_controlnet_sdxl(engine, tiny_models, tiny_controlnets, sketch, photo):
    net = _net(tiny_controlnets, "sdxl")
    controls = (ControlInput("scribble", str(sketch), net), ControlInput("canny", str(photo), net, start=0.5))
    result = engine.generate(_request(tiny_models, "sdxl", controls=controls))
    plain = engine.generate(_request(tiny_models, "sdxl"))
    assert result.images[0].size == (256, 256)
    assert sum("resized to 256×256" in notice for notice in result.notices) == 2
    assert result.images[0].tobytes() != plain.images[0].tobytes()


def test_img2img_with_controlnet(engine, tiny_models, tiny_controlnets, sketch, photo):
    control = ControlInput("scribble", str(sketch), _net(tiny_controlnets, "sd15"))
    previews = []
    guided = engine.generate(
        _request(tiny_models, init_image=str(photo), strength=0.5, steps=4, controls=(control,)),
        on_step=previews.append,
    )
    unguided = engine.generate(_request(tiny_models, init_image=str(photo), strength=0.5, steps=4))
    assert [p.total for p in previews] == [2, 2]  # strength 0.5 of 4 steps
    assert guided.images[0].size == (64, 64)
    assert guided.images[0].tobytes() != unguided.images[0].tobytes()


def test_the_refine_pass_is_guided_too(engine, tiny_models, tiny_controlnets, sketch):
    control = ControlInput("scribble", str(sketch), _net(tiny_controlnets, "sd15"))
    hires = HiresSettings(scale=1.5, strength=0.5, steps=4)
    previews = []
    result = engine.generate(_request(tiny_models, hires=hires, controls=(control,)), on_step=previews.append)
    assert result.images[0].size == (96, 96)
    assert [(p.pass_name, p.total) for p in previews] == [("base", 4)] * 2 + [("refine", 4)] * 2
    kinds = {type(pipe).__name__ for pipe in engine._variants._pipes.values()}
    assert "StableDiffusionControlNetImg2ImgPipeline" in kinds


def test_cancel_stops_a_controlnet_run(engine, tiny_models, tiny_controlnets, sketch):
    cancel = threading.Event()
    control = ControlInput("scribble", str(sketch), _net(tiny_controlnets, "sd15"))
    result = engine.generate(
        _request(tiny_models, steps=4, controls=(control,)), on_step=lambda p: cancel.set(), cancel=cancel
    )
    assert result.cancelled and result.images == []


# --- metadata ----------------------------------------------------------------------------------------------


def test_controlnet_and_mask_settings_round_trip_through_a1111_text(tmp_path):
    request = GenerationRequest(
        model="model",
        prompt="a fox",
        seed=3,
        init_image=str(tmp_path / "init.png"),
        mask=str(tmp_path / "mask.png"),
        mask_blur=6,
        inpaint_area="masked",
        inpaint_padding=48,
        controls=(
            ControlInput(
                "canny",
                str(tmp_path / "photo.png"),
                "/models/control_v11p_sd15_canny.safetensors",
                scale=0.8,
                start=0.1,
                end=0.9,
                params={"low_threshold": 50, "high_threshold": 150},
            ),
            ControlInput(
                "scribble", str(tmp_path / "s.png"), "xinsir/controlnet-scribble-sdxl-1.0", source="canvas"
            ),
        ),
    )
    text = format_infotext(request)
    params = parse_infotext(text)
    assert params["ControlNet 0"] == (
        "Module: canny, Model: control_v11p_sd15_canny, Weight: 0.8, Guidance Start: 0.1, Guidance End: 0.9, "
        "Threshold A: 50, Threshold B: 150"
    )
    assert (params["Mask blur"], params["Inpaint area"], params["Masked area padding"]) == (
        "6",
        "Only masked",
        "48",
    )
    restored, unmapped = infotext_to_request(params)
    first, second = restored.controls
    assert (first.type, first.model, first.scale, first.start, first.end) == (
        "canny",
        "control_v11p_sd15_canny",
        0.8,
        0.1,
        0.9,
    )
    assert dict(first.params) == {"low_threshold": 50, "high_threshold": 150}
    assert (second.type, second.model, second.preprocessor) == (
        "scribble",
        "controlnet-scribble-sdxl-1.0",
        "invert",
    )
    assert (restored.mask_blur, restored.inpaint_area, restored.inpaint_padding) == (6, "masked", 48)
    assert sum("control image is not stored" in item for item in unmapped) == 2
    assert any("mask is not stored" in item for item in unmapped)
    assert not any(key.startswith("ControlNet") for key in restored.extras)


def test_a1111_controlnet_text_is_read(tmp_path):
    text = (
        "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: m, "
        'ControlNet 0: "Module: openpose_full, Model: control_v11p_sd15_openpose [cab727d4], Weight: 1, '
        "Resize Mode: Crop and Resize, Low Vram: False, Processor Res: 512, Guidance Start: 0, Guidance End: 1, "
        'Pixel Perfect: False, Control Mode: Balanced"'
    )
    request, unmapped = infotext_to_request(parse_infotext(text))
    (control,) = request.controls
    assert (control.type, control.model, control.preprocessor, control.image) == (
        "openpose",
        "control_v11p_sd15_openpose",
        "openpose_detect",
        "",
    )
    assert any(item.startswith("ControlNet 0:") for item in unmapped)


def test_only_real_controlnets_are_recognised(tiny_models, tiny_controlnets, tiny_single_file, tmp_path):
    from studio.engine.tiny_addons import write_tiny_lora
    from studio.models.controlnets import is_controlnet

    assert is_controlnet(tiny_controlnets / "controlnet-sd15")
    assert is_controlnet(tiny_controlnets / "controlnet-sdxl")
    assert not is_controlnet(tiny_models / "sd15")  # a pipeline folder
    assert not is_controlnet(tiny_single_file)  # an A1111 checkpoint
    assert not is_controlnet(write_tiny_lora(tmp_path / "style.safetensors", "sd15"))
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00")
    assert not is_controlnet(broken)
