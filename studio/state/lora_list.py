"""The LoRA library for the window, scanned off the GUI thread (a scan reads every file's header).

Works like ``model_list.ModelList``: ``refresh(roots)`` starts a thread, ``changed`` delivers the entries
(``studio.models.lora_library.LoraEntry``; that module imports no torch, so it is safe here).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject

from studio.state.scan_threads import ScannedList

log = logging.getLogger("studio.loras")

FAMILY_BADGES = {"sd15": "SD1.x", "sdxl": "SDXL"}
FAMILY_NAMES = {"sd15": "Stable Diffusion 1.x", "sdxl": "Stable Diffusion XL"}

Scan = Callable[[Sequence[str]], list[Any]]


def default_scan(roots: Sequence[str]) -> list[Any]:
    from studio.models.lora_library import scan_loras

    return scan_loras(roots)


def family_badge(family: str | None) -> str:
    return FAMILY_BADGES.get(family or "", "?")


def base_family(model_family: str | None) -> str | None:
    """The LoRA family a model takes: an inpainting model ("sd15-inpaint") takes its base family's LoRAs."""
    return model_family.split("-", 1)[0] if model_family else None


def unusable_reason(entry: Any, model_family: str | None) -> str | None:
    """Why ``entry`` cannot run on a ``model_family`` model (None: it can, or the model is not known yet)."""
    if getattr(entry, "problem", None):
        return str(entry.problem)
    family = base_family(model_family)
    if family and entry.family and entry.family != family:
        return (
            f"Made for {FAMILY_NAMES.get(entry.family, entry.family)}; the current model is "
            f"{FAMILY_NAMES.get(family, family)}."
        )
    return None


class LoraList(ScannedList):
    """The scanned LoRAs. ``changed`` carries the entry list; ``failed`` a sentence and a traceback."""

    def __init__(self, scan: Scan = default_scan, parent: QObject | None = None) -> None:
        super().__init__(
            lambda roots=(): scan(tuple(str(r) for r in roots)),
            thread_name="studio-lora-scan",
            failure="Looking for LoRAs failed ({error}). Check the LoRA folders in the LoRA tab.",
            parent=parent,
        )

    def names(self) -> set[str]:
        """Lower-case names a ``<lora:name>`` tag can match (file stems and titles, as the engine matches)."""
        found = {e.name.lower() for e in self._entries}
        found.update(e.title.lower() for e in self._entries if getattr(e, "title", None))
        return found

    def get(self, name: str) -> Any | None:
        """The entry a tag's ``name`` means: file stem first, then title, case-insensitively."""
        wanted = name.strip().lower()
        for attribute in ("name", "title"):
            for entry in self._entries:
                if (getattr(entry, attribute, None) or "").lower() == wanted:
                    return entry
        return None

    def search(self, text: str) -> list[Any]:
        """Entries whose name, title or a trigger word contains ``text`` (case-insensitive)."""
        from studio.models.lora_library import LoraLibrary

        return LoraLibrary(self._entries).search(text)


def lora_tag_diagnostics(tags: Sequence[Any], loras: LoraList, model_family: str | None) -> list[Any]:
    """Problems with the prompt's LoRA tags that need the library: an unknown name, a LoRA for another family.

    ``tags`` are ``ExtraNetworkTag``s (``ParsedPrompt.loras``). Nothing is said before the first scan ends, so
    a slow disk never makes every tag look unknown.
    """
    import difflib

    from studio.prompt.diagnostics import PromptDiagnostic

    if not loras.loaded:
        return []
    found = []
    for tag in tags:
        name = tag.name.strip()
        if not name:
            continue  # the syntax check already says the name is missing
        at = tag.start + len(tag.kind) + 2
        entry = loras.get(name)
        if entry is None:
            close = difflib.get_close_matches(name.lower(), sorted(loras.names()), n=1, cutoff=0.6)
            hint = (
                f" Did you mean '{close[0]}'?"
                if close
                else " Check the spelling or add the folder that holds it."
            )
            message = (
                f"No LoRA named '{name}' is in the LoRA library, so generating will stop with an error.{hint}"
            )
            found.append(PromptDiagnostic(at, message, "error"))
            continue
        reason = unusable_reason(entry, model_family)
        if reason:
            found.append(
                PromptDiagnostic(
                    at,
                    f"The LoRA '{name}' cannot be used: {reason} Generating will stop with an error.",
                    "error",
                )
            )
    return found
