"""Best-effort reading of a ComfyUI ``prompt`` chunk (the API graph: ``{id: {class_type, inputs}}``).

The primary pass is the sampler whose output reaches a SaveImage/PreviewImage node; when that sampler's
latent came through an upscale from another sampler, that other one is the first pass and this one becomes
the studio's second pass (``HiresSettings``). Prompts are the text encoders feeding ``positive``/``negative``
(area-restricted ones are reported, not merged); the model is the checkpoint loader behind ``model``; the size
is the EmptyLatentImage behind ``latent_image``. Everything else worth knowing goes to ``unmapped``.
"""

from __future__ import annotations

import json
from typing import Any

from studio.metadata.field_mapper import clip_skip_value
from studio.metadata.sampler_aliases import foreign_sampler_name
from studio.request import GenerationRequest, HiresSettings

_MAX_DEPTH = 200
_LATENT_INPUTS = ("samples_to", "latent_image", "samples", "latent", "pixels", "image", "images")
_LATENT_UPSCALERS = {
    "nearest-exact": "Latent (nearest-exact)",
    "bilinear": "Latent",
    "bicubic": "Latent (bicubic)",
}


def comfyui_settings(prompt_json: str) -> tuple[GenerationRequest, str, list[str]] | None:
    """``(request, "comfyui", unmapped)`` for a ComfyUI API graph, or ``None`` when the text is not one."""
    if not prompt_json or not prompt_json.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(prompt_json)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    nodes = {
        str(k): v
        for k, v in data.items()
        if isinstance(v, dict) and isinstance(v.get("class_type"), str) and isinstance(v.get("inputs"), dict)
    }
    if not nodes:
        return None
    return _Graph(nodes).settings()


def _link(value: Any) -> str | None:
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and isinstance(value[1], int)
    ):
        return str(value[0])
    return None


