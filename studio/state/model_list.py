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


def _format_word(entry: Any) -> str:
    kind = getattr(entry, "kind", "")
    if kind == "folder":
        return "diffusers folder"
    if kind == "hub_cache":
        return "Hugging Face cache"
    suffix = Path(str(entry.reference)).suffix.lstrip(".").lower()
    return f"{suffix} file" if suffix else "file"


def _folder_word(entry: Any) -> str:
    return Path(str(entry.reference)).parent.name or str(Path(str(entry.reference)).parent)


def model_labels(entries: Sequence[Any]) -> dict[str, str]:
    """What the model list shows for each entry (by reference): its name, and where two share a name, what tells
    them apart: the format (folder or file), then the folder it is in, then the whole folder path."""
    labels = {str(e.reference): e.name for e in entries}
    by_name: dict[str, list[Any]] = {}
    for entry in entries:
        by_name.setdefault(entry.name.lower(), []).append(entry)
    for same in by_name.values():
        if len(same) < 2:
            continue
        for entry in same:
            parts = [_format_word(entry)]
            twins = [e for e in same if _format_word(e) == parts[0]]
            if len(twins) > 1:
                folders = [_folder_word(e) for e in twins]
                unique = folders.count(_folder_word(entry)) == 1
                parts.append(f"in {_folder_word(entry) if unique else Path(str(entry.reference)).parent}")
            labels[str(entry.reference)] = f"{entry.name} ({', '.join(parts)})"
    return labels


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

    def labels(self) -> dict[str, str]:
        """Each entry's label by reference (see ``model_labels``)."""
        return model_labels(self._entries)

    def find(self, reference: str) -> Any | None:
        matches = [e for e in self._entries if str(e.reference) == reference or e.name == reference]
        return next((e for e in matches if usable(e)), matches[0] if matches else None)
