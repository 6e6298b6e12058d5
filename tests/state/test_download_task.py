"""DownloadTask: the download runs in a thread; its signals arrive on the GUI thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QThread

from studio.errors import ModelError
from studio.state.download_task import DownloadTask

GB = 1_000_000_000


def test_progress_and_finished_arrive_on_the_gui_thread(qtbot, tmp_path):
    worker_threads = []

    def download(repo_id, *, on_progress, cancel):
        worker_threads.append(threading.current_thread())
        for done in (0, 3 * GB, 7 * GB):  # beyond a C++ int: the signal must carry 64-bit counts
            on_progress(done, 7 * GB)
        return tmp_path / repo_id.replace("/", "--")

    task = DownloadTask(download=download)
    progress, threads = [], []
    task.progress.connect(
        lambda done, total: (progress.append((done, total)), threads.append(QThread.currentThread()))
    )
    with qtbot.waitSignal(task.finished, timeout=5000) as blocker:
        task.start("org/model")
    assert blocker.args == [tmp_path / "org--model"]
    assert worker_threads[0] is not threading.main_thread()
    assert progress[-1] == (7 * GB, 7 * GB)
    assert all(t is QThread.currentThread() for t in threads)
    assert task.wait(2)


def test_studio_error_is_reported_as_its_sentence(qtbot):
    def download(repo_id, **kwargs):
        raise ModelError(
            f"Could not look up '{repo_id}' on Hugging Face. Check the repo id and your connection."
        )

    task = DownloadTask(download=download)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        task.start("org/missing")
    assert blocker.args == [
        "Could not look up 'org/missing' on Hugging Face. Check the repo id and your connection."
    ]


def test_unexpected_error_becomes_a_sentence_not_a_traceback(qtbot):
    def download(repo_id, **kwargs):
        raise OSError("disk on fire")

    task = DownloadTask(download=download)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        task.start("org/model")
    message = blocker.args[0]
    assert "org/model" in message and "disk on fire" in message and "Traceback" not in message
    assert message.endswith(".")


def test_cancel_sets_the_event_and_reports_cancelled(qtbot):
    started = threading.Event()

    def download(repo_id, *, on_progress, cancel):
        started.set()
        assert cancel.wait(5)
        raise ModelError("The download was cancelled.")

    task = DownloadTask(download=download)
    task.start("org/model")
    assert started.wait(5)
    assert task.is_running()
    with qtbot.assertNotEmitted(task.failed), qtbot.waitSignal(task.cancelled, timeout=5000):
        task.cancel()
    assert task.wait(2) and not task.is_running()


def test_one_download_at_a_time(qtbot):
    release = threading.Event()

    def download(repo_id, *, on_progress, cancel):
        release.wait(5)
        return Path("/nowhere")

    task = DownloadTask(download=download)
    task.start("org/one")
    with pytest.raises(RuntimeError):
        task.start("org/two")
    release.set()
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    task.wait(2)


def test_default_download_is_the_engines(qtbot, monkeypatch):
    """Offline (the tests set HF_HUB_OFFLINE), the real download says so in a sentence."""
    task = DownloadTask()
    with qtbot.waitSignal(task.failed, timeout=10000) as blocker:
        task.start("stable-diffusion-v1-5/stable-diffusion-v1-5")
    assert "offline" in blocker.args[0]
    task.wait(2)
