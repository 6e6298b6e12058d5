"""The queue spread over several servers: capable servers only, one job in flight each, the local engine as a
fallback, and no job lost when a server dies."""

from __future__ import annotations

import time

import pytest
from fake_engine import FakeEngine, Script
from fake_servers import FakeServer, drain, job, runners_of

from studio.backend import events as ev
from studio.backend import multi_backend
from studio.backend.capability import file_key, missing, offer_of
from studio.backend.multi_backend import MultiBackend
from studio.errors import StudioError
from studio.request import ControlInput, LoraRef


@pytest.fixture
def make():
    made: list[MultiBackend] = []

    def build(servers, local=None, allow_local=True) -> MultiBackend:
        backend = MultiBackend(
            servers, local, allow_local=allow_local, probes={server.name: server.probe for server in servers}
        )
        backend.start(warm_up=False)
        made.append(backend)
        return backend

    yield build
    for backend in made:
        backend.close()


def _in_flight_peaks(events) -> dict[str, int]:
    """The most jobs each runner had at once, from the order of starts and ends."""
    where: dict[int, str] = {}
    now: dict[str, int] = {}
    peak: dict[str, int] = {}
    for event in events:
        if isinstance(event, ev.JobStarted):
            where[event.job_id] = event.runner
            now[event.runner] = now.get(event.runner, 0) + 1
            peak[event.runner] = max(peak.get(event.runner, 0), now[event.runner])
        elif isinstance(event, ev.JOB_ENDS) and event.job_id in where:
            now[where[event.job_id]] -= 1
    return peak


def test_files_match_by_name_whatever_the_folder():
    assert file_key("D:\\models\\SD15\\Anything-V3.safetensors") == "anything-v3"
    assert file_key("checkpoints/anything-v3.ckpt") == "anything-v3"
    assert file_key("runwayml/stable-diffusion-v1-5") == "stable-diffusion-v1-5"


def test_missing_names_the_first_thing_a_server_lacks():
    offer = offer_of(FakeServer("a", models=("tiny",), loras=("ink",), controlnets=("scribble-net",)))
    assert missing(offer, job()) == ""
    assert missing(offer, job("other")) == "the model 'other'"
    assert missing(offer, job(loras=(LoraRef("ink", 0.8),))) == ""
    assert missing(offer, job(loras=(LoraRef("paper", 0.8),))) == "the LoRA 'paper'"
    assert missing(offer, job(loras=(LoraRef("paper", 0.8, enabled=False),))) == ""  # switched off: not needed
    scribble = ControlInput("scribble", "sketch.png", model="scribble-net")
    assert missing(offer, job(controls=(scribble,))) == ""
    assert missing(offer, job(controls=(scribble.__class__("depth", "d.png", model="depth-net"),))) == (
        "the ControlNet 'depth-net'"
    )


def test_each_job_goes_to_a_server_that_has_its_model_lora_and_controlnet(make):
    plain = FakeServer("plain", models=("tiny", "big"))
    styled = FakeServer("styled", models=("tiny",), loras=("ink",), controlnets=("scribble-net",))
    backend = make([plain, styled])
    big = backend.submit(job("big"))
    inked = backend.submit(job(loras=(LoraRef("ink"),)))
    control = ControlInput("scribble", "sketch.png", model="scribble-net")
    sketched = backend.submit(job(controls=(control,)))
    where = runners_of(drain(backend, [big, inked, sketched]))
    assert where == {big: ["plain"], inked: ["styled"], sketched: ["styled"]}


def test_one_job_in_flight_per_server_and_both_servers_used(make):
    servers = [FakeServer("a"), FakeServer("b")]
    backend = make(servers)
    ids = [backend.submit(job()) for _ in range(6)]
    events = drain(backend, ids)
    assert sorted(e.job_id for e in events if isinstance(e, ev.JobFinished)) == sorted(ids)
    assert _in_flight_peaks(events) == {"a": 1, "b": 1}
    assert len(servers[0].engine.calls) + len(servers[1].engine.calls) == 6
    assert servers[0].engine.calls and servers[1].engine.calls
    assert backend.slots == 2


def test_a_job_no_free_server_can_take_does_not_hold_back_the_next(make):
    slow = FakeEngine(scripts=[Script(steps=2, pause_at_step=1)])
    only_big = FakeServer("big-box", models=("big",), engine=slow)
    other = FakeServer("small-box", models=("tiny",))
    backend = make([only_big, other])
    first = backend.submit(job("big"))
    assert slow.reached_pause.wait(5)
    waiting = backend.submit(job("big"))  # big-box is busy: this one waits for it
    behind = backend.submit(job("tiny"))
    events = drain(backend, [behind])
    assert runners_of(events)[behind] == ["small-box"]
    assert waiting not in runners_of(events)
    slow.resume.set()
    assert runners_of(drain(backend, [first, waiting]))[waiting] == ["big-box"]


def test_the_local_engine_takes_what_no_server_can_when_allowed(make):
    local = FakeServer("local", models=())  # the local engine is never asked for its lists
    backend = make([FakeServer("a", models=("tiny",))], local=local)
    on_server, only_local = backend.submit(job()), backend.submit(job("own-model"))
    assert runners_of(drain(backend, [on_server, only_local])) == {on_server: ["a"], only_local: ["local"]}


