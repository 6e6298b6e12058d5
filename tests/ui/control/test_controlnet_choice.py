"""A control input starts with an installed ControlNet of the model's family and the input's type when there is
one, not with a hub id that needs a Download; the list shows names, never cut-off ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from window_fixture import studio_on_fake_engine

from studio import paths
from studio.models.controlnets import control_type_of_name, controlnet_choices, preferred_controlnet

SD15 = {"_class_name": "ControlNetModel", "cross_attention_dim": 768}
SDXL = {"_class_name": "ControlNetModel", "cross_attention_dim": 2048, "addition_embed_type": "text_time"}


def _controlnet(folder: Path, config: dict) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "diffusion_pytorch_model.safetensors").write_bytes(b"weights")
    return folder


def test_the_type_is_read_from_the_name():
    assert control_type_of_name("control_v11p_sd15_scribble") == "scribble"
    assert control_type_of_name("controlnet-canny-sdxl-1.0") == "canny"
    assert control_type_of_name("control_v11p_sd15_lineart") == "lineart"
    assert control_type_of_name("thibaud--controlnet-openpose-sdxl-1.0") == "openpose"
    assert control_type_of_name("controlnet-sd15") is None  # the demo's says nothing


def test_installed_ones_of_the_family_and_type_come_first(tmp_path):
    folder = tmp_path / "controlnet"
    scribble15 = _controlnet(folder / "my_sd15_scribble", SD15)
    scribble_xl = _controlnet(folder / "anime-scribble-xl", SDXL)
    canny15 = _controlnet(folder / "control_sd15_canny_v2", SD15)
    demo = _controlnet(folder / "controlnet-sd15", SD15)
    folders = [folder]
    assert preferred_controlnet("scribble", "sd15", folders) == str(scribble15)
    assert preferred_controlnet("scribble", "sdxl", folders) == str(scribble_xl)
    assert preferred_controlnet("canny", "sd15-inpaint", folders) == str(canny15)
    # No installed one names the type: an installed one of the family that names none beats a download.
    assert preferred_controlnet("depth", "sd15", folders) == str(demo)
    choices = controlnet_choices("depth", "sd15", folders)
    downloads = [c for c in choices if not c.installed]
    assert downloads and all("/" not in c.label for c in choices)
    assert choices.index(downloads[0]) < choices.index(next(c for c in choices if c.reference == str(canny15)))
    # Nothing installed: the recommended download of the family.
    assert preferred_controlnet("depth", "sdxl", []) == "diffusers/controlnet-depth-sdxl-1.0"


@pytest.fixture
def studio(qtbot, qapp):
    installed = _controlnet(paths.models_dir() / "controlnet" / "control_v11p_sd15_scribble", SD15)
    _controlnet(paths.models_dir() / "controlnet" / "control_sdxl_scribble", SDXL)
    for made in studio_on_fake_engine(qtbot, qapp):
        made.installed = installed
        yield made


def test_a_new_control_row_starts_with_the_installed_controlnet_by_name(qtbot, studio):
    window = studio.window
    panel = window.canvases.control_panel
    window.side_tabs.setCurrentWidget(panel)
    row = panel.add_control("scribble", "canvas")
    qtbot.waitUntil(row.isVisible)
    assert row.model_reference() == str(studio.installed)
    assert panel.controls()[0].model == str(studio.installed)
    assert not row.download.isVisible()  # nothing to download
    text = row.model.currentText()
    assert text.startswith("control_v11p_sd15_scribble") and "/" not in text
    assert str(studio.installed) in row.model.itemData(row.model.currentIndex(), 3)  # the path in the tooltip
    # A type with no installed ControlNet: the recommended download, named, with its Download button.
    row.type.setCurrentText("depth")
    assert row.model_reference() == "lllyasviel/control_v11f1p_sd15_depth"
    assert row.model.currentText() == "Depth · SD 1.x (lllyasviel)" and row.download.isVisible()


def test_a_picked_controlnet_follows_the_model_family_but_the_artists_choice_stays(qtbot, studio):
    from types import SimpleNamespace

    window, state = studio.window, studio.state
    panel = window.canvases.control_panel
    xl = SimpleNamespace(name="big", reference="/models/big", family="sdxl")
    state.models._entries.append(xl)  # as a scan would list it
    auto = panel.add_control("scribble", "canvas")
    chosen = panel.add_control("scribble", "canvas")
    index = chosen.model.findData(str(studio.installed))
    chosen.model.setCurrentIndex(index)
    chosen.model.activated.emit(index)  # the artist picks it (the one shown, here)
    state.update(model="/models/big")
    xl_scribble = str(paths.models_dir() / "controlnet" / "control_sdxl_scribble")
    assert auto.model_reference() == xl_scribble
    assert chosen.model_reference() == str(studio.installed)
    assert [c.model for c in state.request.controls] == [xl_scribble, str(studio.installed)]
