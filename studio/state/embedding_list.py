"""The textual-inversion embeddings for the window, scanned off the GUI thread (each file's header is read).

Works like ``lora_list.LoraList``: ``refresh(roots)`` with the LoRA roots (an A1111/ComfyUI root brings its
embeddings folder, as ``studio.models.embedding_library.embedding_folders`` says), ``changed`` delivers the
``EmbeddingEntry`` list (that module imports no torch, so it is safe here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject

from studio.state.scan_threads import ScannedList

Scan = Callable[[Sequence[str]], list[Any]]


def default_scan(roots: Sequence[str]) -> list[Any]:
    from studio.models.embedding_library import scan_embeddings

    return scan_embeddings(roots)


class EmbeddingList(ScannedList):
    """The scanned embeddings. ``changed`` carries the entry list; ``failed`` a sentence and a traceback."""

    def __init__(self, scan: Scan = default_scan, parent: QObject | None = None) -> None:
        super().__init__(
            lambda roots=(): scan(tuple(str(r) for r in roots)),
            thread_name="studio-embedding-scan",
            failure="Looking for embeddings failed ({error}). Check the LoRA folders in the LoRA tab.",
            parent=parent,
        )
