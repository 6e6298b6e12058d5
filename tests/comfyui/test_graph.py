"""A request as a ComfyUI graph: the prompt syntax, samplers, passes, LoRAs and ControlNets (no server)."""

from __future__ import annotations

import pytest

from studio.backend.comfyui.graph import ControlNode, GraphInputs, build_graph, img2img_steps, total_steps
from studio.backend.comfyui.prompt_text import WEIGHT_NOTE, comfy_texts
from studio.backend.comfyui.samplers import A1111_TO_COMFY, comfy_sampler, server_samplers
from studio.errors import RequestError
from studio.models.samplers import _RECIPES
from studio.prompt.a1111_syntax import parse_prompt
from studio.request import GenerationRequest, HiresSettings


def _inputs(**changes) -> GraphInputs:
    base = {"checkpoint": "sd15.safetensors", "prompts": ("a cat",), "negatives": ("",), "sampler": "euler",
            "scheduler": "normal"}  # fmt: skip
    return GraphInputs(**{**base, **changes})


def _of(graph, class_type: str) -> list[dict]:
    return [node["inputs"] for node in graph.nodes.values() if node["class_type"] == class_type]


def _node(graph, link) -> dict:
    return graph.nodes[link[0]]


# --- the prompt ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "comfy"),
    [
        ("a cat", "a cat"),
        ("a (red:1.3) cat", "a (red:1.3) cat"),
        ("((red)) cat", "(red:1.21) cat"),
        ("[blue] sky", "(blue:0.9091) sky"),
        (r"a \(literal\) bracket", r"a \(literal\) bracket"),
        ("plain [brackets]: kept", "plain (brackets:0.9091): kept"),
        ("<lora:ink:0.7> a cat", " a cat"),
    ],
)
def test_a1111_weights_read_the_same_in_comfyui(typed, comfy):
    texts, _notes = comfy_texts(parse_prompt(typed))
    assert texts == [comfy]


def test_break_makes_one_text_per_chunk_and_weights_get_a_note():
    texts, notes = comfy_texts(parse_prompt("a (red:1.2) cat BREAK blue sky"))
    assert texts == ["a (red:1.2) cat", "blue sky"]
    assert notes == [WEIGHT_NOTE]
    assert comfy_texts(parse_prompt("a cat"))[1] == []  # nothing to say about an unweighted prompt


def test_break_chunks_are_joined_with_conditioning_concat():
    request = GenerationRequest(model="m", steps=4, width=64, height=64)
    graph = build_graph(request, _inputs(prompts=("a", "b", "c")), seed=1)
    assert [i["text"] for i in _of(graph, "CLIPTextEncode")] == ["a", "b", "c", ""]
    concats = _of(graph, "ConditioningConcat")
    assert len(concats) == 2
    positive = _of(graph, "KSampler")[0]["positive"]
    assert _node(graph, positive)["class_type"] == "ConditioningConcat"


# --- samplers --------------------------------------------------------------------------------------------------


def test_every_mapped_sampler_is_an_a1111_name_the_studio_knows():
    assert set(A1111_TO_COMFY) <= set(_RECIPES)
    assert comfy_sampler("DPM++ 2M Karras") == ("dpmpp_2m", "karras")
    assert comfy_sampler("Euler a") == ("euler_ancestral", "normal")
    assert comfy_sampler("DDIM") == ("ddim", "ddim_uniform")


def test_a_sampler_without_a_counterpart_is_refused_with_the_choices():
    with pytest.raises(RequestError, match="PLMS.*no counterpart.*Euler a"):
        comfy_sampler("PLMS")
    with pytest.raises(RequestError, match="no 'dpmpp_sde' sampler"):
        comfy_sampler("DPM++ SDE", available=("euler",))
    assert server_samplers(("euler", "euler_ancestral")) == ("Euler", "Euler a")


# --- the passes ------------------------------------------------------------------------------------------------


def test_txt2img_graph_carries_every_setting():
    request = GenerationRequest(model="m", steps=7, cfg_scale=5.5, width=64, height=96)
    graph = build_graph(request, _inputs(), seed=42)
    sampler = _of(graph, "KSampler")[0]
    assert (sampler["seed"], sampler["steps"], sampler["cfg"], sampler["denoise"]) == (42, 7, 5.5, 1.0)
    assert (sampler["sampler_name"], sampler["scheduler"]) == ("euler", "normal")
    assert _of(graph, "EmptyLatentImage") == [{"width": 64, "height": 96, "batch_size": 1}]
    assert _of(graph, "CheckpointLoaderSimple") == [{"ckpt_name": "sd15.safetensors"}]
    assert graph.nodes[graph.output]["class_type"] == "SaveImage"
    assert total_steps(request) == 7


