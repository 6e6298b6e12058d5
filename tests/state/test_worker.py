"""The worker thread against the scriptable fake engine: signals, errors, cancel, previews without backlog."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fake_engine import FakeEngine, Script, fake_backend
from PySide6.QtCore import QObject

from studio.backend.local import UNEXPECTED
from studio.errors import ModelError, SaveError
from studio.request import GenerationRequest
from studio.state.jobs import Job
from studio.state.worker import GenerationWorker

REQUEST = GenerationRequest(model="fake", prompt="a knight in armor", width=64, height=64, steps=2)


class Recorder(QObject):
    """Lives on the GUI thread, so the worker's signals reach it queued, as they reach the window."""

    def __init__(self, worker: GenerationWorker) -> None:
        super().__init__()
        self.events: list[tuple] = []
        self.threads: set[str] = set()
        worker.job_started.connect(self.started)
        worker.progress.connect(self.progress)
        worker.batch_saved.connect(self.batch_saved)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)
        worker.cancelled.connect(self.cancelled)
        worker.task_finished.connect(self.task)
        worker.task_failed.connect(self.task_failed)

    def _add(self, *event) -> None:
        self.threads.add(threading.current_thread().name)
        self.events.append(event)

    def started(self, job_id):
        self._add("started", job_id)

    def progress(self, job_id, step, total, pass_name, index):
        self._add("progress", step, total)

    def batch_saved(self, job_id, batch, saved, save_error):
        self._add("batch_saved", batch, saved, save_error)

    def finished(self, job_id, result, saved, save_error):
        self._add("finished", result, saved, save_error)

    def failed(self, job_id, message, detail):
        self._add("failed", message, detail)

    def cancelled(self, job_id, result, saved):
        self._add("cancelled", result, saved)

    def task(self, name, value):
        self._add("task", name, value)

    def task_failed(self, name, message, detail):
        self._add("task_failed", name, message)

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


@pytest.fixture
def make_worker(qtbot):
    workers = []

    def make(engine: FakeEngine, saver=lambda result, folder: [folder / "x.png"]):
        worker = GenerationWorker(fake_backend(engine), saver=saver)
        workers.append(worker)
        recorder = Recorder(worker)
        worker.start(warm_up=False)
        return worker, recorder

    yield make
    for worker in workers:
        assert worker.shutdown(2.0)


def test_job_runs_on_the_engine_thread_and_reports_on_the_gui_thread(qtbot, make_worker, tmp_path):
    engine = FakeEngine(default=Script(steps=3))
    worker, rec = make_worker(engine)
    worker.submit(Job.new(REQUEST), tmp_path)
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    assert rec.kinds() == ["started", "progress", "progress", "progress", "batch_saved", "finished"]
    assert engine.thread_names == ["studio-engine"]
    assert rec.threads == {threading.main_thread().name}
    _, result, saved, save_error = rec.events[-1]
    assert result.images and saved == [tmp_path / "x.png"] and save_error == ""


def test_studio_error_becomes_its_own_sentence(qtbot, make_worker, tmp_path):
    engine = FakeEngine(
        scripts=[Script(error=ModelError("The model file 'x' is truncated. Download it again."))]
    )
    worker, rec = make_worker(engine)
    worker.submit(Job.new(REQUEST), tmp_path)
    qtbot.waitUntil(lambda: "failed" in rec.kinds(), timeout=5000)
    assert rec.events[-1][1:] == ("The model file 'x' is truncated. Download it again.", "")


def test_unexpected_exception_is_explained_with_detail_and_worker_survives(qtbot, make_worker, tmp_path):
    engine = FakeEngine(scripts=[Script(error=ZeroDivisionError("boom"), error_at_step=1)])
    worker, rec = make_worker(engine)
    worker.submit(Job.new(REQUEST), tmp_path)
    worker.submit(Job.new(REQUEST), tmp_path)
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    failed = next(e for e in rec.events if e[0] == "failed")
    assert failed[1] == UNEXPECTED
    assert "ZeroDivisionError: boom" in failed[2]


def test_cancel_stops_the_running_job(qtbot, make_worker, tmp_path):
    engine = FakeEngine(scripts=[Script(steps=5, pause_at_step=2)])
    worker, rec = make_worker(engine)
    worker.submit(Job.new(REQUEST), tmp_path)
    assert engine.reached_pause.wait(5)
    assert worker.busy
    worker.cancel()
    qtbot.waitUntil(lambda: "cancelled" in rec.kinds(), timeout=5000)
    assert "finished" not in rec.kinds()
    assert rec.kinds().count("progress") == 1


def test_save_failure_keeps_the_result_and_says_why(qtbot, make_worker, tmp_path):
    def saver(result, folder):
        raise SaveError(f"Could not save the image to {folder}: disk full. The image is kept in the studio.")

    worker, rec = make_worker(FakeEngine(), saver=saver)
    worker.submit(Job.new(REQUEST), tmp_path)
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    _, result, saved, save_error = rec.events[-1]
    assert result.images and saved == [] and "disk full" in save_error


def test_only_the_latest_preview_waits(qtbot, make_worker, tmp_path):
    """A GUI that does not take previews sees one slot with the newest, not a backlog."""
    engine = FakeEngine(default=Script(steps=6))
    worker, rec = make_worker(engine)
    counter = PreviewCounter(worker)
    worker.submit(Job.new(REQUEST), tmp_path)
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    preview = worker.take_preview()
    assert preview is not None and preview.step == 6
    assert worker.take_preview() is None
    # Nobody emptied the slot during the job, so it was announced once, not six times.
    assert counter.count == 1


