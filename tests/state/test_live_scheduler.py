"""Latest wins: one live run in flight, one waiting; newer inputs replace the waiting one and outdate the run."""

from __future__ import annotations

from studio.state.live_scheduler import LiveScheduler


class Recorder:
    def __init__(self) -> None:
        self.started: list[tuple[int, object]] = []
        self.cancelled: list[int] = []
        self._ids = iter(range(1, 1000))

    def start(self, payload: object) -> int:
        run_id = next(self._ids)
        self.started.append((run_id, payload))
        return run_id

    def cancel(self, run_id: int) -> None:
        self.cancelled.append(run_id)


def make() -> tuple[LiveScheduler, Recorder]:
    recorder = Recorder()
    return LiveScheduler(recorder.start, recorder.cancel), recorder


def test_first_input_starts_at_once():
    scheduler, runs = make()
    scheduler.offer("a")
    assert runs.started == [(1, "a")] and scheduler.pending is None


def test_a_newer_input_replaces_the_waiting_one():
    scheduler, runs = make()
    scheduler.progress(1, 0, 4)  # a report for no run: ignored
    scheduler.offer("a")
    scheduler.progress(1, 3, 4)  # nearly done: newer inputs wait for it
    for payload in ("b", "c", "d"):
        scheduler.offer(payload)
    assert runs.started == [(1, "a")] and runs.cancelled == []
    assert scheduler.pending == (4, "d") and scheduler.counts.coalesced == 2
    assert scheduler.ended(1, has_picture=True)  # its picture shows: it is newer than none
    assert runs.started[-1] == (2, "d") and scheduler.pending is None


def test_an_outdated_run_is_cancelled_at_the_next_step_unless_nearly_done():
    scheduler, runs = make()
    scheduler.offer("a")
    scheduler.progress(1, 1, 4)
    scheduler.offer("b")
    assert runs.cancelled == [1]  # 25 %: started over with the newer input
    assert not scheduler.ended(1, has_picture=False)
    assert runs.started[-1] == (2, "b")
    scheduler.progress(2, 3, 4)  # 75 %: kept
    scheduler.offer("c")
    assert runs.cancelled == [1] and scheduler.pending == (3, "c")


def test_a_run_outdated_before_its_first_step_is_cancelled_when_it_reports():
    scheduler, runs = make()
    scheduler.keep_fraction = 0.0  # nothing is "nearly done" before it started... except with this setting
    scheduler.offer("a")
    scheduler.offer("b")
    assert runs.cancelled == []  # fraction 0 >= 0: kept
    scheduler.keep_fraction = 0.75
    scheduler.progress(1, 1, 4)
    assert runs.cancelled == [1]


def test_an_older_picture_never_replaces_a_newer_one():
    scheduler, _ = make()
    scheduler.offer("a")
    scheduler.shown_revision = 5  # a newer picture is already on show
    assert not scheduler.ended(1, has_picture=True)


def test_hold_yields_to_a_normal_generation_and_resumes_with_the_newest_input():
    scheduler, runs = make()
    scheduler.offer("a")
    scheduler.progress(1, 1, 4)
    scheduler.hold(True)
    assert runs.cancelled == [1]  # the live run yields at its next step
    scheduler.ended(1, has_picture=False)
    assert len(runs.started) == 1  # nothing starts while the generation runs
    scheduler.offer("b")
    scheduler.offer("c")
    assert len(runs.started) == 1 and scheduler.pending == (3, "c")
    scheduler.hold(False)
    assert runs.started[-1] == (2, "c")


def test_hold_reruns_the_yielded_input_when_nothing_newer_came():
    scheduler, runs = make()
    scheduler.offer("a")
    scheduler.hold(True)
    scheduler.ended(1, has_picture=False)
    scheduler.hold(False)
    assert runs.started[-1] == (2, "a")


def test_stop_cancels_and_forgets():
    scheduler, runs = make()
    scheduler.offer("a")
    scheduler.progress(1, 3, 4)
    scheduler.offer("b")
    scheduler.stop()
    assert runs.cancelled == [1] and scheduler.pending is None
    scheduler.ended(1, has_picture=False)
    assert scheduler.idle and len(runs.started) == 1


def test_mid_stroke_inputs_wait_without_cancelling_and_the_stroke_end_cancels():
    scheduler, runs = make()
    scheduler.offer("a")
    scheduler.progress(1, 1, 4)
    scheduler.offer("b", soft=True)
    scheduler.offer("c", soft=True)
    scheduler.progress(1, 2, 4)
    assert runs.cancelled == [] and scheduler.pending == (3, "c")  # a never-ending stroke still sees pictures
    scheduler.offer("d")  # the stroke ended
    assert runs.cancelled == [1] and scheduler.pending == (4, "d")
