"""Literal brackets in A1111 prompts: ``\\(`` is a bracket the model reads, ``(`` adds weight.

Trigger words are often stored escaped (``smart falcon \\(umamusume\\)``, as they go into a prompt) and
sometimes not; the artist reads them plain and the prompt gets them escaped.
"""

from __future__ import annotations

import re

_ESCAPED = re.compile(r"\\([()\[\]\\])")
_SPECIAL = re.compile(r"([()\[\]\\])")


def unescape_brackets(text: str) -> str:
    """``text`` as the artist reads it: ``\\(`` becomes ``(``, ``\\\\`` becomes ``\\``."""
    return _ESCAPED.sub(r"\1", text)


def escape_brackets(text: str) -> str:
    """``text`` as literal prompt text: brackets and backslashes escaped (already escaped ones kept once)."""
    return _SPECIAL.sub(r"\\\1", unescape_brackets(text))