def test_without_the_local_fallback_a_job_no_server_can_run_fails_saying_why(make):
    backend = make([FakeServer("a", models=("tiny",))], local=FakeServer("local"), allow_local=False)
    failed = backend.submit(job("own-model"))
    end = drain(backend, [failed])[-1]
    assert isinstance(end, ev.JobFailed)
    assert "no server has the model 'own-model'" in end.message
    assert "local engine is not allowed" in end.message


def test_with_no_server_configured_the_local_engine_takes_every_job(make):
    backend = make([], local=FakeServer("local"), allow_local=False)
    done = backend.submit(job())
    assert runners_of(drain(backend, [done])) == {done: ["local"]}


def test_a_server_dying_mid_queue_loses_no_job(make):
    doomed, steady = FakeServer("doomed"), FakeServer("steady")
    lost = StudioError("The connection was lost.")
    doomed.engine.scripts = [Script(steps=3, pause_at_step=2, error=lost, error_at_step=2)]
    backend = make([doomed, steady])
    ids = [backend.submit(job()) for _ in range(6)]
    assert doomed.engine.reached_pause.wait(5)
    doomed.die()  # the server goes away under its running job, which fails after the pause
    doomed.engine.resume.set()
    events = drain(backend, ids)
    finished = [e.job_id for e in events if isinstance(e, ev.JobFinished)]
    assert sorted(finished) == sorted(ids)  # every job done, none twice, none failed
    assert not [e for e in events if isinstance(e, ev.JobFailed)]
    moved = [j for j, places in runners_of(events).items() if places[:1] == ["doomed"]]
    assert len(moved) == 1 and runners_of(events)[moved[0]] == ["doomed", "steady"]
    assert any(isinstance(e, ev.Stage) and "'doomed' stopped answering" in e.text for e in events)
    assert len(doomed.engine.calls) == 1  # nothing more was sent to it


def test_a_job_with_nowhere_left_fails_and_can_be_sent_again(make, monkeypatch):
    monkeypatch.setattr(multi_backend, "RETRY_DEAD_S", 0.0)
    server = FakeServer("only")
    server.die()
    backend = make([server])
    request = job()
    end = drain(backend, [backend.submit(request)])[-1]
    assert isinstance(end, ev.JobFailed)
    assert "'only'" in end.message and "the request is unchanged" in end.message
    server.up = True  # the artist starts the server again and retries the very same request
    server.engine.default = Script(steps=2)
    again = backend.submit(request)
    assert isinstance(drain(backend, [again])[-1], ev.JobFinished)


def test_a_failure_on_a_server_that_still_answers_is_the_jobs_own(make):
    server = FakeServer("a", engine=FakeEngine(scripts=[Script(error=StudioError("Out of memory on the server."))]))
    other = FakeServer("b")
    backend = make([server, other])
    failed = backend.submit(job())
    events = drain(backend, [failed])
    assert isinstance(events[-1], ev.JobFailed) and events[-1].message == "Out of memory on the server."
    assert runners_of(events) == {failed: ["a"]}  # not retried elsewhere: it would fail there too


def test_cancel_ends_a_waiting_job_at_once_and_a_running_one_on_its_server(make):
    engine = FakeEngine(scripts=[Script(steps=3, pause_at_step=2)])
    backend = make([FakeServer("a", engine=engine)])
    running = backend.submit(job())
    assert engine.reached_pause.wait(5)
    waiting = backend.submit(job())
    backend.cancel(waiting)
    backend.cancel()  # the window's Cancel: whatever is being generated
    events = drain(backend, [running, waiting])
    ends = {e.job_id: type(e) for e in events if isinstance(e, ev.JOB_ENDS)}
    assert ends == {running: ev.JobCancelled, waiting: ev.JobCancelled}
    assert len(engine.calls) == 1 and not backend.busy


def test_servers_changed_while_running_take_effect_without_losing_the_running_job(make):
    engine = FakeEngine(scripts=[Script(steps=2, pause_at_step=1)])
    old, kept, added = FakeServer("old", engine=engine), FakeServer("kept"), FakeServer("added")
    backend = make([old, kept])
    running = backend.submit(job())
    assert engine.reached_pause.wait(5)
    backend.set_servers([kept, added], allow_local=False, probes={"added": added.probe})
    later = [backend.submit(job()) for _ in range(4)]
    engine.resume.set()
    events = drain(backend, [running, *later])
    where = runners_of(events)
    assert where[running] == ["old"] and isinstance(events[-1], ev.JOB_ENDS)
    assert {place for j in later for place in where[j]} <= {"kept", "added"}
    assert sorted(e.job_id for e in events if isinstance(e, ev.JobFinished)) == sorted([running, *later])
    assert len(engine.calls) == 1 and backend.slots == 2
    deadline = time.monotonic() + 5
    while not engine.unloaded and time.monotonic() < deadline:  # the removed server closes once its job ended
        time.sleep(0.02)
    assert engine.unloaded
