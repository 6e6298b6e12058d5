"""InvokeAI's three metadata forms: 3.x ``invokeai_metadata`` JSON, 2.3 ``sd-metadata`` JSON, legacy ``Dream``.

2.x prompts hold the negative prompt in square brackets: ``"a cat [blurry]"``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from studio.metadata.field_mapper import FieldMapper, Found, json_object
from studio.metadata.sampler_aliases import foreign_sampler_name
from studio.request import GenerationRequest


def invokeai3_settings(raw: Mapping[str, str]) -> Found | None:
    """InvokeAI 3.x+: the ``invokeai_metadata`` JSON."""
    data = json_object(raw.get("invokeai_metadata", ""))
    if data is None:
        return None
    mapped = FieldMapper(data)
    mapped.text("positive_prompt", "prompt")
    mapped.text("negative_prompt", "negative_prompt")
    _map_numbers(mapped)
    mapped.sampler("scheduler", None)
    model = data.get("model")
    mapped.used.update({"model", "generation_mode"})
    if isinstance(model, dict) and isinstance(model.get("model_name") or model.get("name"), str):
        mapped.fields["model"] = model.get("model_name") or model.get("name")
    elif isinstance(model, str):
        mapped.fields["model"] = model
    return mapped.finish("invokeai")


def sd_metadata_settings(raw: Mapping[str, str]) -> Found | None:
    """InvokeAI 2.3: the ``sd-metadata`` JSON."""
    data = json_object(raw.get("sd-metadata", ""))
    if data is None or not isinstance(data.get("image"), dict):
        return None
    image = data["image"]
    mapped = FieldMapper(image)
    prompts = image.get("prompt")
    mapped.used.add("prompt")
    if isinstance(prompts, list) and prompts and isinstance(prompts[0], dict):
        text = str(prompts[0].get("prompt", ""))
        if len(prompts) > 1:
            mapped.unmapped.append(f"prompt: {len(prompts)} weighted prompts (only the first is used)")
    else:
        text = str(prompts or "")
    mapped.fields["prompt"], mapped.fields["negative_prompt"] = split_bracket_negative(text)
    _map_numbers(mapped)
    mapped.sampler("sampler", None)
    if image.get("type") == "txt2img":
        mapped.used.add("type")
    if isinstance(data.get("model_weights"), str):
        mapped.fields["model"] = data["model_weights"]
    mapped.model_hash(data.get("model_hash"))
    return mapped.finish("invokeai")


def dream_settings(raw: Mapping[str, str]) -> Found | None:
    """InvokeAI 2.x: the ``Dream`` chunk, a quoted prompt followed by command-line switches."""
    text = raw.get("Dream", "").strip()
    if not text:
        return None
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    if not words:
        return None
    options = {"-s": ("steps", int), "-S": ("seed", int), "-W": ("width", int), "-H": ("height", int),
               "-C": ("cfg_scale", float)}  # fmt: skip
    fields: dict[str, Any] = {}
    fields["prompt"], fields["negative_prompt"] = split_bracket_negative(words[0])
    unmapped: list[str] = []
    extras: dict[str, str] = {}
    index = 1
    while index < len(words):
        flag = words[index]
        values = []
        index += 1
        while index < len(words) and not re.fullmatch(r"-{1,2}[A-Za-z][\w-]*", words[index]):
            values.append(words[index])
            index += 1
        value = " ".join(values)
        if flag in options and len(values) == 1:
            target, kind = options[flag]
            try:
                fields[target] = kind(values[0])
                continue
            except ValueError:
                pass
        if flag in ("-A", "--sampler") and len(values) == 1 and foreign_sampler_name(values[0]):
            fields["sampler"] = foreign_sampler_name(values[0])
            continue
        unmapped.append(f"{flag} {value}".strip())
        extras[flag] = value
    fields["extras"] = extras
    return GenerationRequest(**fields), "invokeai", unmapped


def split_bracket_negative(text: str) -> tuple[str, str]:
    """InvokeAI 2.x: ``"a cat [blurry, dark]"`` -> ``("a cat", "blurry, dark")``."""
    negatives = re.findall(r"\[([^\[\]]*)\]", text)
    prompt = re.sub(r"\s*\[[^\[\]]*\]", "", text)
    return prompt.strip(), ", ".join(part.strip() for part in negatives if part.strip())


def _map_numbers(mapped: FieldMapper) -> None:
    """The numbers InvokeAI 3.x and 2.3 store under the studio's own names."""
    for key, kind in (("steps", int), ("cfg_scale", float), ("seed", int), ("width", int), ("height", int)):
        mapped.number(key, key, kind)
