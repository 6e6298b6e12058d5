"""The gallery's list of images: paths newest first, with the thumbnails loaded so far."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPixmap

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
MAX_DEPTH = 2  # outputs/ and dated subfolders below it; deeper trees are not a gallery
MAX_CACHED = 600  # thumbnails kept in memory (about 60 KB each at 128 px)

_Index = QModelIndex | QPersistentModelIndex


def scan_images(folder: Path) -> list[tuple[Path, int]]:
    """Images under ``folder`` (and its subfolders, two levels deep) as (path, mtime_ns), newest first."""
    found: list[tuple[Path, int]] = []

    def walk(directory: str, depth: int) -> None:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH:
                        walk(entry.path, depth + 1)
                elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES:
                    found.append((Path(entry.path), entry.stat().st_mtime_ns))
            except OSError:
                continue  # vanished while we looked

    walk(str(folder), 0)
    found.sort(key=lambda item: (item[1], item[0].name), reverse=True)
    return found


class GalleryModel(QAbstractListModel):
    """Rows are image paths; ``DecorationRole`` is the thumbnail once loaded, else the placeholder."""

    def __init__(self, placeholder: QPixmap, broken: QPixmap, parent: Any = None) -> None:
        super().__init__(parent)
        self._paths: list[Path] = []
        self._mtimes: dict[Path, int] = {}
        self._thumbs: OrderedDict[Path, QPixmap] = OrderedDict()
        self._broken: set[Path] = set()
        self._placeholder = placeholder
        self._broken_pixmap = broken

    # --- Qt model interface ---------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._paths)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._paths):
            return None
        path = self._paths[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            if path in self._broken:
                return self._broken_pixmap
            return self._thumbs.get(path, self._placeholder)
        if role == Qt.ItemDataRole.ToolTipRole:
            if path in self._broken:
                return f"{path.name}\nThis file cannot be read as an image."
            return path.name
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"Image {path.name}"
        if role == PATH_ROLE:
            return path
        return None

    # --- contents -------------------------------------------------------------------------------------

    def paths(self) -> list[Path]:
        return list(self._paths)

    def path_at(self, row: int) -> Path:
        return self._paths[row]

    def row_of(self, path: Path) -> int:
        try:
            return self._paths.index(path)
        except ValueError:
            return -1

    def set_images(self, images: list[tuple[Path, int]]) -> None:
        """Replace the rows; keeps thumbnails of files that did not change since they were loaded.

        The same list in the same order (the folder watcher after our own save) only repaints changed files,
        so the view keeps its scroll position and selection.
        """
        new_mtimes = dict(images)
        if [path for path, _ in images] == self._paths:
            changed = [path for path in self._paths if new_mtimes[path] != self._mtimes.get(path)]
            self._mtimes = new_mtimes
            for path in changed:
                self._forget_thumbnail(path)
                index = self.index(self.row_of(path))
                self.dataChanged.emit(index, index)
            return
        self.beginResetModel()
        self._paths = [path for path, _ in images]
        for path in list(self._thumbs):
            if new_mtimes.get(path) != self._mtimes.get(path):
                del self._thumbs[path]
        self._broken = {p for p in self._broken if new_mtimes.get(p) == self._mtimes.get(p)}
        self._mtimes = new_mtimes
        self.endResetModel()

    def prepend(self, path: Path, mtime_ns: int) -> None:
        """Put ``path`` first (moving it there if it is listed already)."""
        row = self.row_of(path)
        if row >= 0:
            self.remove(path)
        self._forget_thumbnail(path)
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._paths.insert(0, path)
        self._mtimes[path] = mtime_ns
        self.endInsertRows()

    def remove(self, path: Path) -> None:
        row = self.row_of(path)
        if row < 0:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._paths[row]
        self._mtimes.pop(path, None)
        self.endRemoveRows()
        self._forget_thumbnail(path)

    # --- thumbnails -----------------------------------------------------------------------------------

    def needs_thumbnail(self, row: int) -> bool:
        path = self._paths[row]
        return path not in self._thumbs and path not in self._broken

    def has_thumbnail(self, path: Path) -> bool:
        return path in self._thumbs

    def is_broken(self, path: Path) -> bool:
        return path in self._broken

    def set_thumbnail(self, path: Path, pixmap: QPixmap | None) -> None:
        """Store a loaded thumbnail (``None``: the file could not be read) and repaint its row."""
        row = self.row_of(path)
        if row < 0:
            return  # deleted or the folder changed while it loaded
        if pixmap is None:
            self._broken.add(path)
        else:
            self._thumbs[path] = pixmap
            self._thumbs.move_to_end(path)
            while len(self._thumbs) > MAX_CACHED:
                self._thumbs.popitem(last=False)
        index = self.index(row)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole])

    def touch(self, path: Path) -> None:
        """Mark a thumbnail as recently seen so the cache drops others first."""
        if path in self._thumbs:
            self._thumbs.move_to_end(path)

    def _forget_thumbnail(self, path: Path) -> None:
        self._thumbs.pop(path, None)
        self._broken.discard(path)
