"""The models the studio can offer, found off the GUI thread (discovery reads folders and file headers)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from studio.state.scan_threads import ScannedList

log = logging.getLogger("studio.models")

FAMILY_LABELS = {"sd15": "Stable Diffusion 1.5", "sdxl": "Stable Diffusion XL"}

Discover = Callable[[Sequence[Path]], list[Any]]


def default_discover(extra_dirs: Sequence[Path]) -> list[Any]:
    from studio.models.discovery import discover_models

    return discover_models(extra_dirs=tuple(extra_dirs))


UNUSABLE_LABEL = "Cannot be used"


def family_label(family: str | None) -> str:
    return FAMILY_LABELS.get(family or "", family.upper() if family else "Other")


def usable(entry: Any) -> bool:
    """Discovery lists broken models too (with the reason in ``problem``), so the artist sees why."""
    return getattr(entry, "problem", None) is None


class ModelList(ScannedList):
    """``refresh(dirs)`` runs discovery in a thread; ``changed`` carries the entries (ModelEntry objects)."""

    def __init__(self, discover: Discover = default_discover, parent: QObject | None = None) -> None:
        super().__init__(
            lambda extra_dirs=(): discover(tuple(extra_dirs)),
            thread_name="studio-discovery",
            failure="Looking for models failed ({error}). Check the model folders in the settings.",
            parent=parent,
        )

    def grouped(self) -> dict[str, list[Any]]:
        """Entries by family label, SD1.5 first, names sorted within a group."""
        groups: dict[str, list[Any]] = {}
        order = {"sd15": 0, "sdxl": 1}
        for entry in sorted(
            self._entries, key=lambda e: (not usable(e), order.get(e.family, 2), e.name.lower())
        ):
            label = family_label(entry.family) if usable(entry) else UNUSABLE_LABEL
            groups.setdefault(label, []).append(entry)
        return groups

    def find(self, reference: str) -> Any | None:
        matches = [e for e in self._entries if str(e.reference) == reference or e.name == reference]
        return next((e for e in matches if usable(e)), matches[0] if matches else None)
