"""Problems found while reading prompt syntax, worded for the artist and placed at a character position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``"error"``: the part cannot be used as written (AUTOMATIC1111 would refuse it or skip it);
#: ``"warning"``: it is read, but probably not the way it was meant.
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class PromptDiagnostic:
    """One syntax problem: ``position`` is a character index into the prompt text the artist typed."""

    position: int
    message: str
    severity: Severity = "warning"
