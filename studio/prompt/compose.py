"""Building the exact text sent to the model: subject + style + lighting + composition.

The result of ``compose`` is what the engine encodes and what the PNG metadata records, so it must be stable:
the same request always gives the same text.
"""

from __future__ import annotations

import re

from studio.prompt.presets import PLACEHOLDER, PresetKind, find_preset
from studio.request import GenerationRequest

# Two or more commas with only whitespace between them: an empty term.
_EMPTY_TERMS = re.compile(r"\s*,(?:\s*,)+\s*")
_EDGE_SEPARATORS = re.compile(r"^[\s,]+|[\s,]+$")
# Words left hanging when a wrapping preset has no subject to wrap: "digital art of {prompt}" -> "digital art".
_DANGLING_WORD = re.compile(
    r"(?:^|\s+)(?:of|depicting|featuring|showing|with|about|a|an|the)$", re.IGNORECASE
)


def compose(request: GenerationRequest) -> tuple[str, str]:
    """Return ``(final_prompt, final_negative)`` for ``request``; pure.

    The subject is wrapped by or followed by the style, then the lighting, then the composition. The negative
    is the request's own followed by each preset's, without repeated terms. An unknown preset name raises
    ``RequestError``.
    """
    text = tidy_prompt(request.prompt)
    negatives = [request.negative_prompt]
    choices: tuple[tuple[PresetKind, str | None], ...] = (
        ("style", request.style),
        ("lighting", request.lighting),
        ("composition", request.composition),
    )
    for kind, choice in choices:
        if choice is None or not choice.strip():
            continue
        preset = find_preset(kind, choice)
        text = apply_template(text, preset.prompt)
        negatives.append(preset.negative)
    return text, merge_terms(*negatives)


def apply_template(subject: str, template: str) -> str:
    """Put ``subject`` into a preset's ``{prompt}`` placeholder, or append the template after it.

    With an empty subject, the placeholder goes together with the words that led up to it, so
    "digital art of {prompt}, detailed" becomes "digital art, detailed" rather than "digital art of , detailed".
    """
    subject = tidy_prompt(subject)
    if PLACEHOLDER not in template:
        return _join(subject, tidy_prompt(template))
    before, after = template.split(PLACEHOLDER, 1)
    if subject:
        return tidy_prompt(before + subject + after)
    # A comma on either side of the missing subject means the two halves were separate terms.
    comma = before.rstrip().endswith(",") or after.lstrip().startswith(",")
    before = _EDGE_SEPARATORS.sub("", before)
    while (shorter := _DANGLING_WORD.sub("", before)) != before:
        before = _EDGE_SEPARATORS.sub("", shorter)
    after = _EDGE_SEPARATORS.sub("", after)
    return tidy_prompt((", " if comma else " ").join(part for part in (before, after) if part))


def tidy_prompt(text: str) -> str:
    """Drop empty comma-separated terms and separators at the ends; leaves everything else as written."""
    return _EDGE_SEPARATORS.sub("", _EMPTY_TERMS.sub(", ", text))


def split_terms(text: str) -> list[str]:
    """The non-empty comma-separated terms of a prompt, stripped.

    Commas inside A1111 groups such as ``(worst quality, low quality:1.4)`` do not split, and ``\\(`` is a
    literal bracket, as in A1111.
    """
    terms: list[str] = []
    depth = 0
    start = 0
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            terms.append(text[start:index])
            start = index + 1
    terms.append(text[start:])
    return [term for term in (tidy_prompt(t) for t in terms) if term]


def merge_terms(*texts: str) -> str:
    """Join the terms of ``texts`` with ", ", dropping repeats (case- and spacing-insensitive, first wins)."""
    seen: set[str] = set()
    kept: list[str] = []
    for text in texts:
        for term in split_terms(text):
            key = " ".join(term.casefold().split())
            if key not in seen:
                seen.add(key)
                kept.append(term)
    return ", ".join(kept)


def _join(first: str, second: str) -> str:
    return ", ".join(part for part in (first, second) if part)
