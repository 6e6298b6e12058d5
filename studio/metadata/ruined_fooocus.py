"""RuinedFooocus: its JSON in the ``parameters`` text, marked ``"software": "RuinedFooocus"``.

Keys (RuinedFooocus's ``pnginfo``, as Civitai and sd-metadata read them): ``Prompt``, ``Negative``, ``steps``,
``cfg``, ``width``, ``height``, ``seed``, ``sampler_name`` + ``scheduler`` (ComfyUI names), ``base_model_name``,
``base_model_hash``, ``loras`` (``[name, weight]`` pairs or ``{"name", "weight"}`` objects), ``clip_skip``,
``denoise``. Some versions store the object as a JSON string inside the JSON (encoded twice).
"""

from __future__ import annotations

import json
from typing import Any

from studio.metadata.field_mapper import FieldMapper, Found, clip_skip_value, json_object
from studio.request import LoraRef


def ruined_fooocus_data(text: str) -> dict[str, Any] | None:
    """The RuinedFooocus object in a ``parameters`` text (once or twice encoded), or ``None``."""
    data = json_object(text)
    if data is None and text.lstrip().startswith('"'):
        try:
            inner = json.loads(text)
        except (ValueError, RecursionError):
            return None
        data = json_object(inner) if isinstance(inner, str) else None
    if data is None or str(data.get("software", "")).lower() != "ruinedfooocus":
        return None
    return data


def ruined_fooocus_settings(data: dict[str, Any]) -> Found:
    mapped = FieldMapper(data)
    mapped.text("Prompt", "prompt")
    mapped.text("Negative", "negative_prompt")
    mapped.number("steps", "steps", int)
    mapped.number("cfg", "cfg_scale", float)
    mapped.number("seed", "seed", int)
    mapped.number("width", "width", int)
    mapped.number("height", "height", int)
    mapped.text("base_model_name", "model")
    mapped.sampler("sampler_name", "scheduler")
    mapped.used.update({"software", "base_model_hash", "loras"})
    mapped.model_hash(data.get("base_model_hash"))
    mapped.quiet["software"] = "RuinedFooocus"
    refs = []
    for entry in data.get("loras") or []:
        name, weight = _lora(entry)
        if name:
            refs.append(LoraRef(name, weight))
    if refs:
        mapped.fields["loras"] = tuple(refs)
    denoise = data.get("denoise")
    mapped.used.add("denoise")
    if isinstance(denoise, int | float) and denoise < 1:
        mapped.unmapped.append(f"denoise: {denoise} (img2img; the source image is not in the file)")
    mapped.used.add("clip_skip")
    if data.get("clip_skip") is not None:
        skip = clip_skip_value(data["clip_skip"])
        if skip is None:
            mapped.unmapped.append(f"Clip skip: {data['clip_skip']} (not a usable value)")
        else:
            mapped.fields["clip_skip"] = skip
    return mapped.finish("ruinedfooocus")


def _lora(entry: Any) -> tuple[str, float]:
    if isinstance(entry, dict):
        name, weight = entry.get("name"), entry.get("weight", 1.0)
    elif isinstance(entry, list | tuple) and entry:
        name, weight = entry[0], entry[1] if len(entry) > 1 else 1.0
    else:
        return "", 1.0
    try:
        return str(name or "").strip(), float(weight)
    except (TypeError, ValueError):
        return str(name or "").strip(), 1.0
