"""Draw Things (iOS/macOS): an XMP packet whose ``exif:UserComment`` is a JSON object of the settings.

The packet (PNG iTXt ``XML:com.adobe.xmp``, JPEG APP1) also has ``xmp:CreatorTool`` = ``Draw Things`` and an
A1111-like ``dc:description``. JSON keys: ``c`` (prompt), ``uc`` (negative prompt), ``seed``, ``steps``,
``scale`` (CFG), ``sampler`` (Draw Things' own names, "DPM++ 2M Karras", "Euler A"), ``model`` (the file),
``size`` ("WxH") or ``width``/``height``, ``strength`` (below 1: img2img), ``lora`` / ``v2.loras``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.metadata.field_mapper import FieldMapper, Found, json_object
from studio.metadata.png_chunks import XMP_KEY
from studio.metadata.xmp import xmp_properties
from studio.request import LoraRef

# Draw Things' sampler names -> A1111's (the ones with an equal; "Trailing", "Substep", "AYS", "TCD" have none).
_SAMPLERS = {
    "dpm++ 2m karras": "DPM++ 2M Karras",
    "dpm++ 2m": "DPM++ 2M",
    "dpm++ sde karras": "DPM++ SDE Karras",
    "dpm++ 2m sde karras": "DPM++ 2M SDE Karras",
    "euler a": "Euler a",
    "euler": "Euler",
    "ddim": "DDIM",
    "plms": "PLMS",
    "unipc": "UniPC",
    "lcm": "LCM",
}


def drawthings_settings(raw: Mapping[str, str], notes: list[str]) -> Found | None:
    props = xmp_properties(raw.get(XMP_KEY, ""))
    data = json_object(props.get("UserComment", ""))
    if data is None or ("Draw Things" not in props.get("CreatorTool", "") and "c" not in data):
        return None
    mapped = FieldMapper(data)
    mapped.text("c", "prompt")
    mapped.text("uc", "negative_prompt")
    mapped.number("seed", "seed", int)
    mapped.number("steps", "steps", int)
    mapped.number("scale", "cfg_scale", float)
    mapped.number("width", "width", int)
    mapped.number("height", "height", int)
    mapped.text("model", "model")
    size = data.get("size")
    if isinstance(size, str) and "x" in size:
        mapped.used.add("size")
        width, _, height = size.partition("x")
        if width.strip().isdigit() and height.strip().isdigit():
            mapped.fields["width"], mapped.fields["height"] = int(width), int(height)
    sampler = data.get("sampler")
    mapped.used.add("sampler")
    if isinstance(sampler, str) and sampler:
        name = _SAMPLERS.get(sampler.strip().lower())
        if name:
            mapped.fields["sampler"] = name
        else:
            mapped.unmapped.append(f"sampler: {sampler} (the studio has no matching sampler)")
    strength = data.get("strength")
    mapped.used.add("strength")
    if isinstance(strength, int | float) and strength < 1:
        mapped.unmapped.append(f"strength: {strength} (img2img; the source image is not in the file)")
    loras = _loras(data)
    mapped.used.add("lora")
    if loras:
        mapped.fields["loras"] = loras
    mapped.quiet["CreatorTool"] = props.get("CreatorTool", "Draw Things")
    return mapped.finish("drawthings")


def _loras(data: dict[str, Any]) -> tuple[LoraRef, ...]:
    found = []
    v2: dict[str, Any] = data["v2"] if isinstance(data.get("v2"), dict) else {}
    for entries in (data.get("lora"), v2.get("loras")):
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("file") or entry.get("name"), str):
                weight: Any = entry.get("weight", entry.get("strength", 1.0))
                try:
                    found.append(LoraRef(str(entry.get("file") or entry.get("name")), float(weight)))
                except (TypeError, ValueError):
                    found.append(LoraRef(str(entry.get("file") or entry.get("name"))))
    return tuple(found)