class PreviewCounter(QObject):
    def __init__(self, worker):
        super().__init__()
        self.count = 0
        worker.preview_ready.connect(self.seen)

    def seen(self):
        self.count += 1


class _Double:
    def run(self) -> int:
        return 21 * 2


class _ReadMissing:
    def run(self) -> str:
        return Path("/nonexistent/x").read_text()


def test_tasks_run_in_order_and_failures_are_reported(qtbot, make_worker):
    worker, rec = make_worker(FakeEngine())
    double = worker.run_task(_Double())
    broken = worker.run_task(_ReadMissing())
    qtbot.waitUntil(lambda: len(rec.events) == 2, timeout=5000)
    assert rec.events[0] == ("task", double, 42)
    assert rec.events[1][:2] == ("task_failed", broken)
    assert "FileNotFoundError" in rec.events[1][2]  # the sentence names what broke


def test_shutdown_during_a_hung_step_returns_quickly(make_worker, tmp_path):
    import time

    engine = FakeEngine(scripts=[Script(steps=3, pause_at_step=1)])
    worker = GenerationWorker(fake_backend(engine))
    worker.start(warm_up=False)
    worker.submit(Job.new(REQUEST), tmp_path)
    assert engine.reached_pause.wait(5)
    started = time.monotonic()
    assert worker.shutdown(1.5)
    assert time.monotonic() - started < 1.5
    assert engine.unloaded


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png")) if folder.is_dir() else []


def test_each_batch_is_saved_as_soon_as_it_is_decoded(qtbot, make_worker, tmp_path):
    """A kill while batch 2 of 3 runs must not lose batch 1: its files are on disk before batch 2 starts."""
    from studio.metadata.reader import read_image_settings
    from studio.state.worker import default_saver

    engine = FakeEngine(scripts=[Script(steps=2, pause_at_step=1, pause_at_batch=1)])
    worker, rec = make_worker(engine, saver=default_saver)
    out = tmp_path / "out"
    worker.submit(Job.new(REQUEST.with_changes(batch_size=2, batch_count=3)), out)
    assert engine.reached_pause.wait(5)
    # While batch 2 is held, batch 1 reaches the disk: saved as it arrived, not at the end of the job.
    qtbot.waitUntil(lambda: len(_files(out)) == 2, timeout=5000)
    on_disk = _files(out)
    assert [read_image_settings(path).request.seed for path in on_disk] == [1234, 1235]
    engine.resume.set()
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    batches = [event for event in rec.events if event[0] == "batch_saved"]
    assert [batch.seeds for _, batch, _, _ in batches] == [[1234, 1235], [1236, 1237], [1238, 1239]]
    assert batches[0][2] == on_disk  # the first batch's paths, reported as it was saved
    _, result, saved, save_error = rec.events[-1]
    assert saved == _files(out) and len(saved) == 6 and save_error == ""
    assert result.seeds == [1234, 1235, 1236, 1237, 1238, 1239] and len(result.images) == 6


def test_cancel_reports_the_batches_already_saved(qtbot, make_worker, tmp_path):
    engine = FakeEngine(scripts=[Script(steps=3, pause_at_step=2, pause_at_batch=1)])
    worker, rec = make_worker(engine, saver=lambda result, folder: [folder / f"{result.seeds[0]}.png"])
    worker.submit(Job.new(REQUEST.with_changes(batch_count=3)), tmp_path)
    assert engine.reached_pause.wait(5)
    worker.cancel()
    qtbot.waitUntil(lambda: "cancelled" in rec.kinds(), timeout=5000)
    _, result, saved = rec.events[-1]
    assert result.cancelled and result.seeds == [1234] and saved == [tmp_path / "1234.png"]
    assert rec.kinds().count("batch_saved") == 1 and "finished" not in rec.kinds()


def test_a_failed_batch_save_does_not_stop_the_next_batches(qtbot, make_worker, tmp_path):
    def saver(result, folder):
        if result.seeds == [1235]:
            raise SaveError("Could not save the image: disk full. The image is kept in the studio.")
        return [folder / f"{result.seeds[0]}.png"]

    worker, rec = make_worker(FakeEngine(), saver=saver)
    worker.submit(Job.new(REQUEST.with_changes(batch_count=3)), tmp_path)
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    errors = [event[3] for event in rec.events if event[0] == "batch_saved"]
    assert errors[0] == errors[2] == "" and "disk full" in errors[1]
    _, result, saved, save_error = rec.events[-1]
    assert saved == [tmp_path / "1234.png", tmp_path / "1236.png"] and "disk full" in save_error
    assert len(result.images) == 3


def test_notices_added_while_saving_reach_the_result(qtbot, make_worker, tmp_path):
    def saver(result, folder):
        result.notices.append("The pose was left out of the PNG.")
        return [folder / f"{result.seeds[0]}.png"]

    worker, rec = make_worker(FakeEngine(), saver=saver)
    worker.submit(Job.new(REQUEST.with_changes(batch_count=2)), tmp_path)
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    _, result, _, _ = rec.events[-1]
    assert result.notices == ["The pose was left out of the PNG."]
