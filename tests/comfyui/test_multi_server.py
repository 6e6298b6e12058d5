"""The queue over real ComfyUI servers (tiny models, 64 px): jobs go only to servers that answer and have the
model, and a server killed under its job loses nothing: the job finishes on the other one."""

from __future__ import annotations

import os
import shutil
import socket
import time

import pytest
from comfyui_server import CHECKPOINT, start_server

from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.events import JOB_ENDS, JobFailed, JobFinished, JobStarted
from studio.backend.multi_backend import MultiBackend
from studio.backend.server_pool import answers, comfy_backend
from studio.request import GenerationRequest

pytestmark = pytest.mark.slow


def _request(index: int, model: str = CHECKPOINT) -> GenerationRequest:
    return GenerationRequest(model=model, prompt=f"a red fox {index}", steps=2, width=64, height=64, seed=index,
                             sampler="Euler")  # fmt: skip


def _pool(servers: list[ServerConfig]) -> MultiBackend:
    backend = MultiBackend([comfy_backend(s) for s in servers], None, allow_local=False,
                           probes={s.name: answers(s) for s in servers})  # fmt: skip
    backend.start(warm_up=False)
    return backend


def _run(backend: MultiBackend, requests, on_event=None, timeout: float = 300.0):
    ids = [backend.submit(request) for request in requests]
    where: dict[int, list[str]] = {job: [] for job in ids}
    ends: dict[int, object] = {}
    deadline = time.monotonic() + timeout
    while len(ends) < len(ids):
        assert time.monotonic() < deadline, f"not every job ended in {timeout} s: {ends}"
        event = backend.next_event(1.0)
        if isinstance(event, JobStarted):
            where[event.job_id].append(event.runner)
        elif isinstance(event, JOB_ENDS):
            ends[event.job_id] = event
        if event is not None and on_event is not None:
            on_event(event)
    return where, ends


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_jobs_skip_a_server_that_does_not_answer_and_fail_clearly_for_a_model_none_has(comfy):
    ghost = ServerConfig("ghost", f"http://127.0.0.1:{_closed_port()}")
    backend = _pool([ghost, comfy])
    try:
        where, ends = _run(backend, [_request(1), _request(2), _request(3, model="absent-model.safetensors")])
    finally:
        backend.close()
    assert [places for places in where.values()][:2] == [[comfy.name], [comfy.name]]
    finished = [end for end in ends.values() if isinstance(end, JobFinished)]
    assert len(finished) == 2 and all(end.result.images[0].size == (64, 64) for end in finished)
    [failed] = [end for end in ends.values() if isinstance(end, JobFailed)]
    assert "no server has the model 'absent-model'" in failed.message


def test_a_server_killed_under_its_job_loses_nothing(comfy, comfy_server, tmp_path):
    base = tmp_path / "doomed"
    for path in (comfy_server.base / "models").rglob("*"):  # the same tiny models, linked, not rebuilt
        copy = base / path.relative_to(comfy_server.base)
        if path.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, copy)
            except OSError:
                shutil.copy2(path, copy)
    doomed_server = start_server(base, threads=1)
    doomed = ServerConfig("doomed", doomed_server.url)
    backend = _pool([doomed, comfy])

    def kill_on_start(event) -> None:
        if isinstance(event, JobStarted) and event.runner == "doomed" and doomed_server.process.poll() is None:
            doomed_server.process.kill()

    try:
        where, ends = _run(backend, [_request(i) for i in range(4)], on_event=kill_on_start)
    finally:
        backend.close()
        doomed_server.stop()
    assert all(isinstance(end, JobFinished) for end in ends.values()), ends
    moved = [places for places in where.values() if places[0] == "doomed"]
    assert moved == [["doomed", comfy.name]]  # the one job it had went on, and it got no other
    assert all(places[-1] == comfy.name for places in where.values())
