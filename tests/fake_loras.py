"""Tiny LoRA files for widget and state tests: real safetensors headers, a few zero tensors, no torch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

# One cross-attention key per family: its input width (768 / 2048) is what the library reads the family from.
_KEYS = {
    "sd15": ("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k", 768, 320),
    "sdxl": ("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k", 2048, 640),
}


def write_fake_lora(
    path: Path, family: str = "sd15", triggers: Sequence[str] = (), title: str | None = None
) -> Path:
    """A rank-1 kohya LoRA for ``family`` ("sd15"/"sdxl") with ``triggers`` as its trigger phrase."""
    key, width_in, width_out = _KEYS[family]
    tensors = {
        f"{key}.lora_down.weight": np.zeros((1, width_in), dtype=np.float16),
        f"{key}.lora_up.weight": np.zeros((width_out, 1), dtype=np.float16),
        f"{key}.alpha": np.ones((), dtype=np.float16),
    }
    metadata = {"ss_base_model_version": "sdxl_base_v1-0" if family == "sdxl" else "sd_v1"}
    if triggers:
        metadata["modelspec.trigger_phrase"] = ", ".join(triggers)
    if title:
        metadata["modelspec.title"] = title
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def write_fake_lokr(path: Path, family: str = "sd15") -> Path:
    """A LyCORIS LoKr file for ``family``, as kohya's LyCORIS writer names it: ``lokr_w1``/``lokr_w2`` factors
    whose input widths multiply to the cross-attention width the family is read from."""
    key, width_in, width_out = _KEYS[family]
    tensors = {
        f"{key}.lokr_w1": np.zeros((4, 8), dtype=np.float16),
        f"{key}.lokr_w2": np.zeros((width_out // 4, width_in // 8), dtype=np.float16),
        f"{key}.alpha": np.ones((), dtype=np.float16),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"ss_network_module": "lycoris.kohya"})
    return path


def write_fake_oft(path: Path, family: str = "sd15") -> Path:
    """A LyCORIS OFT file (``oft_blocks``), an algorithm the studio does not apply: the refused kind of LoRA."""
    key, _width_in, width_out = _KEYS[family]
    tensors = {
        f"{key}.oft_blocks": np.zeros((4, width_out // 4, width_out // 4), dtype=np.float16),
        f"{key}.alpha": np.ones((), dtype=np.float16),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"ss_network_module": "lycoris.kohya", "ss_base_model_version": "sd_v1"})
    return path
