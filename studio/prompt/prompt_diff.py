"""What sets one prompt apart from others: the words a queue entry shows so similar jobs can be told apart."""

from __future__ import annotations

import re
from collections.abc import Sequence

# A LoRA/extra-network tag is one word; otherwise words end at spaces, commas and the weighting brackets.
_WORD = re.compile(r"<[^>]+>|[^\s,()\[\]]+")


def prompt_words(prompt: str) -> list[str]:
    """The words of ``prompt`` in order, weights (``:1.2``) and trailing punctuation left off."""
    words = []
    for match in _WORD.findall(prompt):
        word = match if match.startswith("<") else re.sub(r":[\d.]+$", "", match).strip(".;:!?")
        if word:
            words.append(word)
    return words


def distinct_words(prompt: str, others: Sequence[str]) -> list[str]:
    """The words of ``prompt`` that none of ``others`` holds (case ignored), in order, each once.

    Empty when there are no others or every word is shared: the caller then shows the prompt itself.
    """
    if not others:
        return []
    seen = {word.casefold() for other in others for word in prompt_words(other)}
    found: list[str] = []
    for word in prompt_words(prompt):
        if word.casefold() not in seen and word not in found:
            found.append(word)
    return found
