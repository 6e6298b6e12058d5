"""The gallery: newest first, lazy thumbnails off the GUI thread, actions, and safe deletion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QThread
from PySide6.QtGui import QColor, QGuiApplication, QImage
from PySide6.QtWidgets import QMessageBox

from studio.ui.gallery import gallery_panel, thumbnail_loader
from studio.ui.gallery.gallery_panel import GalleryPanel


def _write_image(path: Path, colour: str, mtime: int, size: tuple[int, int] = (64, 48)) -> Path:
    image = QImage(*size, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    assert image.save(str(path))
    os.utime(path, ns=(mtime * 10**9, mtime * 10**9))
    return path


@pytest.fixture
def outputs(tmp_path) -> Path:
    folder = tmp_path / "outputs"
    folder.mkdir()
    _write_image(folder / "old.png", "#ff0000", 1_000)
    _write_image(folder / "middle.jpg", "#00ff00", 2_000)
    _write_image(folder / "new.webp", "#0000ff", 3_000)
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def panel(qtbot) -> GalleryPanel:
    widget = GalleryPanel()
    qtbot.addWidget(widget)
    widget.resize(420, 320)
    widget.show()
    yield widget
    widget.loader.shutdown()


def _wait_for_thumbnails(qtbot, panel: GalleryPanel, paths: list[Path]) -> None:
    panel._load_visible()
    qtbot.waitUntil(
        lambda: all(panel.model.has_thumbnail(p) or panel.model.is_broken(p) for p in paths), timeout=5000
    )


def test_lists_images_newest_first_and_ignores_other_files(panel, outputs):
    panel.set_folder(outputs)
    assert panel.current_folder() == outputs
    assert [p.name for p in panel.paths()] == ["new.webp", "middle.jpg", "old.png"]


def test_thumbnails_load_off_the_gui_thread_and_are_small(qtbot, panel, outputs, monkeypatch):
    threads = []
    real_read = thumbnail_loader.read_thumbnail

    def spy(path, size):
        threads.append(QThread.currentThread())
        return real_read(path, size)

    monkeypatch.setattr(thumbnail_loader, "read_thumbnail", spy)
    big = _write_image(outputs / "big.png", "#808080", 4_000, size=(1024, 512))
    panel.set_folder(outputs)
    _wait_for_thumbnails(qtbot, panel, panel.paths())
    assert threads and all(t is not QThread.currentThread() for t in threads)
    pixmap = panel.model.data(panel.model.index(0), Qt.ItemDataRole.DecorationRole)
    assert panel.model.path_at(0) == big
    assert (pixmap.width(), pixmap.height()) == (gallery_panel.THUMB_SIZE, gallery_panel.THUMB_SIZE // 2)
    assert pixmap.toImage().pixelColor(10, 10) == QColor("#808080")


def test_only_visible_and_nearby_thumbnails_load(qtbot, panel, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        _write_image(folder / f"img{i:03}.png", "#336699", 10_000 + i, size=(8, 8))
    panel.set_folder(folder)
    panel._load_visible()
    visible = len(panel.visible_rows())
    assert 0 < visible < 300
    requested = set(panel.loader.requested)
    assert str(panel.paths()[0]) in requested
    assert len(requested) <= visible * (1 + 2 * gallery_panel.PREFETCH_SCREENS)
    assert str(panel.paths()[-1]) not in requested


def test_unreadable_image_is_marked_not_retried(qtbot, panel, outputs):
    broken = outputs / "broken.png"
    broken.write_bytes(b"not a png at all")
    panel.set_folder(outputs)
    _wait_for_thumbnails(qtbot, panel, panel.paths())
    assert panel.model.is_broken(broken)
    row = panel.model.row_of(broken)
    assert "cannot be read" in panel.model.data(panel.model.index(row), Qt.ItemDataRole.ToolTipRole)
    assert not panel.model.needs_thumbnail(row)


def test_add_image_puts_a_new_result_first(qtbot, panel, outputs):
    panel.set_folder(outputs)
    fresh = _write_image(
        outputs / "fresh.png", "#ffffff", 500
    )  # an old mtime: order must come from add_image
    panel.add_image(fresh)
    assert panel.paths()[0] == fresh
    assert panel.paths().count(fresh) == 1
    qtbot.waitUntil(lambda: panel.model.has_thumbnail(fresh), timeout=5000)


def test_refresh_sees_files_added_and_removed_outside(panel, outputs):
    panel.set_folder(outputs)
    (outputs / "old.png").unlink()
    _write_image(outputs / "newest.png", "#ffffff", 9_000)
    panel.refresh()
    assert [p.name for p in panel.paths()] == ["newest.png", "new.webp", "middle.jpg"]


def test_click_and_enter_activate_the_image(qtbot, panel, outputs):
    panel.set_folder(outputs)
    first = panel.view.visualRect(panel.model.index(0)).center()
    with qtbot.waitSignal(panel.image_activated) as blocker:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=first)
    assert blocker.args == [panel.paths()[0]]
    panel.view.setCurrentIndex(panel.model.index(1))
    with qtbot.waitSignal(panel.image_activated) as blocker:
        qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    assert blocker.args == [panel.paths()[1]]


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("Reuse all settings", "reuse_settings_requested"),
        ("Reuse seed", "reuse_seed_requested"),
        ("Use as img2img source", "img2img_requested"),
    ],
)
def test_context_menu_actions_emit_the_path(qtbot, panel, outputs, text, signal):
    panel.set_folder(outputs)
    path = panel.paths()[2]
    menu = panel._build_menu(path)
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.toolTip()
    with qtbot.waitSignal(getattr(panel, signal)) as blocker:
        action.trigger()
    assert blocker.args == [path]


def test_copy_puts_the_image_on_the_clipboard(panel, outputs):
    panel.set_folder(outputs)
    menu = panel._build_menu(outputs / "old.png")
    next(a for a in menu.actions() if a.text() == "Copy image").trigger()
    copied = QGuiApplication.clipboard().image()
    assert copied.pixelColor(1, 1) == QColor("#ff0000")


def test_delete_asks_then_trashes(qtbot, panel, outputs, monkeypatch):
    trashed = []
    monkeypatch.setattr(gallery_panel, "system_trash", lambda p: trashed.append(p) or p.unlink() or True)
    panel.set_folder(outputs)
    target = outputs / "middle.jpg"

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert panel.delete_image(target) is False
    assert target.exists() and target in panel.paths()

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.image_deleted) as blocker:
        assert panel.delete_image(target) is True
    assert blocker.args == [target]
    assert trashed == [target] and not target.exists()
    assert target not in panel.paths()


def test_delete_falls_back_to_unlink_without_a_trash(panel, outputs, monkeypatch):
    monkeypatch.setattr(gallery_panel, "system_trash", lambda p: False)
    panel.set_folder(outputs)
    assert panel.delete_image(outputs / "old.png", confirm=False)
    assert not (outputs / "old.png").exists()


def test_delete_never_touches_files_outside_the_folder(panel, outputs, tmp_path, monkeypatch):
    monkeypatch.setattr(gallery_panel, "system_trash", lambda p: pytest.fail(f"tried to trash {p}"))
    outside = _write_image(tmp_path / "precious.png", "#ffffff", 1)
    panel.set_folder(outputs)
    assert panel.delete_image(outside, confirm=False) is False
    assert panel.delete_image(outputs / ".." / "precious.png", confirm=False) is False
    assert panel.delete_image(outputs / "notes.txt", confirm=False) is False
    link = outputs / "link.png"
    link.symlink_to(outside)
    assert panel.delete_image(link, confirm=False) is False
    assert outside.exists() and (outputs / "notes.txt").exists()


def test_context_menu_opens_on_an_image_only(qtbot, panel, outputs, monkeypatch):
    shown = []

    class StubMenu:
        def __init__(self, path):
            self.path = path

        def exec(self, *args):
            shown.append(self.path)

    monkeypatch.setattr(panel, "_build_menu", StubMenu)
    panel.set_folder(outputs)
    panel._show_menu(panel.view.visualRect(panel.model.index(0)).center())
    panel._show_menu(QPoint(400, 300))  # empty space below the three images
    assert shown == [panel.paths()[0]]


def test_a_long_session_of_void_calls_does_not_free_none(qtbot, panel):
    """PySide6 6.12 on Python 3.11 takes a reference from None on each void call; ~5000 used to abort."""
    for _ in range(20_000):
        panel.view.viewport().update()
    assert panel.isVisible()


def test_refresh_of_an_unchanged_folder_keeps_selection_and_skips_reset(qtbot, panel, outputs):
    panel.set_folder(outputs)
    panel.view.setCurrentIndex(panel.model.index(1))
    with qtbot.assertNotEmitted(panel.model.modelReset):
        panel.refresh()
    assert panel.view.currentIndex().row() == 1
    _write_image(outputs / "newest.png", "#ffffff", 9_000)
    panel.refresh()
    assert panel.model.path_at(panel.view.currentIndex().row()) == outputs / "middle.jpg"


def test_show_in_folder_opens_the_images_folder(panel, outputs, monkeypatch):
    opened = []
    monkeypatch.setattr(
        gallery_panel.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile())
    )
    panel.set_folder(outputs)
    menu = panel._build_menu(outputs / "old.png")
    next(a for a in menu.actions() if a.text() == "Show in folder").trigger()
    assert [Path(p) for p in opened] == [outputs]


def test_files_saved_by_another_program_appear_by_themselves(qtbot, panel, outputs):
    panel.set_folder(outputs)
    _write_image(outputs / "from-elsewhere.png", "#ffffff", 9_000)
    qtbot.waitUntil(lambda: panel.paths()[0] == outputs / "from-elsewhere.png", timeout=5000)
