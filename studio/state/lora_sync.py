"""Which LoRAs a request uses, with the prompt's ``<lora:name:w>`` tags as the one source of truth.

The rule (so the LoRA panel and the prompt can never disagree):

* A LoRA is **on** exactly when the positive prompt holds its tag; the tag's weight is the weight. The panel
  edits the tag (``set_lora_weight_in_prompt``, ``remove_lora_from_prompt``) and reads the rows back from the
  prompt, so typing a tag and moving a slider are the same edit.
* ``request.loras`` holds only LoRAs switched **off** in the panel (``enabled=False``), so they keep their
  weight across restarts and in the queue; they are never applied.
* A request from elsewhere (an image's settings, the CLI) may list enabled LoRAs in ``request.loras``;
  ``prompt_owns_loras`` moves them into the prompt as tags (the engine would apply them anyway, and a tag wins
  over a list entry for the same name), so what the artist sees is what runs.

No Qt here: the rules are plain functions on ``GenerationRequest``.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.prompt.lora_tags import (
    find_extra_networks,
    remove_lora_from_prompt,
    set_lora_weight_in_prompt,
)
from studio.request import GenerationRequest, LoraRef

DEFAULT_WEIGHT = 1.0


@dataclass(frozen=True)
class ActiveLora:
    """One row of the panel: ``name`` as written in the tag or list; ``weight`` None when the tag's weight is
    not a number (the prompt's diagnostics explain it)."""

    name: str
    weight: float | None
    enabled: bool


def prompt_tags(prompt: str) -> dict[str, ActiveLora]:
    """The LoRA tags of ``prompt`` by lower-case name, in order of first appearance (the last tag's weight wins,
    as in the engine)."""
    found: dict[str, ActiveLora] = {}
    for tag in find_extra_networks(prompt):
        name = tag.name.strip()
        if tag.is_lora and name:
            key = name.lower()
            first = found.get(key)
            found[key] = ActiveLora(first.name if first else name, tag.weight, True)
    return found


def active_loras(request: GenerationRequest) -> list[ActiveLora]:
    """The panel's rows: tagged LoRAs (on) first, in prompt order, then the switched-off ones."""
    rows = dict(prompt_tags(request.prompt))
    for ref in request.loras:
        if ref.name.lower() not in rows:
            rows[ref.name.lower()] = ActiveLora(ref.name, ref.weight, ref.enabled)
    return list(rows.values())


def _tag_name(prompt: str, name: str) -> str:
    """The spelling the prompt uses for ``name`` (tags match case-insensitively; edits must hit the same text)."""
    found = prompt_tags(prompt).get(name.lower())
    return found.name if found else name


def _without_ref(loras: tuple[LoraRef, ...], name: str) -> tuple[LoraRef, ...]:
    return tuple(ref for ref in loras if ref.name.lower() != name.lower())


def add_lora(request: GenerationRequest, name: str, weight: float | None = None) -> GenerationRequest:
    """Switch ``name`` on: a tag at the end of the prompt (the remembered weight of a switched-off one, else
    ``weight`` or 1). A LoRA already tagged is left as it is."""
    if name.lower() in prompt_tags(request.prompt):
        return request
    parked = next((ref for ref in request.loras if ref.name.lower() == name.lower()), None)
    if weight is None:
        weight = parked.weight if parked else DEFAULT_WEIGHT
    return request.with_changes(
        prompt=set_lora_weight_in_prompt(request.prompt, name, weight),
        loras=_without_ref(request.loras, name),
    )


def set_weight(request: GenerationRequest, name: str, weight: float) -> GenerationRequest:
    """Rewrite the tag's weight (an on LoRA) or the remembered weight (an off one)."""
    if name.lower() in prompt_tags(request.prompt):
        return request.with_changes(
            prompt=set_lora_weight_in_prompt(request.prompt, _tag_name(request.prompt, name), weight)
        )
    loras = tuple(
        LoraRef(ref.name, weight, ref.enabled, ref.hash10) if ref.name.lower() == name.lower() else ref
        for ref in request.loras
    )
    return request.with_changes(loras=loras)


def set_enabled(request: GenerationRequest, name: str, enabled: bool) -> GenerationRequest:
    """Switch on (tag written back) or off (tag removed, LoRA remembered in ``request.loras``)."""
    if enabled:
        return add_lora(request, name)
    tag = prompt_tags(request.prompt).get(name.lower())
    if tag is None:
        return request
    weight = tag.weight if tag.weight is not None else DEFAULT_WEIGHT
    return request.with_changes(
        prompt=remove_lora_from_prompt(request.prompt, tag.name),
        loras=(*_without_ref(request.loras, name), LoraRef(tag.name, weight, False)),
    )


def remove(request: GenerationRequest, name: str) -> GenerationRequest:
    """Take ``name`` out of the prompt and the list."""
    return request.with_changes(
        prompt=remove_lora_from_prompt(request.prompt, _tag_name(request.prompt, name)),
        loras=_without_ref(request.loras, name),
    )


def prompt_owns_loras(request: GenerationRequest) -> GenerationRequest:
    """``request`` with every enabled ``request.loras`` entry written into the prompt as a tag.

    An entry the prompt already tags is dropped (the tag wins in the engine too); switched-off entries stay.
    Returns ``request`` itself when there is nothing to move.
    """
    tagged = prompt_tags(request.prompt)
    prompt, kept = request.prompt, []
    for ref in request.loras:
        if ref.name.lower() in tagged:
            continue
        if ref.enabled:
            prompt = set_lora_weight_in_prompt(prompt, ref.name, ref.weight)
            tagged = prompt_tags(prompt)
        else:
            kept.append(ref)
    if prompt == request.prompt and len(kept) == len(request.loras):
        return request
    return request.with_changes(prompt=prompt, loras=tuple(kept))
