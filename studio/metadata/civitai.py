"""What Civitai adds to the ComfyUI graphs its on-site generator writes (JPEG/WebP UserComment, PNG ``prompt``).

Beside the nodes the graph object holds ``extraMetadata`` (a JSON string: ``prompt``, ``negativePrompt``,
``steps``, ``cfgScale``, ``sampler``, ``seed``, ``width``, ``height``, ``clipSkip``, ``resources``...) and
``extra.airs``, the resources used as AIR URNs: ``urn:air:{ecosystem}:{type}:{source}:{model id}@{version
id}``, which also stand in the loaders' ``ckpt_name``/``lora_name`` inputs. The graph is the truth; the
``extraMetadata`` fills what the graph cannot say (an upscale-only workflow has no sampler of the picture),
and every URN is reported with the ids that find it on Civitai.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from studio.metadata.comfyui import comfyui_settings
from studio.metadata.field_mapper import FieldMapper, Found, clip_skip_value, json_object

_AIR = re.compile(r"urn:air:([\w.-]+):([\w.-]+):([\w.-]+):(\d+)(?:@(\d+))?")
NO_SAMPLER_NOTE = "The ComfyUI graph has no sampler node the studio can read."


def comfy_graph_settings(raw: Mapping[str, str]) -> Found | None:
    """The ComfyUI graph in ``raw['prompt']`` mapped, with Civitai's additions when it carries them."""
    text = raw.get("prompt", "")
    found = comfyui_settings(text)
    if found is None:
        return None
    request, source, notes = found
    data = json_object(text) or {}
    extra_text = data.get("extraMetadata", raw.get("extraMetadata", ""))
    extra = json_object(extra_text) if isinstance(extra_text, str) else None
    urns = sorted(set(_urns(data)))
    if extra is None and not urns:
        return found
    if extra is not None and NO_SAMPLER_NOTE in notes:
        mapped = _extra_fields(extra)
        notes = [note for note in notes if note != NO_SAMPLER_NOTE]
        notes.append("Settings read from Civitai's extraMetadata: the graph has no sampler of this picture.")
        notes += mapped.unmapped
        request = request.with_changes(**mapped.fields)
    elif extra is not None:
        fill = {}
        if not request.prompt.strip() and isinstance(extra.get("prompt"), str):
            fill["prompt"] = extra["prompt"]
        if not request.negative_prompt.strip() and isinstance(extra.get("negativePrompt"), str):
            fill["negative_prompt"] = extra["negativePrompt"]
        request = request.with_changes(**fill)
    if extra is not None and extra.get("clipSkip") is not None:
        skip = clip_skip_value(extra["clipSkip"])
        if skip is None:
            notes.append(f"Clip skip: {extra['clipSkip']} (not a usable value)")
        elif request.clip_skip == 1:  # the graph's CLIPSetLastLayer, where it has one, is what ran
            request = request.with_changes(clip_skip=skip)
    for urn in urns:
        notes.append(describe_air(urn))
    return request, source, notes


def civitai_resource_notes(value: str) -> list[str]:
    """Readable lines for the ``Civitai resources`` value of an A1111-style text Civitai's generator writes:
    a JSON list of ``{"type", "modelName", "modelVersionName", "modelVersionId", "weight"}``."""
    try:
        entries = json.loads(value)
    except (ValueError, RecursionError):
        return [f"Civitai resources: {value[:120]}"]
    notes = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        name = entry.get("modelName") or entry.get("name") or "?"
        version = entry.get("modelVersionName")
        weight = f", weight {entry['weight']}" if "weight" in entry else ""
        ids = f"version id {entry['modelVersionId']}" if "modelVersionId" in entry else ""
        label = f"'{name}'" + (f" ({version})" if version else "")
        notes.append(
            f"Civitai {entry.get('type', 'resource')} {label}{weight}: {ids or 'no id'}; download it to use it"
        )
    return notes


def describe_air(urn: str) -> str:
    """A readable line for one AIR URN: what it is and where Civitai has it."""
    match = _AIR.fullmatch(urn)
    if match is None:
        return f"Civitai resource {urn}"
    ecosystem, kind, where, model, version = match.groups()
    ids = f"model {model}" + (f", version {version}" if version else "")
    page = f" (civitai.com/models/{model})" if where == "civitai" else ""
    return (
        f"Civitai resource {urn}: a {ecosystem} {kind}, {ids}{page}; not in the file, download it to use it"
    )


def _urns(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 20:
        return
    if isinstance(value, str):
        yield from (m.group(0) for m in _AIR.finditer(value))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _urns(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _urns(item, depth + 1)


def _extra_fields(extra: dict[str, Any]) -> FieldMapper:
    mapped = FieldMapper(extra)
    mapped.text("prompt", "prompt")
    mapped.text("negativePrompt", "negative_prompt")
    mapped.number("steps", "steps", int)
    mapped.number("cfgScale", "cfg_scale", float)
    mapped.number("seed", "seed", int)
    mapped.number("width", "width", int)
    mapped.number("height", "height", int)
    sampler = extra.get("sampler")
    if isinstance(sampler, str) and sampler:
        probe = FieldMapper({"s": sampler})
        probe.sampler("s", None)
        if "sampler" in probe.fields:
            mapped.fields["sampler"] = probe.fields["sampler"]
            mapped.unmapped += [note.replace("s: ", "sampler: ", 1) for note in probe.unmapped]
        elif sampler[:1].isupper():
            mapped.fields["sampler"] = sampler  # already an A1111 name ("DPM++ 2M Karras")
    return mapped