class _Graph:
    def __init__(self, nodes: dict[str, dict[str, Any]]) -> None:
        self.nodes = nodes
        self.unmapped: list[str] = []

    def kind(self, node_id: str | None) -> str:
        node = self.nodes.get(node_id or "")
        return node["class_type"] if node else ""

    def inputs(self, node_id: str | None) -> dict[str, Any]:
        node = self.nodes.get(node_id or "")
        return node["inputs"] if node else {}

    def is_sampler(self, node_id: str) -> bool:
        kind = self.kind(node_id)
        return "KSampler" in kind or kind.startswith("SamplerCustom")

    def value(self, node_id: str, key: str, depth: int = 0) -> Any:
        """An input's value, looking through a link (a primitive node) and one level of helper nodes
        (SamplerCustom keeps ``sampler_name`` in KSamplerSelect, ``steps`` in BasicScheduler, ...)."""
        inputs = self.inputs(node_id)
        value = inputs.get(key)
        target = _link(value)
        if target is not None and depth < 5:
            linked = self.inputs(target)
            if key in linked:
                return self.value(target, key, depth + 1)
            scalars = [
                v for v in linked.values() if isinstance(v, str | int | float) and not isinstance(v, bool)
            ]
            return scalars[0] if len(scalars) == 1 else None
        if value is None and depth == 0:
            for helper in ("sampler", "sigmas", "guider", "noise"):
                target = _link(inputs.get(helper))
                if target is not None and key in self.inputs(target):
                    return self.value(target, key, depth + 1)
        return value

    # --- walking the graph ---------------------------------------------------------------------------------

    def upstream_sampler(self, node_id: str) -> str | None:
        """The sampler that produced the image a save node stores."""
        queue, seen = [node_id], {node_id}
        while queue and len(seen) < _MAX_DEPTH:
            current = queue.pop(0)
            for value in self.inputs(current).values():
                target = _link(value)
                if target is None or target in seen or target not in self.nodes:
                    continue
                if self.is_sampler(target):
                    return target
                seen.add(target)
                queue.append(target)
        return None

    def latent_origin(self, sampler_id: str) -> dict[str, Any]:
        """Follow ``latent_image`` back: the first sampler before this one, whether an upscale lies between,
        and the size and source image at the start of the chain."""
        origin: dict[str, Any] = dict.fromkeys(("sampler", "upscale", "size", "batch", "image"))
        current = _link(self.inputs(sampler_id).get("latent_image"))
        seen = {sampler_id}
        while current and current not in seen and len(seen) < _MAX_DEPTH:
            seen.add(current)
            kind, inputs = self.kind(current), self.inputs(current)
            if self.is_sampler(current):
                origin["sampler"] = origin["sampler"] or current
                current = _link(inputs.get("latent_image"))
                continue
            if "Upscale" in kind or "Scale" in kind:
                if origin["sampler"] is None and origin["upscale"] is None:
                    origin["upscale"] = current
            if "EmptyLatent" in kind or ("width" in inputs and "batch_size" in inputs):
                width, height = self.value(current, "width"), self.value(current, "height")
                if isinstance(width, int) and isinstance(height, int):
                    origin["size"] = (width, height)
                batch = self.value(current, "batch_size")
                origin["batch"] = batch if isinstance(batch, int) else None
                break
            if kind.startswith("LoadImage"):
                origin["image"] = str(inputs.get("image", ""))
                break
            current = next((_link(inputs[name]) for name in _LATENT_INPUTS if _link(inputs.get(name))), None)
        return origin

    def texts(self, node_id: str | None, polarity: str, in_area: bool = False, depth: int = 0) -> list[tuple]:
        """``(text, in_area, encoder_id)`` for each text encoder feeding a conditioning input."""
        if node_id is None or node_id not in self.nodes or depth > _MAX_DEPTH:
            return []
        inputs = self.inputs(node_id)
        for key in ("text", "text_g", "prompt"):
            text = self.string(inputs.get(key))
            if text is not None:
                return [(text, in_area, node_id)]
        kind = self.kind(node_id).lower()
        in_area = in_area or "area" in kind or "mask" in kind
        found: list[tuple] = []
        for name, value in inputs.items():
            if name.startswith("conditioning") or name == polarity:
                found += self.texts(_link(value), polarity, in_area, depth + 1)
        return found

    def string(self, value: Any, depth: int = 0) -> str | None:
        if isinstance(value, str):
            return value
        target = _link(value)
        if target is None or depth > 5:
            return None
        linked = self.inputs(target)
        for key in ("text", "string", "value", "prompt", "text_g"):
            if key in linked:
                return self.string(linked[key], depth + 1)
        return None

    def model(self, node_id: str) -> tuple[str | None, list[str]]:
        """The checkpoint behind a sampler's ``model`` input, and the LoRAs on the way."""
        loras: list[str] = []
        current = _link(self.value_raw(node_id, "model"))
        seen: set[str] = set()
        while current and current not in seen and len(seen) < _MAX_DEPTH:
            seen.add(current)
            inputs = self.inputs(current)
            for key in ("ckpt_name", "unet_name", "model_name"):
                if isinstance(inputs.get(key), str):
                    return inputs[key], loras
            if isinstance(inputs.get("lora_name"), str):
                loras.append(f"LoRA {inputs['lora_name']} (strength {inputs.get('strength_model', '?')})")
            current = _link(inputs.get("model"))
        return None, loras

    def value_raw(self, node_id: str, key: str) -> Any:
        inputs = self.inputs(node_id)
        if key in inputs:
            return inputs[key]
        target = _link(inputs.get("guider"))  # SamplerCustomAdvanced keeps model and prompts in its guider
        return self.inputs(target).get(key) if target else None

    def clip_skip(self, encoder_id: str) -> int | None:
        current, seen = _link(self.inputs(encoder_id).get("clip")), set[str]()
        while current and current not in seen and len(seen) < _MAX_DEPTH:
            seen.add(current)
            inputs = self.inputs(current)
            layer = inputs.get("stop_at_clip_layer")  # CLIPSetLastLayer: -1 is the last layer, -2 clip skip 2
            if isinstance(layer, int) and layer < -1:
                return clip_skip_value(layer)
            current = _link(inputs.get("clip"))
        return None

    # --- mapping --------------------------------------------------------------------------------------------

    def passes(self) -> tuple[str | None, str | None]:
        saves = sorted(
            (k for k, v in self.nodes.items() if _is_save(v["class_type"])),
            key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k),
        )
        candidates = [s for s in (self.upstream_sampler(k) for k in saves) if s]
        if not candidates:
            candidates = sorted((k for k in self.nodes if self.is_sampler(k)), key=lambda k: (len(k), k))
        for candidate in candidates:
            origin = self.latent_origin(candidate)
            if origin["sampler"] and origin["upscale"]:
                return origin["sampler"], candidate
        return (candidates[0] if candidates else None), None

    def sampler_fields(self, node_id: str, fields: dict[str, Any], label: str) -> None:
        seed = self.value(node_id, "seed")
        seed = self.value(node_id, "noise_seed") if seed is None else seed
        for key, target, value in (
            ("seed", "seed", seed),
            ("steps", "steps", self.value(node_id, "steps")),
            ("cfg", "cfg_scale", self.value(node_id, "cfg")),
        ):
            if isinstance(value, int | float) and not isinstance(value, bool):
                fields[target] = int(value) if target != "cfg_scale" else float(value)
            elif value is not None:
                self.unmapped.append(f"{label} {key}: {value} (not a number)")
        name, scheduler = self.value(node_id, "sampler_name"), self.value(node_id, "scheduler")
        if isinstance(name, str):
            mapped = foreign_sampler_name(name, scheduler if isinstance(scheduler, str) else "")
            if mapped:
                fields["sampler"] = mapped
            else:
                self.unmapped.append(
                    f"{label} sampler: {name} / {scheduler} (the studio has no matching sampler)"
                )
        prompts = self.texts(_link(self.value_raw(node_id, "positive")), "positive")
        negatives = self.texts(_link(self.value_raw(node_id, "negative")), "negative")
        fields["prompt"] = self._join(prompts, label, "area prompt")
        fields["negative_prompt"] = self._join(negatives, label, "area negative prompt")
        model, loras = self.model(node_id)
        if model:
            fields["model"] = model
        self.unmapped += [f"{label} {lora}" for lora in loras]
        # One clip skip serves both prompts (as in A1111): the positive prompt's encoder says it.
        skip = next((self.clip_skip(enc) for _, _, enc in prompts if self.clip_skip(enc)), None)
        if skip:
            fields["clip_skip"] = skip
        other = next((self.clip_skip(enc) for _, _, enc in negatives if self.clip_skip(enc)), None) or 1
        if other != (skip or 1):
            self.unmapped.append(f"{label} negative prompt Clip skip: {other} (the studio uses {skip or 1})")

    def _join(self, texts: list[tuple], label: str, what: str) -> str:
        plain: list[str] = []
        for text, in_area, _ in texts:
            if in_area:
                self.unmapped.append(f"{label} {what}: {_short(text)}")
            elif text not in plain:
                plain.append(text)
        return " AND ".join(text.strip() for text in plain)

    def settings(self) -> tuple[GenerationRequest, str, list[str]]:
        first, second = self.passes()
        if first is None:
            return (
                GenerationRequest(),
                "comfyui",
                ["The ComfyUI graph has no sampler node the studio can read."],
            )
        fields: dict[str, Any] = {}
        self.sampler_fields(first, fields, "")
        origin = self.latent_origin(first)
        if origin["size"]:
            fields["width"], fields["height"] = origin["size"]
        if origin["batch"]:
            fields["batch_size"] = origin["batch"]
        denoise = self.value(first, "denoise")
        if origin["image"] is not None:
            if isinstance(denoise, int | float):
                fields["strength"] = float(denoise)
            self.unmapped.append(
                f"Source image: {origin['image']} (img2img; the image is not stored in the file)"
            )
        elif isinstance(denoise, int | float) and denoise < 1:
            self.unmapped.append(f"denoise: {denoise}")
        start = self.value(first, "start_at_step")
        if isinstance(start, int) and start > 0:
            self.unmapped.append(f"start_at_step: {start} (continues a partly denoised latent)")
        if second is not None:
            fields["hires"] = self.hires(first, second, fields)
        others = sorted(k for k in self.nodes if self.is_sampler(k) and k not in (first, second))
        if others:
            self.unmapped.append(f"{len(others)} more sampler node(s) not mapped: {', '.join(others)}")
        notes = [note.strip() for note in self.unmapped]
        return GenerationRequest(**fields), "comfyui", notes

    def hires(self, first: str, second: str, fields: dict[str, Any]) -> HiresSettings:
        base: dict[str, Any] = {}
        self.sampler_fields(second, base, "Second pass")
        changes: dict[str, Any] = {}
        origin = self.latent_origin(second)
        upscale = origin["upscale"]
        inputs = self.inputs(upscale)
        width = fields.get("width")
        if isinstance(self.value(upscale, "scale_by"), int | float):
            changes["scale"] = float(self.value(upscale, "scale_by"))
        elif isinstance(inputs.get("width"), int) and width:
            changes["scale"] = inputs["width"] / width
            expected = HiresSettings(scale=changes["scale"]).output_size(width, fields.get("height", 0))
            if isinstance(inputs.get("height"), int) and abs(expected[1] - inputs["height"]) > 8:
                self.unmapped.append(
                    f"Second pass size: {inputs['width']}x{inputs['height']} (not a uniform scale)"
                )
        method = inputs.get("upscale_method")
        if isinstance(method, str) and method in _LATENT_UPSCALERS:
            changes["upscaler"] = _LATENT_UPSCALERS[method]
        elif isinstance(inputs.get("model_name"), str):
            changes["upscaler"] = inputs["model_name"].rsplit(".", 1)[0]
        elif method is not None:
            self.unmapped.append(f"Second pass upscale method: {method}")
        denoise = self.value(second, "denoise")
        if isinstance(denoise, int | float):
            changes["strength"] = float(denoise)
        if "steps" in base:
            changes["steps"] = base["steps"]
        for key in ("seed", "cfg_scale", "sampler", "model", "prompt", "negative_prompt"):
            if key in base and base[key] != fields.get(key):
                self.unmapped.append(
                    f"Second pass {key}: {_short(base[key])} (the studio reuses the first pass's)"
                )
        return HiresSettings(**changes)


def _is_save(kind: str) -> bool:
    lowered = kind.lower()
    return ("save" in lowered or "preview" in lowered) and "image" in lowered


def _short(value: Any, limit: int = 120) -> str:
    text = str(value).strip().replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
