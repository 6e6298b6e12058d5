"""The performance box: VRAM tier, fast mode, fp8 and the TAESD folder, saved and handed to the engine; the
status line's tier; the TAESD decoders in the download dialog."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from window_fixture import studio_on_fake_engine

from studio.settings import load_settings
from studio.ui.generation.performance_box import PerformanceBox, TierStatus

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def _box(studio) -> PerformanceBox:
    """The box as the artist reaches it: Generate ▸ Performance…"""
    studio.window.menus.show_performance()
    return studio.window.menus.performance_dialog.box


def test_tier_and_fast_mode_are_saved_and_reach_the_engine(studio):
    box = _box(studio)
    assert box.vram.currentData() == "auto" and not box.fast.isChecked()
    box.vram.setCurrentIndex(box.vram.findData("medium"))
    box.fast.setChecked(True)
    saved, _ = load_settings()
    assert (saved.vram, saved.fast_mode) == ("medium", True)
    config = studio.state.worker.backend.config
    assert (config.vram, config.fast) == ("medium", True)


def test_every_tier_is_explained(studio):
    box = _box(studio)
    tip = box.vram.toolTip()
    for name in ("Auto", "High", "Medium", "Low"):
        assert name in tip
    for index in range(box.vram.count()):
        assert box.vram.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert "compiles once" in box.fast_note.text() and "compiles once" in box.fast.toolTip()
    assert "changes slightly" in box.fp8.toolTip()


def test_a_folder_without_taesd_is_refused_with_a_sentence(studio, tmp_path):
    box = _box(studio)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not box.set_taesd_folder(str(empty))
    assert box.error.isVisibleTo(box) and "holds no TAESD" in box.error.text()
    assert studio.state.settings.taesd_folder is None


def test_a_taesd_folder_is_used_for_previews(studio, tmp_path):
    from studio.engine.tiny_addons import write_tiny_taesd

    folder = write_tiny_taesd(tmp_path / "taesd")
    box = _box(studio)
    assert box.set_taesd_folder(str(folder))
    assert not box.error.isVisibleTo(box)
    assert load_settings()[0].taesd_folder == str(folder)
    assert studio.state.worker.backend.config.taesd_path == str(folder)
    box.clear_taesd.click()
    assert studio.state.settings.taesd_folder is None


def test_status_line_shows_the_setting_then_the_tier_the_engine_chose(studio):
    status: TierStatus = studio.window.tier_status
    assert status.text() == "VRAM: Auto"
    studio.state.stage.emit("VRAM tier: Medium (parts of the model moved to the GPU when needed)")
    assert status.text() == "VRAM: Medium (auto)"
    studio.state.stage.emit("Generating…")  # other stages leave it
    assert status.text() == "VRAM: Medium (auto)"
    box = _box(studio)
    box.fast.setChecked(True)  # a change reloads the model: back to the setting until the next run
    assert status.text() == "VRAM: Auto · Fast"


def test_screenshot(studio, tmp_path, qtbot):
    box = _box(studio)
    box.vram.setCurrentIndex(box.vram.findData("auto"))
    studio.state.stage.emit("VRAM tier: High (everything on the GPU: fastest)")
    qtbot.wait(50)  # the status bar lays the longer text out
    studio.window.menus.performance_dialog.grab().save(str(tmp_path / "performance_box.png"))
    studio.window.grab().save(str(tmp_path / "window.png"))
    assert (tmp_path / "performance_box.png").stat().st_size > 0
    shots = os.environ.get("STUDIO_SCREENSHOTS")  # set to keep them for a look
    if shots:
        for name in ("performance_box.png", "window.png"):
            shutil.copy(tmp_path / name, Path(shots) / name)


def test_taesd_decoders_are_offered_and_downloaded_as_decoders(qtbot, monkeypatch):
    from studio.state.download_task import DownloadTask, engine_download
    from studio.ui.models.download_dialog import DownloadDialog

    dialog = DownloadDialog(task=DownloadTask(download=None))
    qtbot.addWidget(dialog)
    repos = [
        dialog.recommended.item(i).data(Qt.ItemDataRole.UserRole + 1)
        for i in range(dialog.recommended.count())
    ]
    assert "madebyollin/taesd" in repos and "madebyollin/taesdxl" in repos
    calls: list[str] = []
    monkeypatch.setattr(
        "studio.models.taesd.download_taesd", lambda repo, **kw: calls.append(repo) or Path("x")
    )
    engine_download("model")("madebyollin/taesdxl")
    assert calls == ["madebyollin/taesdxl"]
