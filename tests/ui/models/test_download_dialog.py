"""The download dialog: repo id checks, progress in bytes, cancel, and errors shown as sentences."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton

from studio.errors import ModelError
from studio.state.download_task import DownloadTask
from studio.ui.models.download_dialog import DownloadDialog

GB = 1_000_000_000


def _dialog(qtbot, download, repo_id: str = "") -> DownloadDialog:
    dialog = DownloadDialog(repo_id=repo_id, task=DownloadTask(download=download))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_prefilled_repo_id_and_recommended_list(qtbot):
    dialog = _dialog(qtbot, download=None, repo_id="org/model")
    assert dialog.repo_edit.text() == "org/model"
    repos = [
        dialog.recommended.item(i).data(Qt.ItemDataRole.UserRole + 1)
        for i in range(dialog.recommended.count())
    ]
    assert "stable-diffusion-v1-5/stable-diffusion-v1-5" in repos
    assert "GB" in dialog.recommended.item(0).text()
    dialog.recommended.itemClicked.emit(dialog.recommended.item(1))
    assert dialog.repo_edit.text() == repos[1]


def test_bad_repo_id_is_explained_and_nothing_starts(qtbot):
    calls = []
    dialog = _dialog(qtbot, download=lambda *a, **k: calls.append(a), repo_id="just-a-name")
    assert dialog.start_download() is False
    assert dialog.error_label.isVisible()
    assert "'just-a-name' is not a Hugging Face repo id" in dialog.error_label.text()
    assert "organisation/model" in dialog.error_label.text()
    assert calls == [] and not dialog.task.is_running()


def test_progress_shows_bytes_and_finishing_emits_the_folder(qtbot, tmp_path):
    gate = threading.Event()

    def download(repo_id, *, on_progress, cancel):
        on_progress(int(3.45 * GB), 7 * GB)
        gate.wait(5)
        return tmp_path / "org--model"

    dialog = _dialog(qtbot, download, repo_id="  org/model ")
    assert dialog.start_download()
    assert not dialog.download_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: "3.5 GB of 7.0 GB" in dialog.progress_bar.format(), timeout=5000)
    assert "(49%)" in dialog.progress_bar.format()
    assert dialog.progress_bar.maximum() == 7 * GB // 1000
    with qtbot.waitSignal(dialog.model_downloaded, timeout=5000) as blocker:
        gate.set()
    assert blocker.args == [tmp_path / "org--model"]
    assert dialog.task.repo_id == "org/model"
    assert not dialog.isVisible()  # accepted


def test_failure_is_shown_in_the_dialog_as_a_sentence(qtbot):
    message = "'org/model' is not a diffusers pipeline (it has no model_index.json). Look for the diffusers version."

    def download(repo_id, **kwargs):
        raise ModelError(message)

    dialog = _dialog(qtbot, download, repo_id="org/model")
    dialog.start_download()
    qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=5000)
    assert dialog.error_label.text() == message
    assert dialog.isVisible() and dialog.download_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert not dialog.progress_bar.isVisible()


def test_cancel_button_stops_the_download(qtbot):
    seen_cancel = threading.Event()

    def download(repo_id, *, on_progress, cancel):
        on_progress(1, 10)
        cancel.wait(5)
        seen_cancel.set()
        raise ModelError("cancelled")

    dialog = _dialog(qtbot, download, repo_id="org/model")
    dialog.start_download()
    qtbot.waitUntil(dialog.cancel_button.isEnabled)
    with qtbot.waitSignal(dialog.task.cancelled, timeout=5000):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert seen_cancel.is_set()
    assert "cancelled" in dialog.status_label.text()
    assert not dialog.error_label.isVisible() and dialog.download_button.isEnabled()


def test_closing_the_dialog_cancels_the_download(qtbot):
    def download(repo_id, *, on_progress, cancel):
        assert cancel.wait(5)
        raise ModelError("cancelled")

    dialog = _dialog(qtbot, download, repo_id="org/model")
    dialog.start_download()
    dialog.reject()
    assert dialog.task.wait(5)


def test_every_control_has_a_tooltip_and_accessible_name(qtbot):
    dialog = _dialog(qtbot, download=None)
    for widget in [
        *dialog.findChildren(QAbstractButton),
        dialog.repo_edit,
        dialog.recommended,
        dialog.progress_bar,
    ]:
        if widget.parent() is dialog:
            assert widget.toolTip() and widget.accessibleName(), widget


def test_model_folder_type(qtbot, tmp_path):
    dialog = _dialog(qtbot, download=lambda repo_id, **k: str(tmp_path))
    dialog.repo_edit.setText("org/model")
    with qtbot.waitSignal(dialog.model_downloaded, timeout=5000) as blocker:
        dialog.start_download()
    assert isinstance(blocker.args[0], Path)
