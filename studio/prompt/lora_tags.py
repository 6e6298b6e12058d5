"""AUTOMATIC1111's extra-network tags (``<lora:name:0.8>``): finding, removing and editing them in prompt text.

Only ``lora`` tags are applied by the studio; any other kind (``lyco``, ``hypernet``, ...) is still taken out of
the text, as AUTOMATIC1111 does, and kept as an unknown extra network.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from studio.errors import RequestError
from studio.prompt.diagnostics import PromptDiagnostic

# AUTOMATIC1111's own pattern: a word, a colon, then everything up to the first '>' (newlines included).
_TAG = re.compile(r"<(\w+):([^>]+)>")

LORA = "lora"


@dataclass(frozen=True)
class ExtraNetworkTag:
    """One ``<kind:name:weight...>`` tag; ``start``/``end`` index the text it was found in (``end`` exclusive).

    ``weight`` is the first multiplier (1.0 when the tag has none, ``None`` when it is not a number);
    ``args`` holds every ``:``-separated argument after the kind exactly as written, name first.
    """

    kind: str
    name: str
    weight: float | None
    start: int
    end: int
    args: tuple[str, ...] = ()

    @property
    def is_lora(self) -> bool:
        return self.kind == LORA


def _float_or_none(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_named(item: str) -> bool:
    # AUTOMATIC1111 reads "key=value" as a named argument only when there is exactly one '='.
    return item.count("=") == 1


def _weight_index(args: tuple[str, ...]) -> int | None:
    """Index in ``args`` of the text the weight comes from: ``te=`` if given, else the second positional."""
    positional = []
    for index, item in enumerate(args[1:], start=1):
        if _is_named(item) and item.startswith("te="):
            return index
        if not _is_named(item):
            positional.append(index)
    return positional[0] if positional else None


def _weight_text(args: tuple[str, ...], index: int | None) -> str | None:
    if index is None:
        return None
    item = args[index]
    return item.partition("=")[2] if _is_named(item) else item


def _make_tag(match: re.Match[str], offset: int = 0) -> ExtraNetworkTag:
    args = tuple(match.group(2).split(":"))
    text = _weight_text(args, _weight_index(args))
    weight = 1.0 if text is None else _float_or_none(text)
    return ExtraNetworkTag(
        match.group(1), args[0], weight, match.start() + offset, match.end() + offset, args
    )


def _tag_matches(text: str) -> Iterator[re.Match[str]]:
    # Every tag ends with '>', so none lies after the last one. Cutting there matters: the pattern rescans to the
    # end of the text from each '<word:' that no '>' follows, which is quadratic on a pasted run of them.
    return _TAG.finditer(text, 0, text.rfind(">") + 1)


def find_extra_networks(text: str) -> list[ExtraNetworkTag]:
    """Every extra-network tag in ``text``, in order, with positions into ``text``."""
    return [_make_tag(match) for match in _tag_matches(text)]


def strip_extra_networks(text: str) -> tuple[str, list[ExtraNetworkTag]]:
    """Remove every extra-network tag, as AUTOMATIC1111's ``extra_networks.parse_prompt`` does.

    Returns the text without the tags and the tags with their positions in the original ``text``.
    """
    tagged = text.rfind(">") + 1  # see _tag_matches
    return _TAG.sub("", text[:tagged]) + text[tagged:], find_extra_networks(text)


def extra_network_diagnostics(tag: ExtraNetworkTag) -> list[PromptDiagnostic]:
    """Problems with one tag, positioned in the text the tag was found in."""
    shown = f"<{tag.kind}:{':'.join(tag.args)}>"
    if not tag.is_lora:
        return [
            PromptDiagnostic(
                tag.start,
                f"The tag '{shown}' is a {tag.kind} network, which the studio cannot apply, "
                "so it is left out of the prompt.",
            )
        ]
    problems = []
    name_at = tag.start + len(tag.kind) + 2
    if not tag.name.strip():
        problems.append(
            PromptDiagnostic(
                name_at,
                f"The LoRA tag '{shown}' has no name. Write the LoRA's file name, for example <lora:name:0.8>.",
                "error",
            )
        )
    if tag.weight is None:
        index = _weight_index(tag.args)
        assert index is not None  # a missing weight reads as 1.0, so a bad one was written somewhere
        at = name_at + sum(len(item) + 1 for item in tag.args[:index])
        problems.append(
            PromptDiagnostic(
                at,
                f"The weight '{_weight_text(tag.args, index)}' in the LoRA tag '{shown}' is not a number, "
                "so the LoRA cannot be applied. Write a number, for example <lora:name:0.8>.",
                "error",
            )
        )
    return problems


def _format_weight(weight: float) -> str:
    # Four decimals is finer than any LoRA slider; trailing zeros would only clutter the prompt.
    text = f"{weight:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_lora_tag(name: str, weight: float = 1.0) -> str:
    """``<lora:name:weight>`` with the weight rounded to 4 decimals, e.g. ``<lora:ink style:0.75>``."""
    if not name.strip() or ":" in name or ">" in name:
        raise RequestError(
            f"The LoRA name '{name}' cannot be written in a prompt tag: it must not be empty "
            "or contain ':' or '>'. Rename the LoRA file."
        )
    if not math.isfinite(weight):
        raise RequestError(f"The LoRA weight {weight} is not a usable number. Pick a weight such as 0.8.")
    return f"<{LORA}:{name}:{_format_weight(weight)}>"


def _lora_matches(text: str, name: str) -> list[re.Match[str]]:
    return [m for m in _tag_matches(text) if m.group(1) == LORA and m.group(2).split(":")[0] == name]


def set_lora_weight_in_prompt(text: str, name: str, weight: float) -> str:
    """Set the weight of every ``<lora:name...>`` tag in ``text``, or append a new tag when there is none.

    Other arguments of an existing tag (a separate UNet weight, ``dyn=``) are kept as written.
    """
    new_tag = format_lora_tag(name, weight)
    matches = _lora_matches(text, name)
    if not matches:
        separator = "" if not text or text[-1].isspace() else " "
        return text + separator + new_tag
    for match in reversed(matches):
        args = list(match.group(2).split(":"))
        index = _weight_index(tuple(args))
        written = _format_weight(weight)
        if index is None:
            args.insert(1, written)
        elif _is_named(args[index]):
            args[index] = "te=" + written
        else:
            args[index] = written
        text = text[: match.start()] + f"<{LORA}:{':'.join(args)}>" + text[match.end() :]
    return text


def remove_lora_from_prompt(text: str, name: str) -> str:
    """Remove every ``<lora:name...>`` tag and one space beside it (before it if there is one)."""
    for match in reversed(_lora_matches(text, name)):
        start, end = match.start(), match.end()
        if start > 0 and text[start - 1] == " ":
            start -= 1
        elif end < len(text) and text[end] == " ":
            end += 1
        text = text[:start] + text[end:]
    return text
