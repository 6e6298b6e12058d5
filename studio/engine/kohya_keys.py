"""kohya's LoRA key names (``lora_unet_…``, ``lora_te_…``) -> the pipeline's modules, and kohya LoRAs as peft ones.

kohya names a layer by its module path with ``_`` for ``.``: ``lora_unet_<path>`` for the UNet (diffusers' layout
for SD 1.x files, the original LDM checkpoint's for SDXL ones, ``input_blocks_4_1_…``), ``lora_te_`` (SD 1.x) or
``lora_te1_``/``lora_te2_`` (SDXL) for the text encoders, whose paths keep CLIP's ``text_model`` level.

diffusers converts kohya files itself, but its text-encoder names still carry ``text_model.``, which transformers
5's ``CLIPTextModel`` no longer has: a real kohya LoRA with text-encoder layers then fails to load ("Could not
automatically infer state dict type"). So the studio maps the names itself, from the modules the pipeline really
has, and hands diffusers its own peft layout (``unet.<path>.lora_A.weight``) with ``alpha / rank`` folded into
``lora_B`` (the same product, so the same result).
"""

from __future__ import annotations

from typing import Any

from studio.engine.lazy import torch_modules
from studio.engine.ldm_export import UNET_PREFIX, unet_to_ldm
from studio.errors import RequestError

PREFIXES = (
    ("lora_unet_", "unet"),
    ("lora_te1_", "text_encoder"),
    ("lora_te2_", "text_encoder_2"),
    ("lora_te_", "text_encoder"),
)


def base_module(module: Any) -> Any:
    """The layer itself; for a peft-wrapped layer its base (which holds the weight)."""
    get_base = getattr(module, "get_base_layer", None)
    return get_base() if get_base is not None else module


def kohya_module_names(pipe: Any) -> dict[str, tuple[str, str]]:
    """Every kohya layer name the pipeline answers to -> (component, module path) of a Linear/Conv2d."""
    torch = torch_modules().torch
    names: dict[str, tuple[str, str]] = {}
    for prefix, component in PREFIXES:
        module = getattr(pipe, component, None)
        if module is None or (prefix == "lora_te_" and getattr(pipe, "text_encoder_2", None) is not None):
            continue
        paths = [
            path
            for path, sub in module.named_modules()
            if isinstance(base_module(sub), (torch.nn.Linear, torch.nn.Conv2d))
            and ".base_layer" not in f".{path}"
        ]
        for path in paths:
            names[prefix + path.replace(".", "_")] = (component, path)
            if component != "unet" and not path.startswith("text_model."):
                # transformers 5 dropped CLIPTextModel's ``text_model`` level; files keep it in their names
                names[f"{prefix}text_model_{path.replace('.', '_')}"] = (component, path)
        if component == "unet":  # SDXL files (and some SD 1.x ones) name UNet layers as in the LDM checkpoint
            ldm = unet_to_ldm({f"{path}.weight": path for path in paths}, module.config)
            for key, path in ldm.items():
                names.setdefault(
                    prefix + key[len(UNET_PREFIX) : -len(".weight")].replace(".", "_"), (component, path)
                )
    return names


def kohya_to_peft(pipe: Any, state: dict[str, Any], file_name: str) -> dict[str, Any]:
    """A kohya LoRA state dict (``lora_down``/``lora_up``/``alpha``) in diffusers' peft layout for ``pipe``.

    Raises ``RequestError`` when a layer is not in this model (a LoRA made for another one).
    """
    names = kohya_module_names(pipe)
    peft: dict[str, Any] = {}
    unknown = []
    layers = {key.partition(".")[0] for key in state if key.endswith(("lora_down.weight", "lora_up.weight"))}
    for layer in sorted(layers):
        target = names.get(layer)
        down, up = state.get(f"{layer}.lora_down.weight"), state.get(f"{layer}.lora_up.weight")
        if target is None or down is None or up is None:
            unknown.append(layer)
            continue
        alpha = state.get(f"{layer}.alpha")
        scale = float(alpha) / down.shape[0] if alpha is not None else 1.0
        component, path = target
        weight = base_module(getattr(pipe, component).get_submodule(path)).weight
        if weight.ndim == 4 and down.ndim == 2:  # a linear LoRA for a 1x1 conv (SD 1.x proj_in) and back
            down, up = down[:, :, None, None], up[:, :, None, None]
        elif weight.ndim == 2 and down.ndim == 4 and down.shape[2:] == (1, 1):
            down, up = down.flatten(1), up.flatten(1)
        peft[f"{component}.{path}.lora_A.weight"] = down
        peft[f"{component}.{path}.lora_B.weight"] = (up.float() * scale).to(up.dtype)
    if unknown or not peft:
        raise RequestError(
            f"The LoRA file '{file_name}' was made for a different model: {len(unknown)} of its {len(layers)} "
            "layers are not in this model. Use a LoRA made for this model, or switch to the model it was made for."
        )
    return peft
