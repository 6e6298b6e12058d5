"""Mapping another tool's JSON settings onto a ``GenerationRequest``, shared by the per-tool readers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from studio.metadata.sampler_aliases import foreign_sampler_name, split_schedule
from studio.request import GenerationRequest

Found = tuple[GenerationRequest, str, list[str]]
"""What a reader returns: the request, the source name, and what could not be mapped."""


def json_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object, or ``None`` when it is not one."""
    if not text or not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def clip_skip_value(value: Any) -> int | None:
    """Another tool's clip skip as the request's ``clip_skip`` (1 = the last layer), or None when ``value`` is not
    a whole number of at least 1. ComfyUI's ``stop_at_clip_layer`` is negative (-2 is clip skip 2): its size is
    taken. A value past the model's layers is left to the check at Generate, which says what to do."""
    if isinstance(value, bool):
        return None
    try:
        number = abs(int(str(value).strip()))
    except (TypeError, ValueError):
        return None
    return number if number >= 1 else None


class FieldMapper:
    """Collects request fields from a JSON object; whatever is left over becomes ``unmapped``/extras."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.fields: dict[str, Any] = {}
        self.used: set[str] = set()
        self.unmapped: list[str] = []
        self.quiet: dict[str, Any] = {}  # kept in extras but not reported: facts about the file, not settings

    def model_hash(self, value: Any) -> None:
        """Keep the tool's model hash as A1111's ``Model hash`` extra (the model picker can match on it)."""
        if isinstance(value, str) and value:
            self.quiet["Model hash"] = value

    def text(self, key: str, target: str) -> None:
        self.used.add(key)
        value = self.data.get(key)
        if isinstance(value, str):
            self.fields[target] = value

    def number(self, key: str, target: str, kind: type) -> None:
        self.used.add(key)
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return
        number: float | int | None
        try:
            number = float(value) if kind is float else int(str(value).strip())
        except (TypeError, ValueError, OverflowError):
            try:
                as_float = float(value)
                number = int(as_float) if kind is int and as_float.is_integer() else None
            except (TypeError, ValueError, OverflowError):
                number = None
        if number is None:
            self.unmapped.append(f"{key}: {value} (not a usable value)")
        else:
            self.fields[target] = number

    def sampler(self, key: str, scheduler_key: str | None) -> None:
        self.used.add(key)
        name = self.data.get(key)
        scheduler = self.data.get(scheduler_key, "") if scheduler_key else ""
        if scheduler_key:
            self.used.add(scheduler_key)
        if not isinstance(name, str) or not isinstance(scheduler, str):
            return
        mapped = foreign_sampler_name(name, scheduler)
        label = f"{name} / {scheduler}" if scheduler else name
        if mapped is None:
            self.unmapped.append(f"{key}: {label} (the studio has no matching sampler)")
            return
        base, schedule = split_schedule(mapped)
        if mapped not in _known_samplers() and schedule and base in _known_samplers():
            # "Euler a Karras": the sampler exists here, only not on that schedule. Use it, and say so.
            self.unmapped.append(
                f"{key}: {label} (the studio has {base} only without the {schedule} schedule)"
            )
            mapped = base
        self.fields["sampler"] = mapped

    def finish(self, source: str) -> Found:
        # Empty, zero and false values are a tool's "off" switches: nothing the artist would miss.
        extras = {k: v for k, v in self.data.items() if k not in self.used and v and v != "None"}
        for key, value in extras.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            text = text.replace("\n", " ")
            self.unmapped.append(f"{key}: {text if len(text) <= 120 else text[:119] + '…'}")
        return GenerationRequest(**self.fields, extras={**self.quiet, **extras}), source, self.unmapped


def _known_samplers() -> tuple[str, ...]:
    from studio.models.samplers import SAMPLER_NAMES  # names only: no torch

    return SAMPLER_NAMES
