"""The first-run page inside the whole window: a recommended model's Download button opens the download
dialog for that model (the page a freshly installed app shows)."""

from __future__ import annotations

from fake_engine import FakeEngine, fake_backend
from PySide6.QtCore import Qt

from studio.ui.models.download_dialog import DownloadDialog


def test_download_on_the_first_run_page_opens_the_dialog_for_that_model(qtbot, qapp):
    from studio.app import build_studio

    studio = build_studio(qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: [])
    window = studio.window
    qtbot.addWidget(window)
    window.show()
    studio.start_background(warm_up=False)
    try:
        qtbot.waitUntil(lambda: window.first_run is not None and window.first_run.isVisible(), timeout=5000)
        repo_id, button = next(iter(window.first_run.download_buttons.items()))
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        dialogs = window.findChildren(DownloadDialog)
        assert len(dialogs) == 1 and dialogs[0].isVisible()
        assert dialogs[0].repo_edit.text() == repo_id
        assert not dialogs[0].task.is_running()  # nothing starts before the artist presses Download
        dialogs[0].reject()
    finally:
        window.canvases.shutdown()
        studio.state.shutdown(2.0)
