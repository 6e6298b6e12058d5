"""The window's queue over several servers: one job in flight per server, the queue says where each runs, and a
killed app still remembers every job in flight."""

from __future__ import annotations

from fake_engine import FakeEngine, Script
from fake_servers import FakeServer

from studio.backend.multi_backend import MultiBackend
from studio.request import GenerationRequest
from studio.settings import AppSettings
from studio.state.app_state import AppState
from studio.state.model_list import ModelList
from studio.state.worker import GenerationWorker

REQUEST = GenerationRequest(model="tiny", prompt="a lighthouse", width=64, height=64, steps=2)


def test_the_queue_runs_one_job_per_server_and_shows_where(qtbot, tmp_path):
    engines = [FakeEngine(default=Script(steps=2, pause_at_step=1)) for _ in range(2)]
    servers = [FakeServer(name, engine=engine) for name, engine in zip(("desk", "cloud"), engines, strict=True)]
    backend = MultiBackend(servers, probes={s.name: s.probe for s in servers})
    worker = GenerationWorker(backend, saver=lambda result, folder: [folder / "x.png"])
    state = AppState(AppSettings(output_folder=str(tmp_path)), worker, ModelList(lambda dirs: []),
                     session_path=tmp_path / "session.json")  # fmt: skip
    worker.start(warm_up=False)
    results = []
    state.result_ready.connect(lambda result, saved: results.append(result))
    try:
        state.set_request(REQUEST)
        jobs = [state.generate() for _ in range(3)]
        assert all(jobs)
        qtbot.waitUntil(lambda: all(e.reached_pause.is_set() for e in engines), timeout=5000)
        assert set(state.in_flight) == {jobs[0].id, jobs[1].id} and len(state.queue) == 1
        qtbot.waitUntil(lambda: state.queue.running_text().count("Running on") == 2, timeout=5000)
        assert "Running on desk: a lighthouse" in state.queue.running_text()
        assert "Running on cloud: a lighthouse" in state.queue.running_text()
        assert len(state.snapshot().queue) == 3  # the two in flight and the waiting one
        for engine in engines:
            engine.resume.set()
        qtbot.waitUntil(lambda: len(results) == 3 and not state.is_running, timeout=5000)
        assert state.queue.running_text() == "" and state.in_flight == {}
        assert len(engines[0].calls) + len(engines[1].calls) == 3
    finally:
        assert state.shutdown(2.0)


def test_a_job_no_server_can_take_goes_back_to_the_queue_paused_and_runs_when_resumed(qtbot, tmp_path, monkeypatch):
    from studio.backend import multi_backend

    monkeypatch.setattr(multi_backend, "RETRY_DEAD_S", 0.0)
    server = FakeServer("desk")
    server.die()
    backend = MultiBackend([server], probes={"desk": server.probe})
    worker = GenerationWorker(backend, saver=lambda result, folder: [folder / "x.png"])
    state = AppState(AppSettings(output_folder=str(tmp_path)), worker, ModelList(lambda dirs: []),
                     session_path=tmp_path / "session.json")  # fmt: skip
    messages, results = [], []
    state.message.connect(lambda kind, text, detail: messages.append(text))
    state.result_ready.connect(lambda result, saved: results.append(result))
    worker.start(warm_up=False)
    try:
        state.set_request(REQUEST)
        job = state.generate()
        qtbot.waitUntil(lambda: not state.is_running, timeout=5000)
        assert any("no server answers ('desk')" in text for text in messages)
        assert [j.id for j in state.queue.jobs()] == [job.id] and state.queue.paused  # kept, waiting
        server.up = True  # the server is back
        server.engine.default = Script(steps=2)
        state.resume_queue()
        qtbot.waitUntil(lambda: len(results) == 1 and not state.is_running, timeout=5000)
        assert len(state.queue) == 0
    finally:
        assert state.shutdown(2.0)


def _scanned(qtbot, scanned_list) -> list:
    with qtbot.waitSignal(scanned_list.changed, timeout=5000) as blocker:
        scanned_list.refresh([])
    return list(blocker.args[0])


def test_the_window_lists_the_servers_models_and_loras_while_servers_are_in_use(qtbot, monkeypatch):
    from studio.state import servers as server_state

    monkeypatch.setattr(server_state, "default_discover", lambda dirs: ["this computer's models"])
    monkeypatch.setattr(server_state, "default_scan", lambda roots: ["this computer's LoRAs"])
    pool = MultiBackend([], FakeServer("local"), allow_local=False)
    discover, loras = server_state.pool_lists(pool, None)
    assert discover(()) == ["this computer's models"] and _scanned(qtbot, loras) == ["this computer's LoRAs"]
    pool.set_servers([FakeServer("desk", models=("tiny", "big"), loras=("ink",))], allow_local=False)
    assert sorted(entry.name for entry in discover(())) == ["big", "tiny"]  # the local engine takes no job
    assert [entry.name for entry in _scanned(qtbot, loras)] == ["ink"]
    pool.close()
