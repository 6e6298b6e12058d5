"""The models the studio can offer, found off the GUI thread (discovery reads folders and file headers)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.state.scan_threads import ScanThreads

log = logging.getLogger("studio.models")

FAMILY_LABELS = {"sd15": "Stable Diffusion 1.5", "sdxl": "Stable Diffusion XL"}

Discover = Callable[[Sequence[Path]], list[Any]]


def default_discover(extra_dirs: Sequence[Path]) -> list[Any]:
    from studio.engine.discovery import discover_models

    return discover_models(extra_dirs=tuple(extra_dirs))


UNUSABLE_LABEL = "Cannot be used"


def family_label(family: str | None) -> str:
    return FAMILY_LABELS.get(family or "", family.upper() if family else "Other")


def usable(entry: Any) -> bool:
    """Discovery lists broken models too (with the reason in ``problem``), so the artist sees why."""
    return getattr(entry, "problem", None) is None


class ModelList(QObject):
    """``refresh(dirs)`` runs discovery in a thread; ``changed`` carries the entries (ModelEntry objects)."""

    refreshing = Signal(bool)
    changed = Signal(object)  # list of entries (object: PySide must not convert the list)
    failed = Signal(str, str)  # message, detail
    _scanned = Signal(int, object)  # from the discovery thread to the GUI thread

    def __init__(self, discover: Discover = default_discover, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._discover = discover
        self._entries: list[Any] = []
        self._generation = 0
        self.loaded = False
        self._threads = ScanThreads("studio-discovery")
        self._scanned.connect(self._deliver)

    def entries(self) -> list[Any]:
        return list(self._entries)

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

    def refresh(self, extra_dirs: Sequence[Path] = ()) -> None:
        self._generation += 1
        generation = self._generation
        self.refreshing.emit(True)
        self._threads.start(self._scan, generation, tuple(extra_dirs))

    def shutdown(self, timeout: float = 0.5) -> bool:
        """Before the window goes: no more reports, and up to ``timeout`` s for a running scan to end."""
        return self._threads.close(timeout)

    def _scan(self, generation: int, extra_dirs: tuple[Path, ...]) -> None:
        try:
            entries = list(self._discover(extra_dirs))
        except Exception as exc:  # noqa: BLE001 - a broken folder must not stop the studio
            log.exception("model discovery failed")
            self._threads.emit(
                self.failed,
                f"Looking for models failed ({exc}). Check the model folders in the settings.",
                traceback.format_exc(),
            )
            entries = None
        self._threads.emit(self._scanned, generation, entries)

    def _deliver(self, generation: int, entries: list[Any] | None) -> None:
        # A newer refresh supersedes an older one still scanning.
        if generation != self._generation:
            return
        if entries is not None:
            self._entries = entries
            self.loaded = True
            self.changed.emit(self.entries())
        self.refreshing.emit(False)
