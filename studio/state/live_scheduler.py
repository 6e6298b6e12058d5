"""Live mode's scheduling, without Qt: latest wins.

While live mode is on, every change to the inputs offers a new live run. At most one run is in flight and one
waits: a newer input replaces the waiting one (the replaced one is "coalesced", never run), and the run in
flight is cancelled as soon as a newer input arrives, unless it is nearly done (``KEEP_FRACTION`` of its
steps), when finishing it shows a picture sooner than starting over would. Inputs offered while a stroke or a
drag goes on are "soft": they wait (and replace the waiting one) but cancel nothing, or a hand that never stops
would cancel every run and see no picture at all; the input that ends the stroke is "hard" and outdates the run
in flight. While a normal generation runs the scheduler is held: nothing starts, the newest input waits, and it starts when the hold ends. So live runs never
enter the queue and never stand in front of Generate.

The owner supplies ``start`` (submit the payload, return a run id) and ``cancel`` (stop that run at its next
step), and reports back with ``progress`` and ``ended``. Everything runs on the owner's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KEEP_FRACTION = 0.75  # a run this far through its steps finishes even when its input is outdated


@dataclass
class LiveRun:
    """One run in flight: its id, the input revision it draws, how far it got, whether it was cancelled."""

    run_id: int
    revision: int
    payload: Any
    fraction: float = 0.0
    cancelled: bool = False


@dataclass
class LiveCounts:
    """What the scheduler did, for the live view and the benchmark."""

    offered: int = 0  # inputs offered
    started: int = 0  # runs started
    coalesced: int = 0  # inputs replaced while waiting: never run
    cancelled: int = 0  # runs stopped because a newer input came
    shown: int = 0  # runs that ended with a picture


class LiveScheduler:
    def __init__(
        self,
        start: Callable[[Any], int],
        cancel: Callable[[int], None],
        keep_fraction: float = KEEP_FRACTION,
    ) -> None:
        self._start = start
        self._cancel = cancel
        self.keep_fraction = keep_fraction
        self.in_flight: LiveRun | None = None
        self.pending: tuple[int, Any] | None = None  # (revision, payload)
        self.revision = 0  # the newest input's number
        self.hard_revision = 0  # the newest input that outdates the run in flight
        self.shown_revision = 0  # the revision of the picture on show
        self.held = False
        self.counts = LiveCounts()

    # --- inputs -------------------------------------------------------------------------------------------

    def offer(self, payload: Any, soft: bool = False) -> None:
        """A new input: it waits (replacing any waiting one) and starts as soon as nothing runs. A ``soft`` one
        (mid-stroke) does not cancel the run in flight."""
        self.revision += 1
        if not soft:
            self.hard_revision = self.revision
        self.counts.offered += 1
        if self.pending is not None:
            self.counts.coalesced += 1
        self.pending = (self.revision, payload)
        self._cancel_if_outdated()
        self._start_pending()

    def hold(self, held: bool) -> None:
        """Hold (a normal generation runs: the live run in flight yields) or release (the newest input runs)."""
        self.held = held
        if held:
            run = self.in_flight
            if run is not None and not run.cancelled and run.fraction < self.keep_fraction:
                # Its input runs again after the hold unless a newer one comes first.
                if self.pending is None:
                    self.pending = (run.revision, run.payload)
                self._cancel_run(run)
        else:
            self._start_pending()

    def stop(self) -> None:
        """Live mode switched off: cancel the run in flight and forget the waiting input."""
        self.pending = None
        if self.in_flight is not None:
            self._cancel_run(self.in_flight)

    # --- the runs' reports --------------------------------------------------------------------------------

    def progress(self, run_id: int, step: int, total: int) -> None:
        run = self.in_flight
        if run is None or run.run_id != run_id or total <= 0:
            return
        run.fraction = step / total
        self._cancel_if_outdated()

    def ended(self, run_id: int, has_picture: bool) -> bool:
        """The run ``run_id`` ended. True when its picture should be shown: it is newer than the one on show."""
        run = self.in_flight
        if run is None or run.run_id != run_id:
            return False
        self.in_flight = None
        show = has_picture and run.revision > self.shown_revision
        if show:
            self.shown_revision = run.revision
            self.counts.shown += 1
        self._start_pending()
        return show

    @property
    def idle(self) -> bool:
        return self.in_flight is None and self.pending is None

    # --- inside -------------------------------------------------------------------------------------------

    def _cancel_if_outdated(self) -> None:
        run = self.in_flight
        if run is None or run.cancelled or run.revision >= self.hard_revision:
            return
        if run.fraction < self.keep_fraction:
            self._cancel_run(run)

    def _cancel_run(self, run: LiveRun) -> None:
        if not run.cancelled:
            run.cancelled = True
            self.counts.cancelled += 1
            self._cancel(run.run_id)

    def _start_pending(self) -> None:
        if self.held or self.in_flight is not None or self.pending is None:
            return
        revision, payload = self.pending
        self.pending = None
        self.counts.started += 1
        self.in_flight = LiveRun(self._start(payload), revision, payload)
