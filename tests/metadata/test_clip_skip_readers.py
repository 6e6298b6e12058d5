"""Clip skip read from other tools into the request's ``clip_skip``: ComfyUI's CLIPSetLastLayer, RuinedFooocus's
``clip_skip`` and Civitai's ``clipSkip``; a value that is no clip skip stays a note."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_dialects import RUINED, civitai_graph, graph, save_png  # noqa: E402

from studio.metadata.reader import read_image_settings  # noqa: E402


def _with_last_layer(layer, encoders=("6", "7")) -> dict:
    data = graph()
    data["11"] = {"class_type": "CLIPSetLastLayer", "inputs": {"stop_at_clip_layer": layer, "clip": ["4", 1]}}
    for node in encoders:
        data[node]["inputs"]["clip"] = ["11", 0]
    return data


@pytest.mark.parametrize(("layer", "expected"), [(-2, 2), (-3, 3), (-1, 1)])
def test_comfyui_clip_set_last_layer_is_the_clip_skip(tmp_path, layer, expected):
    path = save_png(tmp_path / "comfy.png", {"prompt": json.dumps(_with_last_layer(layer))})
    settings = read_image_settings(path)
    assert settings.source == "comfyui"
    assert settings.request.clip_skip == expected
    assert not any("Clip skip" in note for note in settings.unmapped)


def test_comfyui_without_the_node_keeps_the_last_layer(tmp_path):
    path = save_png(tmp_path / "comfy.png", {"prompt": json.dumps(graph())})
    assert read_image_settings(path).request.clip_skip == 1


def test_comfyui_a_different_clip_skip_on_the_negative_prompt_is_a_note(tmp_path):
    path = save_png(tmp_path / "comfy.png", {"prompt": json.dumps(_with_last_layer(-2, encoders=("7",)))})
    settings = read_image_settings(path)
    assert settings.request.clip_skip == 1  # the positive prompt's encoder, as one clip skip serves both
    assert "negative prompt Clip skip: 2 (the studio uses 1)" in settings.unmapped


def test_civitai_the_graphs_clip_skip_wins_over_extra_metadata(tmp_path):
    data = civitai_graph(clipSkip=3)
    data["11"] = {"class_type": "CLIPSetLastLayer", "inputs": {"stop_at_clip_layer": -2, "clip": ["10", 1]}}
    data["6"]["inputs"]["clip"] = data["7"]["inputs"]["clip"] = ["11", 0]
    path = save_png(tmp_path / "civitai.png", {"prompt": json.dumps(data)})
    assert read_image_settings(path).request.clip_skip == 2  # what ran, not what the page said


@pytest.mark.parametrize(("value", "expected"), [(2, 2), ("3", 3), (1, 1)])
def test_ruined_fooocus_clip_skip(tmp_path, value, expected):
    path = save_png(tmp_path / "rf.png", {"parameters": json.dumps({**RUINED, "clip_skip": value})})
    settings = read_image_settings(path)
    assert settings.source == "ruinedfooocus" and settings.request.clip_skip == expected


@pytest.mark.parametrize("value", ["two", 0, True])
def test_a_clip_skip_that_is_no_number_stays_a_note(tmp_path, value):
    path = save_png(tmp_path / "rf.png", {"parameters": json.dumps({**RUINED, "clip_skip": value})})
    settings = read_image_settings(path)
    assert settings.request.clip_skip == 1
    assert f"Clip skip: {value} (not a usable value)" in settings.unmapped
