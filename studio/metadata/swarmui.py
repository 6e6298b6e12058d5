"""SwarmUI: one JSON object whose ``sui_image_params`` holds every parameter by its simplified id.

Stored in PNG's ``parameters`` text and in JPEG/WebP's EXIF UserComment (SwarmUI's "Image Metadata Format"
document). Ids are lower case without spaces (``negativeprompt``, ``cfgscale``); values may be strings even for
numbers; samplers and schedulers are ComfyUI's names; LoRAs are ``loras`` with ``loraweights`` beside them;
``sui_extra_data`` and ``sui_models`` describe the run, not the settings.
"""

from __future__ import annotations

from typing import Any

from studio.metadata.field_mapper import FieldMapper, Found
from studio.request import LoraRef

# Facts about the run and the file, kept in extras but not listed as settings that were lost.
_QUIET = ("swarm_version", "date", "generation_time", "imageformat", "aspectratio", "automaticvae")


def is_swarmui(data: dict[str, Any]) -> bool:
    return isinstance(data.get("sui_image_params"), dict)


def swarmui_settings(data: dict[str, Any]) -> Found:
    params: dict[str, Any] = data["sui_image_params"]
    mapped = FieldMapper(params)
    mapped.text("prompt", "prompt")
    mapped.text("negativeprompt", "negative_prompt")
    mapped.number("steps", "steps", int)
    mapped.number("cfgscale", "cfg_scale", float)
    mapped.number("seed", "seed", int)
    mapped.number("width", "width", int)
    mapped.number("height", "height", int)
    mapped.number("batchsize", "batch_size", int)
    mapped.text("model", "model")
    mapped.sampler("sampler", "scheduler")
    loras, weights = params.get("loras"), params.get("loraweights")
    if loras:
        mapped.used.update({"loras", "loraweights"})
        names = loras if isinstance(loras, list) else str(loras).split(",")
        values = weights if isinstance(weights, list) else str(weights or "").split(",")
        refs = []
        for index, name in enumerate(names):
            try:
                weight = float(values[index]) if index < len(values) else 1.0
            except (TypeError, ValueError):
                weight = 1.0
            if str(name).strip():
                refs.append(LoraRef(str(name).strip(), weight))
        mapped.fields["loras"] = tuple(refs)  # matched against the LoRA library by the reader
    for key in _QUIET:
        if key in params:
            mapped.used.add(key)
            mapped.quiet[key] = params[key]
    request, source, unmapped = mapped.finish("swarmui")
    extra = data.get("sui_extra_data")
    if isinstance(extra, dict) and isinstance(extra.get("original_prompt"), str):
        unmapped.append(f"original_prompt (before wildcards): {extra['original_prompt'][:120]}")
    return request, source, unmapped
