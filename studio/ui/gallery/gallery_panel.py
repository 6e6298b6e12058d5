"""The gallery: thumbnails of the output folder, newest first, with the artist's actions on each image.

Model/view (``GalleryModel`` in a ``QListView`` in icon mode), so ten thousand images cost ten thousand paths,
not ten thousand widgets. Thumbnails decode off the GUI thread (``ThumbnailLoader``) and only for the rows on
screen plus a screenful either side.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QFile,
    QFileSystemWatcher,
    QModelIndex,
    QObject,
    QPoint,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QDesktopServices, QImage, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QListView, QMenu, QMessageBox, QVBoxLayout, QWidget

from studio.ui.gallery.gallery_model import IMAGE_SUFFIXES, GalleryModel, scan_images
from studio.ui.gallery.thumbnail_delegate import ThumbnailDelegate
from studio.ui.gallery.thumbnail_loader import ThumbnailLoader
from studio.ui.shell import theme
from studio.ui.shell.icons import icon

log = logging.getLogger(__name__)

THUMB_SIZE = 128
CELL = THUMB_SIZE + 12
PREFETCH_SCREENS = 1  # rows this many screens above and below the visible ones load too


def system_trash(path: Path) -> bool:
    """``QFile.moveToTrash``: True when the file went to the system trash."""
    ok, _ = QFile.moveToTrash(str(path))
    return bool(ok)


def move_to_trash(path: Path) -> None:
    """Send ``path`` to the trash, or delete it where there is none (some Linux setups, network drives)."""
    if not system_trash(path) and path.exists():
        path.unlink()


EMPTY_TEXT = (
    "Your pictures will appear here, newest first, as you make them. Click one to see it large; right-click "
    "it to reuse its settings or seed."
)


class GalleryPanel(QWidget):
    image_activated = Signal(Path)
    reuse_settings_requested = Signal(Path)
    reuse_seed_requested = Signal(Path)
    img2img_requested = Signal(Path)
    inpaint_requested = Signal(Path)
    image_deleted = Signal(Path)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._folder: Path | None = None
        self.model = GalleryModel(_tile(False), _tile(True), self)
        self.loader = ThumbnailLoader(THUMB_SIZE, self)
        self.loader.loaded.connect(self._on_thumbnail)

        self.view = QListView(self)
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.view.setGridSize(QSize(CELL, CELL))
        self.view.setUniformItemSizes(True)
        self.view.setItemDelegate(ThumbnailDelegate(CELL, self.view))
        self.view.setMouseTracking(True)  # hover frames
        self.view.setSpacing(0)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.view.setAccessibleName("Gallery")
        self.view.setToolTip("Your images, newest first. Click to view; right-click for more.")
        self.view.clicked.connect(self._activate)
        self.view.customContextMenuRequested.connect(self._show_menu)
        self.view.installEventFilter(self)

        # An empty gallery says what will appear in it, rather than being an unlabelled dark box.
        self.empty = QLabel(EMPTY_TEXT, self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setProperty("role", "muted")
        self.empty.setAccessibleName("Empty gallery")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.view)
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            signal.connect(lambda *_: self._show_empty())
        self._show_empty()

        # Scrolling and resizing fire in bursts; decide what to load once the burst settles.
        self._visible_timer = QTimer(self, singleShot=True, interval=40)
        self._visible_timer.timeout.connect(self._load_visible)
        # (Through a lambda: valueChanged(int) straight into start(int) would set the timer's interval.)
        self.view.verticalScrollBar().valueChanged.connect(lambda *_: self._visible_timer.start())
        self.model.modelReset.connect(lambda: self._visible_timer.start())
        self.model.rowsInserted.connect(lambda *_: self._visible_timer.start())

        # Files saved or removed by another program (or a second studio window) show up by themselves.
        self._watcher = QFileSystemWatcher(self)
        self._refresh_timer = QTimer(self, singleShot=True, interval=300)
        self._refresh_timer.timeout.connect(self.refresh)
        self._watcher.directoryChanged.connect(lambda *_: self._refresh_timer.start())

    def _show_empty(self) -> None:
        empty = self.model.rowCount() == 0
        self.empty.setVisible(empty)
        self.view.setVisible(not empty)

    # --- public API -----------------------------------------------------------------------------------

    def set_folder(self, path: Path) -> None:
        """Show the images of ``path`` (created when missing, so a fresh install shows an empty gallery)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
        self._folder = path
        self._watcher.addPath(str(path))
        self.refresh()

    def current_folder(self) -> Path | None:
        return self._folder

    def refresh(self) -> None:
        """Read the folder again (new, changed and removed files)."""
        if self._folder is None:
            return
        current = self.view.currentIndex()
        current_path = self.model.path_at(current.row()) if current.isValid() else None
        scrolled = self.view.verticalScrollBar().value()
        self.model.set_images(scan_images(self._folder))
        if current_path is not None and (row := self.model.row_of(current_path)) >= 0:
            self.view.setCurrentIndex(self.model.index(row))
        self.view.verticalScrollBar().setValue(scrolled)

    def add_image(self, path: Path) -> None:
        """A new result: it goes first and its thumbnail loads right away."""
        path = Path(path)
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            log.warning("Gallery asked to add %s, which does not exist", path)
            return
        self.model.prepend(path, mtime)
        self.view.scrollToTop()
        self.loader.load([path])

    def paths(self) -> list[Path]:
        """The listed images, in display order (newest first)."""
        return self.model.paths()

    def delete_image(self, path: Path, *, confirm: bool = True) -> bool:
        """Move ``path`` to the trash after asking; only images inside the gallery's folder. True when gone."""
        if not self._is_deletable(path):
            log.warning("Refused to delete %s: not an image inside %s", path, self._folder)
            return False
        if confirm:
            answer = QMessageBox.question(
                self,
                "Delete image",
                f"Move '{path.name}' to the trash?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        try:
            move_to_trash(path)
        except OSError as exc:
            QMessageBox.warning(self, "Delete image", f"Could not delete '{path.name}' ({exc.strerror}).")
            return False
        self.model.remove(path)
        self.image_deleted.emit(path)
        return True

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._visible_timer.start()  # a bigger gallery shows more rows

    def closeEvent(self, event) -> None:  # noqa: N802
        self.loader.shutdown()
        super().closeEvent(event)

    # --- internals ------------------------------------------------------------------------------------

    def _is_deletable(self, path: Path) -> bool:
        if self._folder is None or path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            return False
        try:
            return path.resolve().is_relative_to(self._folder.resolve()) and not path.is_symlink()
        except OSError:
            return False

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            self.image_activated.emit(self.model.path_at(index.row()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # Enter opens the current image, as a click does (QListView's "activated" would double up with clicks).
        if watched is self.view and event.type() == QEvent.Type.KeyPress:
            if isinstance(event, QKeyEvent) and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._activate(self.view.currentIndex())
                return True
        return super().eventFilter(watched, event)

    def visible_rows(self) -> range:
        """Rows on screen, from the first one at the top-left and the grid's columns and rows."""
        count = self.model.rowCount()
        if count == 0:
            return range(0)
        viewport = self.view.viewport().rect()
        first = self.view.indexAt(QPoint(CELL // 2, 4))
        if not first.isValid():
            first = self.view.indexAt(QPoint(CELL // 2, CELL // 2))
        start = first.row() if first.isValid() else 0
        columns = max(1, viewport.width() // CELL)
        lines = viewport.height() // CELL + 2  # a partly shown line at the top and at the bottom
        return range(start, min(count, start + columns * lines))

    def _load_visible(self) -> None:
        rows = self.visible_rows()
        if not rows:
            return
        per_screen = len(rows)
        count = self.model.rowCount()
        before = range(max(0, rows.start - per_screen * PREFETCH_SCREENS), rows.start)
        after = range(rows.stop, min(count, rows.stop + per_screen * PREFETCH_SCREENS))
        wanted = [r for r in (*rows, *after, *reversed(before)) if self.model.needs_thumbnail(r)]
        for row in rows:
            self.model.touch(self.model.path_at(row))
        if wanted:
            self.loader.load([self.model.path_at(r) for r in wanted])

    def _on_thumbnail(self, path: str, image: QImage) -> None:
        self.model.set_thumbnail(Path(path), None if image.isNull() else QPixmap.fromImage(image))

    def _show_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        path = self.model.path_at(index.row())
        menu = self._build_menu(path)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def _build_menu(self, path: Path) -> QMenu:
        menu = QMenu(self)
        menu.setAccessibleName("Image actions")
        entries = (
            ("reuse", "Reuse all settings", "Put this image's prompt and settings back in the panels",
             lambda: self.reuse_settings_requested.emit(path)),
            ("seed", "Reuse seed", "Use this image's seed for the next generation",
             lambda: self.reuse_seed_requested.emit(path)),
            ("image", "Use as img2img source", "Start the next generation from this image",
             lambda: self.img2img_requested.emit(path)),
            (None, "Inpaint…", "Paint over the part of this image to repaint",
             lambda: self.inpaint_requested.emit(path)),
            None,
            (None, "Copy image", "Copy the image to the clipboard", lambda: self._copy(path)),
            ("folder", "Show in folder", "Open the folder that holds this image",
             lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))),
            (None, "Export as JPEG", "Write a JPEG copy into the 'exports' folder, keeping its settings",
             lambda: self.export_image(path, "jpeg")),
            (None, "Export as WebP", "Write a WebP copy into the 'exports' folder, keeping its settings",
             lambda: self.export_image(path, "webp")),
            None,
            ("trash", "Delete…", "Move this image to the trash", lambda: self.delete_image(path)),
        )  # fmt: skip
        for entry in entries:
            if entry is None:
                menu.addSeparator()
                continue
            icon_name, text, tip, slot = entry
            action = menu.addAction(icon(icon_name), text) if icon_name else menu.addAction(text)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(slot)
        menu.setToolTipsVisible(True)
        return menu

    def export_image(self, path: Path, fmt: str) -> Path | None:
        """Export ``path`` as ``fmt`` into ``exports/`` beside it (settings and provenance kept); say where."""
        from studio.errors import StudioError
        from studio.metadata.export import export_image
        from studio.metadata.saving import creator_tool

        try:
            written = export_image(path, fmt, path.parent / "exports", creator_tool())
        except StudioError as exc:
            QMessageBox.warning(self, "Export image", str(exc))
            return None
        QMessageBox.information(self, "Export image", f"Exported as {written.name} in {written.parent}.")
        return written

    def _copy(self, path: Path) -> None:
        image = QImage(str(path))
        if image.isNull():
            log.warning("Could not read %s to copy it", path)
            return
        QApplication.clipboard().setImage(image)


def _tile(broken: bool) -> QPixmap:
    """The square shown before a thumbnail arrives (or, crossed, for a file that is not an image)."""
    pixmap = QPixmap(THUMB_SIZE, THUMB_SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(theme.colour("panel"))
    painter.drawRoundedRect(8, 8, THUMB_SIZE - 16, THUMB_SIZE - 16, 8, 8)
    if broken:
        pen_colour = QColor(theme.colour("error"))
        painter.setPen(pen_colour)
        m = THUMB_SIZE // 3
        painter.drawLine(m, m, THUMB_SIZE - m, THUMB_SIZE - m)
        painter.drawLine(THUMB_SIZE - m, m, m, THUMB_SIZE - m)
    painter.end()
    return pixmap