def test_img2img_runs_strength_times_steps_as_a1111_does():
    request = GenerationRequest(model="m", steps=10, strength=0.55, init_image="/x.png", width=64, height=64)
    graph = build_graph(request, _inputs(init_image="up.png"), seed=1)
    sampler = _of(graph, "KSampler")[0]
    assert (sampler["steps"], sampler["denoise"]) == (5, 0.55)
    assert _node(graph, sampler["latent_image"])["class_type"] == "VAEEncode"
    assert _of(graph, "LoadImage") == [{"image": "up.png"}]
    assert total_steps(request) == img2img_steps(10, 0.55) == 5


def test_inpainting_masks_the_latent_and_pastes_the_unmasked_part_back():
    request = GenerationRequest(model="m", steps=4, init_image="/x.png", mask="/m.png", width=64, height=64)
    graph = build_graph(request, _inputs(init_image="up.png", mask="mask.png"), seed=1)
    assert _of(graph, "LoadImageMask") == [{"image": "mask.png", "channel": "red"}]
    sampler = _of(graph, "KSampler")[0]
    assert _node(graph, sampler["latent_image"])["class_type"] == "SetLatentNoiseMask"
    saved = graph.nodes[graph.output]["inputs"]["images"]
    composite = _node(graph, saved)
    assert composite["class_type"] == "ImageCompositeMasked"
    assert _node(graph, composite["inputs"]["destination"])["inputs"] == {"image": "up.png"}


def test_hires_is_a_second_pass_over_the_lanczos_upscale():
    hires = HiresSettings(scale=1.5, strength=0.5, steps=6)
    request = GenerationRequest(model="m", steps=4, width=64, height=64, hires=hires)
    graph = build_graph(request, _inputs(), seed=9)
    scale = _of(graph, "ImageScale")[0]
    assert (scale["upscale_method"], scale["width"], scale["height"]) == ("lanczos", 96, 96)
    refine = graph.nodes[graph.refine_sampler]["inputs"]
    assert (refine["steps"], refine["denoise"], refine["seed"]) == (3, 0.5, 9)
    assert _node(graph, graph.nodes[graph.output]["inputs"]["images"])["inputs"]["samples"] == [
        graph.refine_sampler,
        0,
    ]
    assert total_steps(request) == 7


def test_loras_chain_model_and_clip_in_order():
    graph = build_graph(
        GenerationRequest(model="m"), _inputs(loras=(("a.safetensors", 0.8), ("b.safetensors", -0.5))), 1
    )
    first, second = _of(graph, "LoraLoader")
    assert (first["lora_name"], first["strength_model"], first["strength_clip"]) == (
        "a.safetensors",
        0.8,
        0.8,
    )
    assert second["model"][0] != first["model"][0] and _node(graph, second["model"])["inputs"] == first
    sampler = _of(graph, "KSampler")[0]
    assert _node(graph, sampler["model"])["inputs"] == second
    assert _node(graph, _of(graph, "CLIPTextEncode")[0]["clip"])["inputs"] == second


def test_every_controlnet_is_applied_with_its_strength_and_range():
    controls = (
        ControlNode("scribble.safetensors", "c1.png", 0.8, 0.1, 0.9),
        ControlNode("pose.pth", "c2.png", 1.2, 0, 1),
    )
    graph = build_graph(GenerationRequest(model="m"), _inputs(controls=controls), 1)
    applied = _of(graph, "ControlNetApplyAdvanced")
    assert [(a["strength"], a["start_percent"], a["end_percent"]) for a in applied] == [
        (0.8, 0.1, 0.9),
        (1.2, 0, 1),
    ]
    assert [i["control_net_name"] for i in _of(graph, "ControlNetLoader")] == [
        "scribble.safetensors",
        "pose.pth",
    ]
    assert _node(graph, applied[1]["positive"])["inputs"] == applied[0]  # chained, as A1111 stacks them
    assert _node(graph, _of(graph, "KSampler")[0]["positive"])["inputs"] == applied[1]
