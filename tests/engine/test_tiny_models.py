"""The tiny models: the A1111-layout single file, its sidecar, and the offline demo set."""

from __future__ import annotations

from safetensors import safe_open

from studio.engine.demo_models import write_demo_models
from studio.engine.ldm_export import TEXT_PREFIX, UNET_PREFIX, VAE_PREFIX
from studio.models.model_family import detect_family
from studio.models.model_ref import resolve_reference


def test_single_file_uses_the_original_checkpoint_layout(tiny_single_file):
    with safe_open(str(tiny_single_file), "pt") as handle:
        keys = list(handle.keys())
        conv_in = handle.get_slice(UNET_PREFIX + "input_blocks.0.0.weight").get_shape()
        attention_q = handle.get_slice(VAE_PREFIX + "encoder.mid.attn_1.q.weight").get_shape()
    assert keys and all(k.startswith((UNET_PREFIX, VAE_PREFIX, TEXT_PREFIX + "text_model.")) for k in keys)
    for name in (
        "time_embed.0.weight",
        "middle_block.1.proj_in.weight",
        "out.2.weight",
        "input_blocks.1.0.in_layers.0.weight",
    ):
        assert UNET_PREFIX + name in keys
    assert VAE_PREFIX + "decoder.up.0.block.0.conv1.weight" in keys
    assert conv_in[1] == 4 and len(attention_q) == 4  # LDM's VAE attention is a 1x1 convolution


def test_single_file_sidecar_holds_configs_but_no_weights(tiny_single_file):
    sidecar = tiny_single_file.with_name("sd15.config")
    assert (sidecar / "model_index.json").is_file() and (sidecar / "unet" / "config.json").is_file()
    assert (sidecar / "tokenizer" / "vocab.json").is_file()
    assert list(sidecar.rglob("*.safetensors")) == [] and list(sidecar.rglob("*.bin")) == []


def test_demo_models_are_the_three_kinds(tmp_path):
    written = write_demo_models(tmp_path / "demo")
    assert written == {
        "sd15": tmp_path / "demo" / "sd15",
        "sdxl": tmp_path / "demo" / "sdxl",
        "sd15_single_file": tmp_path / "demo" / "sd15.safetensors",
        "lora_sd15": tmp_path / "demo" / "loras" / "tiny-sd15-lora.safetensors",
        "lora_sdxl": tmp_path / "demo" / "loras" / "tiny-sdxl-lora.safetensors",
        "controlnet_sd15": tmp_path / "demo" / "controlnet-sd15",
        "controlnet_sdxl": tmp_path / "demo" / "controlnet-sdxl",
    }
    from studio.models.controlnets import resolve_controlnet

    assert [resolve_controlnet(str(written[f"controlnet_{f}"])).family for f in ("sd15", "sdxl")] == ["sd15", "sdxl"]
    models = ("sd15", "sdxl", "sd15_single_file")
    kinds = {key: resolve_reference(str(path)) for key, path in written.items() if key in models}
    assert {key: (ref.kind, detect_family(ref)) for key, ref in kinds.items()} == {
        "sd15": ("folder", "sd15"),
        "sdxl": ("folder", "sdxl"),
        "sd15_single_file": ("single_file", "sd15"),
    }
