"""Many backends behind one: the queue spread over several generation servers, the local engine as a fallback.

``MultiBackend`` is a ``Backend`` whose jobs run on other backends (its *runners*: ComfyUI servers, and the local
engine when the artist allows it). Its rules:

- A job goes to a free server that can run it: one that has the job's checkpoint, LoRAs and ControlNets (see
  ``capability.py``). Servers are tried in the order the artist listed them.
- Each server has at most one job in flight; the others wait here, in order, and a job that no free server can
  take never holds back a later one that a free server can.
- The local engine takes only the jobs no connected server can run (none has the model, or none answers), and
  only when allowed; with no server configured at all it takes every job.
- When a server stops answering, the job it ran goes back to the front of the queue, for another server (never
  that one again); a job with nowhere left to go fails with a message that says why and what to do, and can be
  submitted again as it is.

One thread per runner drains its events (tagging ``JobStarted`` with the runner's name, so the window shows
where each job runs); one scheduling thread places jobs, so a server slow to list its models never blocks the
caller of ``submit``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from studio.backend.base import BackendBase
from studio.backend.capability import Offer, file_key, missing, offer_of
from studio.backend.catalogue import Capabilities
from studio.backend.events import (
    BackendEvent,
    EngineLost,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobQueued,
    JobStarted,
    Stage,
    TaskFailed,
)
from studio.backend.protocol import Backend
from studio.backend.tasks import Task
from studio.engine.config import EngineConfig
from studio.request import GenerationRequest

if TYPE_CHECKING:
    from studio.models.discovery import ModelEntry
    from studio.models.lora_file import LoraEntry

log = logging.getLogger("studio.backend.multi")

POLL_S = 0.1  # how long a runner's reader waits for an event before it looks whether to stop
RETRY_DEAD_S = 15.0  # a server found dead is asked again after this long
OFFER_MAX_AGE_S = 30.0  # a catalogue older than this is read again before a job is failed for lacking something

T = TypeVar("T")
Probe = Callable[[], bool]  # True while a runner answers (a server's connection check)


@dataclass
class _Job:
    id: int
    request: GenerationRequest
    avoid: set[str] = field(default_factory=set)  # runners that died under this job
    cancelling: bool = False


class _Runner:
    """One backend the jobs run on, with what the scheduler knows of it."""

    def __init__(self, backend: Backend, probe: Probe | None, local: bool) -> None:
        self.backend = backend
        self.name = backend.name
        self.probe = probe
        self.local = local
        self.job: _Job | None = None  # the one job in flight here
        self.alive = True
        self.retired = False  # left out of the artist's servers: finishes its job in flight, then closes
        self.dead_at = 0.0
        self.offer: Offer | None = None
        self.offer_at = 0.0

    def answers(self) -> bool:
        if self.probe is None:  # the local engine: its own process restarts on the next job
            return True
        try:
            return bool(self.probe())
        except Exception:  # noqa: BLE001 - a probe that fails says just that: no answer
            log.exception("checking %s failed", self.name)
            return False


class MultiBackend(BackendBase):
    """Runs jobs on ``servers`` (and on ``local`` when allowed). ``start()`` it, ``close()`` it when done.

    ``probes`` maps a server's name to a function that says whether it answers now (``check_connection``); a
    server without one is never thought dead.
    """

    name = "servers"

    def __init__(
        self,
        servers: Sequence[Backend],
        local: Backend | None = None,
        *,
        allow_local: bool = True,
        probes: Mapping[str, Probe] | None = None,
    ) -> None:
        super().__init__()
        probes = probes or {}
        self._runners = [_Runner(server, probes.get(server.name), local=False) for server in servers]
        self._local = _Runner(local, None, local=True) if local is not None else None
        if self._local is not None:
            self._runners.append(self._local)
        self.allow_local = allow_local
        self.config = local.config if local is not None else EngineConfig()
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._pending: list[_Job] = []
        self._where: dict[int, _Runner] = {}  # job id -> the runner it was sent to
        self._retiring: list[_Runner] = []  # removed while a job ran on them
        self._started = False
        self._dirty = False
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- the listener's side ----------------------------------------------------------------------------------

    def start(self, warm_up: bool = True) -> None:
        self._started = True
        for runner in self._runners:
            # The local engine is built ahead only when it will take jobs: with servers in use and no fallback
            # allowed, importing torch for nothing would cost the artist's memory.
            idle = runner.local and self._servers() and not self.allow_local
            self._start_runner(runner, warm_up and not idle)
        self._spawn(self._schedule, name="studio-scheduler")

    def set_servers(
        self, servers: Sequence[Backend], *, allow_local: bool, probes: Mapping[str, Probe] | None = None
    ) -> None:
        """Use ``servers`` from now on (the artist changed them in Servers…). A backend already running here is
        kept as it is; one left out takes no new job, finishes the one it runs, then closes."""
        probes = probes or {}
        with self._lock:
            current: dict[int, _Runner | None] = {id(runner.backend): runner for runner in self._servers()}
            runners = [current.pop(id(s), None) or _Runner(s, probes.get(s.name), local=False) for s in servers]
            fresh = [runner for runner in runners if runner not in self._runners]
            for runner in filter(None, current.values()):
                runner.retired = True
                if runner.job is not None:
                    self._retiring.append(runner)
                else:
                    fresh.append(runner)  # closed below, outside the lock
            self._runners = runners + ([self._local] if self._local is not None else [])
            self.allow_local = allow_local
            self._wake()
        for runner in fresh:
            if runner.retired:
                runner.backend.close()
            elif self._started:
                self._start_runner(runner, warm_up=False)

    def server_backends(self) -> list[Backend]:
        """The servers' backends in use now, in order."""
        with self._lock:
            return [runner.backend for runner in self._servers()]

    def _start_runner(self, runner: _Runner, warm_up: bool) -> None:
        runner.backend.start(warm_up)
        self._spawn(self._read, runner, name=f"studio-runner-{runner.name}")

    def submit(self, request: GenerationRequest, job_id: int | None = None) -> int:
        job_id = next(self._ids) if job_id is None else job_id
        self._events.put(JobQueued(job_id))
        with self._lock:
            self._pending.append(_Job(job_id, request))
            self._wake()
        return job_id

    def run_task(self, task: Task, task_id: int | None = None) -> int:
        """Tasks (pose detection, control previews, demo models) run on the local engine, else the first server."""
        task_id = next(self._ids) if task_id is None else task_id
        runner = self._local or (self._runners[0] if self._runners else None)
        if runner is None:
            self._events.put(TaskFailed(task_id, "No engine is set up to run this."))
        else:
            runner.backend.run_task(task, task_id)
        return task_id

    def cancel(self, job_id: int | None = None) -> None:
        """Stop ``job_id``; None stops every job sent here. A job not yet placed on a runner ends at once."""
        targets: list[tuple[_Runner, int]] = []
        with self._lock:
            if job_id is None:
                # The window's Cancel: what it sent is being generated, or about to be (placed in a moment).
                for job in self._pending:
                    self._events.put(JobCancelled(job.id))
                self._pending.clear()
                running = [runner for runner in self._every() if runner.job is not None]
            else:
                waiting = next((job for job in self._pending if job.id == job_id), None)
                if waiting is not None:
                    self._pending.remove(waiting)
                    self._events.put(JobCancelled(job_id))
                    return
                running = [runner for runner in self._every() if runner.job and runner.job.id == job_id]
            for runner in running:
                assert runner.job is not None
                runner.job.cancelling = True
                targets.append((runner, runner.job.id))
        for runner, target in targets:  # outside the lock: a server's cancel is a network call
            runner.backend.cancel(target)

    def configure(self, config: EngineConfig, model_dirs: tuple[str, ...] | None = None) -> None:
        """The local engine's set-up (its folders and options); servers keep their own."""
        self.config = config
        if self._local is not None:
            self._local.backend.configure(config, model_dirs)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending) or any(runner.job is not None for runner in self._every())

    @property
    def slots(self) -> int:
        """How many jobs can be generated at once now: one per answering server (the local engine counts when
        it may take jobs); at least one, so a queue always moves and a job with nowhere to go says so."""
        with self._lock:
            servers = sum(1 for runner in self._runners if not runner.local and runner.alive)
        local = 1 if self._local is not None and (self.allow_local or not self._servers()) else 0
        return max(1, servers + local)

    def where(self, job_id: int) -> str:
        """The name of the runner ``job_id`` was sent to ("" while it waits)."""
        with self._lock:
            runner = self._where.get(job_id)
            return runner.name if runner is not None else ""

    def close(self, timeout: float = 1.5) -> bool:
        self._closed.set()
        with self._lock:
            self._wake()
        ended = True
        for runner in self._every():
            ended = runner.backend.close(timeout) and ended
        for thread in self._threads:
            thread.join(POLL_S * 3)
        return ended

    # --- the catalogue: what all runners have together ------------------------------------------------------

    def models(self) -> list[ModelEntry]:
        return _union([r.backend.models for r in self._usable()], lambda e: file_key(e.reference))

    def loras(self) -> list[LoraEntry]:
        return _union([r.backend.loras for r in self._usable()], lambda e: file_key(e.name))

    def controlnets(self) -> list[Path]:
        return _union([r.backend.controlnets for r in self._usable()], file_key)

    def capabilities(self) -> Capabilities:
        every = [runner.backend.capabilities() for runner in self._usable()]
        return Capabilities(
            families=tuple(dict.fromkeys(f for c in every for f in c.families)),
            control_types=tuple(dict.fromkeys(t for c in every for t in c.control_types)),
            samplers=tuple(dict.fromkeys(s for c in every for s in c.samplers)),
        )

    def _usable(self) -> list[_Runner]:
        local_ok = self.allow_local or not self._servers()
        return [r for r in self._runners if r.alive and (not r.local or local_ok)]

    def _every(self) -> list[_Runner]:
        """The runners in use and those finishing a job before they close."""
        return self._runners + [runner for runner in self._retiring if runner not in self._runners]

    def _servers(self) -> list[_Runner]:
        return [runner for runner in self._runners if not runner.local]

    # --- scheduling -----------------------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: object, name: str) -> None:
        # Daemon: a server that hangs must not keep the process alive after the studio closed.
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _wake(self) -> None:
        """Have the scheduler look at the queue again (call with the lock held)."""
        self._dirty = True
        self._lock.notify_all()

    def _schedule(self) -> None:
        while True:
            with self._lock:
                while not self._dirty and not self._closed.is_set():
                    # Woken by a change; otherwise now and then, to ask servers found dead whether they are back.
                    if not self._lock.wait(RETRY_DEAD_S) and self._pending:
                        break
                if self._closed.is_set():
                    return
                self._dirty = False
                waiting = list(self._pending)
            for job in waiting:
                try:
                    self._place(job)
                except Exception:  # noqa: BLE001 - one job must not stop the scheduler for all the others
                    log.exception("placing job %d failed", job.id)

    def _place(self, job: _Job) -> None:
        """Send ``job`` to a free runner that can run it, leave it waiting, or fail it when none ever can."""
        self._revive_dead()
        choice, reason = self._choose(job, refresh=False)
        if choice is None and reason:  # lists may be old: a model copied onto a server since is found now
            choice, reason = self._choose(job, refresh=True)
        with self._lock:
            if job not in self._pending:  # cancelled meanwhile
                return
            if choice is None and not reason:
                return  # every runner that can take it is busy: it waits its turn
            self._pending.remove(job)
            if choice is None:
                log.warning("job %d has nowhere to run: %s", job.id, reason)
                self._events.put(JobFailed(job.id, reason, retryable=True))
                return
            choice.job = job
            self._where[job.id] = choice
        log.info("job %d sent to %s", job.id, choice.name)
        try:
            choice.backend.submit(job.request, job.id)
        except Exception as exc:  # noqa: BLE001 - a server that refuses the job is treated as gone
            log.warning("sending job %d to %s failed: %s", job.id, choice.name, type(exc).__name__)
            self._lost_under(choice, job)

    def _choose(self, job: _Job, refresh: bool) -> tuple[_Runner | None, str]:
        """(a free runner for ``job``, "") ; (None, "") when it must wait ; (None, why) when none can take it."""
        servers = [runner for runner in self._servers() if runner.name not in job.avoid]
        capable: list[_Runner] = []
        lacking = ""
        for runner in servers:
            offer = self._offer(runner, refresh) if runner.alive else None
            if offer is None:
                continue
            gap = missing(offer, job.request)
            if gap:
                lacking = lacking or f"no server has {gap}"
            else:
                capable.append(runner)
        local = self._local
        if not capable and local is not None and (self.allow_local or not self._servers()):
            capable = [local]
        if capable:
            with self._lock:
                free = next((runner for runner in capable if runner.job is None), None)
            return free, ""
        return None, self._nowhere(servers, lacking)

    def _nowhere(self, servers: list[_Runner], lacking: str) -> str:
        """Why no runner can take a job, and what the artist can do about it."""
        if not self._runners:
            return "No server is set up. Add one in Servers… or allow the local engine there."
        if not servers and self._servers():
            why = "every server that could run it stopped answering while it ran"
        elif not servers or not any(runner.alive for runner in servers):
            names = ", ".join(f"'{runner.name}'" for runner in self._servers())
            why = f"no server answers ({names})"
        else:
            why = lacking
        advice = (
            "Start the server again or add the missing file to it, then generate again"
            if not self.allow_local and self._local is not None
            else "Check the servers in Servers…, then generate again"
        )
        local_note = " (the local engine is not allowed to take jobs)" if self._local and not self.allow_local else ""
        return f"This generation could not start: {why}{local_note}. {advice}; the request is unchanged."

    def _offer(self, runner: _Runner, refresh: bool) -> Offer | None:
        """The runner's catalogue (read once, again when ``refresh`` and older than ``OFFER_MAX_AGE_S``)."""
        stale = refresh and time.monotonic() - runner.offer_at > OFFER_MAX_AGE_S
        if runner.offer is None or stale:
            try:
                runner.offer = offer_of(runner.backend)
                runner.offer_at = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - a server that cannot list its models cannot run jobs
                log.warning("listing the models of %s failed: %s", runner.name, type(exc).__name__)
                self._mark_dead(runner)
                return None
        return runner.offer

    def _revive_dead(self) -> None:
        for runner in self._servers():
            if not runner.alive and time.monotonic() - runner.dead_at > RETRY_DEAD_S:
                if runner.answers():
                    log.info("%s answers again", runner.name)
                    runner.alive, runner.offer = True, None
                else:
                    runner.dead_at = time.monotonic()

    def _mark_dead(self, runner: _Runner) -> None:
        if runner.alive:
            log.warning("%s stopped answering: its jobs go to the other servers", runner.name)
        runner.alive, runner.dead_at = False, time.monotonic()

    def _lost_under(self, runner: _Runner, job: _Job) -> None:
        """``runner`` died with ``job`` on it: the job goes back to the front of the queue, for another runner."""
        self._mark_dead(runner)
        with self._lock:
            if runner.job is job:
                runner.job = None
            self._where.pop(job.id, None)
            job.avoid.add(runner.name)
            self._pending.insert(0, job)
            self._wake()
        self._events.put(Stage(job.id, f"The server '{runner.name}' stopped answering; moving this job elsewhere…"))

    # --- each runner's events ---------------------------------------------------------------------------------

    def _read(self, runner: _Runner) -> None:
        while not self._closed.is_set():
            if runner.retired and runner.job is None:
                break
            event = runner.backend.next_event(timeout=POLL_S)
            if event is None:
                continue
            try:
                self._forward(runner, event)
            except Exception:  # noqa: BLE001 - one bad event must not silence this runner
                log.exception("handling %s from %s failed", type(event).__name__, runner.name)
        if runner in self._retiring and not self._closed.is_set():
            with self._lock:
                self._retiring.remove(runner)
            runner.backend.close()

    def _forward(self, runner: _Runner, event: BackendEvent) -> None:
        job_id = getattr(event, "job_id", None)
        if job_id is None:  # tasks, engine state
            if isinstance(event, EngineLost) and not runner.local:
                self._mark_dead(runner)
            self._events.put(event)
            return
        if isinstance(event, JobQueued):
            return  # said once, at submit
        with self._lock:
            job = runner.job if runner.job is not None and runner.job.id == job_id else None
            if self._where.get(job_id) is not runner:
                return  # a late word from a runner this job has left
        if isinstance(event, JobStarted):
            self._events.put(JobStarted(job_id, runner=runner.name))
            return
        if isinstance(event, JobFailed) and job is not None and not job.cancelling and not runner.answers():
            log.info("job %d failed on %s, which no longer answers", job_id, runner.name)
            self._lost_under(runner, job)
            return
        if isinstance(event, JobFinished | JobFailed | JobCancelled):
            with self._lock:
                if runner.job is job:
                    runner.job = None
                self._where.pop(job_id, None)
                self._wake()
        self._events.put(event)


def _union(lists: Iterable[Callable[[], Iterable[T]]], key: Callable[[T], str]) -> list[T]:
    """The entries of every list in turn, each name once (the first runner's entry wins); a runner that cannot
    list is skipped."""
    seen: set[str] = set()
    merged: list[T] = []
    for read in lists:
        try:
            entries = read()
        except Exception as exc:  # noqa: BLE001 - one unreachable server must not empty the lists
            log.warning("listing failed: %s", type(exc).__name__)
            continue
        for entry in entries:
            name = key(entry)
            if name not in seen:
                seen.add(name)
                merged.append(entry)
    return merged
