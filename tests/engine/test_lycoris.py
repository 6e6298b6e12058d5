"""LyCORIS files (LoCon, LoHa, LoKr, full diffs; linear and conv layers) change the tiny models exactly as their
math says: every adapted weight equals base + weight × a change the test computes on its own (element-wise
sums and Kronecker products written out with einsum), re-weighting needs no reload, and removal is bit-exact.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from studio.engine.config import EngineConfig
from studio.engine.engine import Engine
from studio.engine.lora_loader import ActiveLora, LoraState, adapter_name
from studio.errors import RequestError
from studio.models.lora_file import inspect_lora, lycoris_algorithms, read_header
from studio.request import GenerationRequest, LoraRef

pytestmark = pytest.mark.slow

LINEAR = ("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q")
CONV = ("unet", "down_blocks.0.resnets.0.conv1")
TEXT = ("text_encoder", "encoder.layers.0.self_attn.q_proj")  # transformers 5: no "text_model." level
KOHYA = {"unet": "lora_unet_", "text_encoder": "lora_te_", "text_encoder_2": "lora_te2_"}


def _module(pipe, target):
    component, path = target
    module = getattr(pipe, component).get_submodule(path)
    return module.get_base_layer() if hasattr(module, "get_base_layer") else module


def _randn(generator, *shape):
    import torch

    return torch.randn(*shape, generator=generator) * 0.3


def _factors(kind: str, shape, generator, rank: int = 2):
    """One layer's tensors in LyCORIS naming, and the change they mean, computed here independently."""
    import torch

    out, inp = shape[0], shape[1]
    kernel = tuple(shape[2:])
    k = int(np.prod(kernel)) if kernel else 1
    alpha = 1.0
    scale = alpha / rank
    if kind == "locon":
        down = _randn(generator, rank, inp, *kernel)
        up = _randn(generator, out, rank, *((1, 1) if kernel else ()))
        change = torch.einsum("or,ri->oi", up.reshape(out, rank), down.reshape(rank, inp * k)) * scale
        tensors = {"lora_down.weight": down, "lora_up.weight": up}
    elif kind == "locon-tucker":  # 1x1 down, k×k mid, 1x1 up: the conv chain collapsed by hand
        down = _randn(generator, rank, inp, 1, 1)
        mid = _randn(generator, rank, rank, *kernel)
        up = _randn(generator, out, rank, 1, 1)
        change = torch.einsum("or,rsxy,si->oixy", up[:, :, 0, 0], mid, down[:, :, 0, 0]) * scale
        tensors = {"lora_down.weight": down, "lora_mid.weight": mid, "lora_up.weight": up}
    elif kind == "loha":
        w1a, w1b = _randn(generator, out, rank), _randn(generator, rank, inp * k)
        w2a, w2b = _randn(generator, out, rank), _randn(generator, rank, inp * k)
        change = torch.einsum("or,ri->oi", w1a, w1b) * torch.einsum("or,ri->oi", w2a, w2b) * scale
        tensors = {"hada_w1_a": w1a, "hada_w1_b": w1b, "hada_w2_a": w2a, "hada_w2_b": w2b}
    elif kind == "lokr":  # w1 whole (2 × 2), w2 low-rank, carrying the kernel for a conv
        w1 = _randn(generator, 2, 2)
        w2a, w2b = _randn(generator, out // 2, rank), _randn(generator, rank, (inp // 2) * k)
        w2 = (w2a @ w2b).reshape(out // 2, inp // 2, k)
        change = torch.einsum("ab,cdk->acbdk", w1, w2).reshape(out, inp * k) * scale
        tensors = {"lokr_w1": w1, "lokr_w2_a": w2a, "lokr_w2_b": w2b}
    elif kind == "lokr-full":  # both factors whole: no rank, so scale 1 whatever the alpha says
        w1 = _randn(generator, 2, 2)
        w2 = _randn(generator, out // 2, inp // 2, *kernel)
        change = torch.einsum("ab,cdk->acbdk", w1, w2.reshape(out // 2, inp // 2, k)).reshape(out, inp * k)
        tensors = {"lokr_w1": w1, "lokr_w2": w2}
    else:  # full
        change = _randn(generator, out, inp * k)
        tensors = {"diff": change.reshape(shape)}
    if kind != "full":
        tensors["alpha"] = torch.tensor(alpha)
    return tensors, change.reshape(shape)


def write_lycoris(path: Path, pipe, kinds: dict, seed: int = 3, names=None) -> dict:
    """Write a LyCORIS file with one layer per ``kinds`` item (target -> kind); the expected change per target."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    state, expected = {}, {}
    for target, kind in kinds.items():
        shape = tuple(_module(pipe, target).weight.shape)
        tensors, change = _factors(kind, shape, generator)
        kohya_path = target[1] if target[1].startswith("text_model.") else "text_model." + target[1]
        kohya_path = target[1] if target[0] == "unet" else kohya_path  # as kohya names text-encoder layers
        key = (names or {}).get(target) or KOHYA[target[0]] + kohya_path.replace(".", "_")
        state.update({f"{key}.{suffix}": tensor.contiguous() for suffix, tensor in tensors.items()})
        expected[target] = change
    save_file(
        state, str(path), metadata={"ss_base_model_version": "sd_v1", "ss_network_module": "lycoris.kohya"}
    )
    return expected


@pytest.fixture(scope="module")
def sd15(tiny_models):
    from studio.engine import loading

    return loading.load_model(str(tiny_models / "sd15")).pipe


def _weights(pipe):
    return {
        (component, name): p.detach().clone()
        for component in ("unet", "text_encoder", "text_encoder_2")
        if getattr(pipe, component, None) is not None
        for name, p in getattr(pipe, component).named_parameters()
    }


def _check_effect(pipe, before, expected, weight):
    """Every adapted layer's output moved by exactly what its change alone gives (linear or conv of the input)."""
    import torch
    import torch.nn.functional as F

    generator = torch.Generator().manual_seed(0)
    for (component, path), change in expected.items():
        layer = getattr(pipe, component).get_submodule(path)  # the peft wrapper for a plain LoRA
        base = before[component, f"{path}.weight"]
        bias = _module(pipe, (component, path)).bias
        if base.ndim == 4:
            x = torch.randn(1, base.shape[1], 6, 6, generator=generator)
            pad = layer.padding if hasattr(layer, "padding") else _module(pipe, (component, path)).padding
            want, alone = F.conv2d(x, base, bias, padding=pad), F.conv2d(x, change, padding=pad)
        else:
            x = torch.randn(3, base.shape[1], generator=generator)
            want, alone = F.linear(x, base, bias), F.linear(x, change)
        with torch.no_grad():
            assert torch.allclose(layer(x) - want, weight * alone, atol=1e-4), (component, path)


def _check_applied(pipe, before, expected, weight):
    """Adapted weights are base + weight × change; every other weight is bit-identical."""
    import torch

    touched = {(c, f"{path}.weight") for c, path in expected}
    for (component, path), change in expected.items():
        got = _module(pipe, (component, path)).weight.detach()
        want = before[component, f"{path}.weight"] + weight * change
        assert torch.allclose(got, want, atol=1e-6), (component, path)
        assert not torch.equal(got, before[component, f"{path}.weight"])
    for key, value in _weights(pipe).items():
        if key in before and key not in touched:
            assert torch.equal(value, before[key]), key


@pytest.mark.parametrize(
    "kinds",
    [
        {LINEAR: "locon", CONV: "locon", TEXT: "locon"},
        {CONV: "locon-tucker", LINEAR: "full"},
        {LINEAR: "loha", CONV: "loha", TEXT: "loha"},
        {LINEAR: "lokr", CONV: "lokr", TEXT: "lokr-full"},
    ],
    ids=["locon", "locon-tucker+full", "loha", "lokr"],
)
def test_each_format_adds_exactly_its_own_change(sd15, tmp_path, kinds):
    import torch

    path = tmp_path / "style.safetensors"
    expected = write_lycoris(path, sd15, kinds)
    entry = inspect_lora(path)
    # A plain LoCon has kohya's own keys (lora_down/lora_up on conv layers too): diffusers loads it as a LoRA.
    plain = set(kinds.values()) == {"locon"}
    assert (entry.format, entry.family, entry.problem) == ("kohya" if plain else "lycoris", "sd15", None)
    before = _weights(sd15)
    state = LoraState()
    state.apply(sd15, [ActiveLora(entry, 0.7)], "sd15")
    _check_effect(sd15, before, expected, 0.7)
    if not plain:
        _check_applied(sd15, before, expected, 0.7)
    # A new weight: no file read, the same changes at the new weight.
    state.apply(sd15, [ActiveLora(entry, -1.5)], "sd15")
    _check_effect(sd15, before, expected, -1.5)
    if not plain:
        _check_applied(sd15, before, expected, -1.5)
    state.clear(sd15)
    assert all(torch.equal(before[k], v) for k, v in _weights(sd15).items())


def test_sdxl_ldm_names_and_second_text_encoder(tiny_models, tmp_path):
    import torch

    from studio.engine import loading

    pipe = loading.load_model(str(tiny_models / "sdxl")).pipe
    attn = ("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k")
    resnet = ("unet", "up_blocks.0.resnets.1.conv2")
    # CLIPTextModelWithProjection keeps its text_model level
    te2 = ("text_encoder_2", "text_model.encoder.layers.0.self_attn.k_proj")
    te1 = ("text_encoder", "encoder.layers.0.self_attn.v_proj")
    # kohya writes SDXL UNet layers with the original checkpoint's names: input_blocks_<n>_1_…, output_blocks_…
    names = {
        attn: "lora_unet_input_blocks_3_1_transformer_blocks_0_attn2_to_k",  # 1 layer per block: 1 + 1·2 + 0
        resnet: "lora_unet_output_blocks_1_0_out_layers_3",
        te1: "lora_te1_text_model_encoder_layers_0_self_attn_v_proj",
    }
    path = tmp_path / "xl-lokr.safetensors"
    expected = write_lycoris(
        path, pipe, {attn: "lokr", resnet: "loha", te2: "lokr", te1: "locon"}, names=names
    )
    entry = inspect_lora(path)
    assert (entry.format, entry.family) == ("lycoris", "sdxl")
    before = _weights(pipe)
    LoraState().apply(pipe, [ActiveLora(entry, 1.0)], "sdxl")
    for (component, module_path), change in expected.items():
        got = _module(pipe, (component, module_path)).weight.detach()
        assert torch.allclose(got, before[component, f"{module_path}.weight"] + change, atol=1e-6)


def test_a_file_for_another_model_or_with_other_algorithms_is_refused_whole(sd15, tiny_models, tmp_path):
    import torch
    from safetensors.torch import save_file

    from studio.engine import loading

    xl = loading.load_model(str(tiny_models / "sdxl")).pipe
    path = tmp_path / "xl.safetensors"
    write_lycoris(path, xl, {("unet", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"): "loha"})
    before = _weights(sd15)
    entry = replace(inspect_lora(path), family=None)  # past the family check: the shapes must say it
    with pytest.raises(RequestError, match="made for a different model"):
        LoraState().apply(sd15, [ActiveLora(entry, 1.0)], "sd15")
    assert all(torch.equal(before[k], v) for k, v in _weights(sd15).items())
    oft = tmp_path / "oft.safetensors"
    save_file({"lora_unet_conv_in.oft_diag": torch.zeros(4, 2, 2)}, str(oft))
    assert inspect_lora(oft).problem is not None and "OFT" in inspect_lora(oft).problem
    assert lycoris_algorithms(["a.hada_w1_a", "b.lokr_w1", "c.diff", "d.lora_mid.weight"]) == (
        "LoKr",
        "LoHa",
        "LoCon",
        "Full",
    )


def test_engine_applies_reweights_mixes_with_a_plain_lora_and_restores(tiny_models, tmp_path, sd15):
    import torch

    from studio.engine.tiny_addons import write_tiny_lora

    folder = tmp_path / "loras"
    folder.mkdir()
    write_lycoris(folder / "falcon-lokr.safetensors", sd15, {LINEAR: "lokr", CONV: "lokr", TEXT: "loha"})
    write_tiny_lora(folder / "plain.safetensors", "sd15")
    engine = Engine(EngineConfig(device="cpu", lora_dirs=(str(folder),)))
    request = GenerationRequest(
        model=str(tiny_models / "sd15"), prompt="a fox", width=64, height=64, steps=2, seed=7
    )
    plain = np.asarray(engine.generate(request).images[0])
    pipe = engine._loaded.pipe
    before = _weights(pipe)
    styled = engine.generate(request.with_changes(prompt="a fox <lora:falcon-lokr:0.8>"))
    assert not np.array_equal(plain, np.asarray(styled.images[0]))
    assert [(r.name, r.weight) for r in styled.loras] == [("falcon-lokr", 0.8)]
    reads = []
    monkey = engine._loras.lycoris.load
    engine._loras.lycoris.load = lambda *a, **k: reads.append(a) or monkey(*a, **k)  # type: ignore[method-assign]
    mixed = request.with_changes(loras=(LoraRef("falcon-lokr", 0.3), LoraRef("plain", 0.5)))
    first = np.asarray(engine.generate(mixed).images[0])
    second = np.asarray(engine.generate(mixed).images[0])  # same set twice: the plain LoRA is fused
    assert engine._loras.fused and reads == []
    assert np.allclose(first, second, atol=2)
    lokr_name = adapter_name(inspect_lora(folder / "falcon-lokr.safetensors"))
    assert engine._loras.lycoris.applied == ((lokr_name, 0.3),)
    again = np.asarray(engine.generate(request.with_changes(prompt="a fox <lora:falcon-lokr:0.8>")).images[0])
    assert np.array_equal(again, np.asarray(styled.images[0]))  # re-weighted back, nothing reloaded
    assert reads == []
    after = np.asarray(engine.generate(request).images[0])
    assert np.array_equal(plain, after)
    assert all(torch.equal(before[k], v) for k, v in _weights(pipe).items() if k in before)


def test_the_interop_lokr_sample_is_identified_and_every_layer_maps(interop_dir):
    """The real kohya LyCORIS LoKr file: all 350 layers map onto an SD 1.5-shaped model (built without memory)."""
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import load_file
    from transformers import CLIPTextConfig, CLIPTextModel

    from studio.engine.lycoris import plan_layers

    path = interop_dir / "lora" / "kohya_lycoris_lokr__smart_falcon_4_lokr.safetensors"
    if not path.is_file():
        pytest.skip("the LoKr sample is not in shared/interop")
    entry = inspect_lora(path)
    assert (entry.format, entry.family, entry.problem) == ("lycoris", "sd15", None)
    assert lycoris_algorithms(read_header(path)[0]) == ("LoKr",)
    with torch.device("meta"):
        unet = UNet2DConditionModel(cross_attention_dim=768, attention_head_dim=8)
        text = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12))
    layers = plan_layers(SimpleNamespace(unet=unet, text_encoder=text), load_file(str(path)), path.stem)
    assert len(layers) == len({key.split(".")[0] for key in read_header(path)[0]}) == 350
    assert {layer.component for layer in layers} == {"unet", "text_encoder"}
