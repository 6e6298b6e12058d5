"""The protocol side of the ComfyUI backend against a scripted server: the events of a job, the connection check,
the token, and every fault and hostile answer ending as a clear ``JobFailed`` (the real server: test_real_server).
"""

from __future__ import annotations

import socket

import pytest
from fake_comfy import FakeComfy, preview_frame

from studio.backend.comfyui.backend import ComfyBackend
from studio.backend.comfyui.connection import check_connection
from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.events import (
    JOB_ENDS,
    ImagesReady,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobQueued,
    JobStarted,
    StepProgress,
)
from studio.metadata.infotext import result_infotext
from studio.request import GenerationRequest

REQUEST = GenerationRequest(
    model="sd15", prompt="a cat", steps=2, width=64, height=64, seed=7, sampler="Euler"
)


@pytest.fixture
def fake():
    server = FakeComfy()
    yield server
    server.close()


def run_job(backend: ComfyBackend, request: GenerationRequest = REQUEST, on_event=None, timeout: float = 20):
    backend.start()
    job = backend.submit(request)
    events = []
    while True:
        event = backend.next_event(timeout)
        assert event is not None, f"no event for {timeout} s; so far: {events}"
        events.append(event)
        if on_event is not None:
            on_event(backend, event)
        if isinstance(event, JOB_ENDS) and event.job_id == job:
            backend.close()
            return events


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events if type(e).__name__ != "Stage"]


def test_a_job_sends_the_local_engines_events_with_previews(fake):
    events = run_job(ComfyBackend(ServerConfig("box", fake.url)))
    assert kinds(events) == [
        "JobQueued",
        "JobStarted",
        "StepProgress",
        "StepProgress",
        "ImagesReady",
        "JobFinished",
    ]
    steps = [e.preview for e in events if isinstance(e, StepProgress)]
    assert [(p.step, p.total, p.pass_name) for p in steps] == [(1, 2, "base"), (2, 2, "base")]
    assert steps[0].image.shape == (8, 8, 3)  # latent size, as the local engine's previews
    result = events[-1].result
    assert result.seeds == [7] and result.images[0].size == (64, 64) and not result.cancelled
    assert result.server == f"ComfyUI box (127.0.0.1:{fake.url.rsplit(':', 1)[1]})"
    assert "Server: " in result_infotext(result)
    graph = fake.prompts[0]["prompt"]
    sampler = next(v["inputs"] for v in graph.values() if v["class_type"] == "KSampler")
    assert (sampler["seed"], sampler["sampler_name"], sampler["steps"]) == (7, "euler", 2)


def test_each_image_of_a_batch_is_its_own_graph_with_its_own_seed(fake):
    events = run_job(
        ComfyBackend(ServerConfig("box", fake.url)), REQUEST.with_changes(batch_size=2, batch_count=2)
    )
    ready = [e.result for e in events if isinstance(e, ImagesReady)]
    assert [r.seeds for r in ready] == [[7, 8], [9, 10]]
    seeds = [
        next(v["inputs"]["seed"] for v in p["prompt"].values() if v["class_type"] == "KSampler")
        for p in fake.prompts
    ]
    assert seeds == [7, 8, 9, 10]
    assert [p.preview.image_index for p in events if isinstance(p, StepProgress)] == [0, 0, 0, 0, 1, 1, 1, 1]


def test_steps_whose_preview_never_came_are_still_reported(fake):
    fake.prompt_script = lambda pid, node: [
        m for m in FakeComfy.success_script(pid, node, 3) if not isinstance(m, bytes)
    ]
    events = run_job(ComfyBackend(ServerConfig("box", fake.url)), REQUEST.with_changes(steps=3))
    assert [e.preview.step for e in events if isinstance(e, StepProgress)] == [1, 2, 3]


def test_the_token_goes_as_a_bearer_header_and_nowhere_else(fake):
    events = run_job(ComfyBackend(ServerConfig("box", fake.url, token="s3cret-token")))
    assert all(headers.get("Authorization") == "Bearer s3cret-token" for _m, _p, headers, _b in fake.requests)
    assert any(path == "/ws" for _m, path, _h, _b in fake.requests)
    result = events[-1].result
    assert "s3cret" not in result_infotext(result) + result.request.to_json() + repr(events)


def test_no_token_no_header(fake):
    run_job(ComfyBackend(ServerConfig("box", fake.url)))
    assert not any("Authorization" in headers for _m, _p, headers, _b in fake.requests)


# --- the connection check --------------------------------------------------------------------------------------


def test_connection_check_reports_version_device_and_memory(fake):
    status = check_connection(ServerConfig("box", fake.url))
    assert status.usable and status.comfyui_version == "0.8.0"
    assert status.device == "fake gpu" and status.free_vram_bytes == 2**31
    assert status.warning == ""  # 127.0.0.1: plain http is fine
    assert "ComfyUI 0.8.0 on fake gpu, 2.0 GB free" in status.summary()


def test_connection_check_names_missing_nodes_and_what_they_are_for(fake):
    fake.missing_nodes = {"ControlNetApplyAdvanced", "LoraLoader"}
    status = check_connection(ServerConfig("box", fake.url))
    assert status.reachable and not status.usable
    assert dict(status.missing_nodes) == {"LoraLoader": "LoRAs", "ControlNetApplyAdvanced": "ControlNets"}
    assert "LoraLoader (LoRAs)" in status.summary()


def test_an_unreachable_server_is_said_in_plain_words():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    status = check_connection(ServerConfig("gone", f"http://127.0.0.1:{port}"), timeout=2)
    assert not status.reachable and "Could not reach the ComfyUI server 'gone'" in status.error


def test_a_refused_token_points_at_the_token(fake):
    fake.answers["/system_stats"] = (401, {"error": "unauthorized"})
    status = check_connection(ServerConfig("box", fake.url, token="wrong"))
    assert not status.reachable and "access token" in status.error and "wrong" not in status.error


def test_an_address_that_is_not_comfyui_is_said(fake):
    fake.answers["/system_stats"] = (200, b"<html>router login</html>")
    assert "not JSON" in check_connection(ServerConfig("box", fake.url)).error
    assert "not a server address" in check_connection(ServerConfig("x", "ftp://example.org")).error


def test_plain_http_to_another_host_gets_a_warning():
    from studio.backend.comfyui.connection import insecure_warning

    assert "unencrypted" in insecure_warning("http://192.168.1.20:8188")
    assert insecure_warning("https://gpu.example.org") == insecure_warning("http://localhost:8188") == ""


# --- faults end a job with a sentence ----------------------------------------------------------------------------


def _failure(events) -> str:
    assert isinstance(events[-1], JobFailed), kinds(events)
    assert events[-1].detail == ""  # an ordinary fault, not a bug with a traceback
    return events[-1].message


def test_a_graph_the_server_refuses_fails_with_its_reason(fake):
    body = {"error": {"message": "Prompt outputs failed validation"},
            "node_errors": {"3": {"errors": [{"message": "Value not in list", "details": "ckpt_name: 'x' not in []"}]}}}  # fmt: skip
    fake.answers["/prompt"] = (400, body)
    message = _failure(run_job(ComfyBackend(ServerConfig("box", fake.url))))
    assert "refused the job (HTTP 400)" in message and "ckpt_name: 'x' not in []" in message


def test_a_server_error_fails_the_job(fake):
    fake.answers["/prompt"] = (500, b"Internal Server Error")
    assert "failed (HTTP 500)" in _failure(run_job(ComfyBackend(ServerConfig("box", fake.url))))


def test_out_of_memory_on_the_server_says_what_to_do(fake):
    def oom(prompt_id, node):
        error = {"prompt_id": prompt_id, "node_type": "KSampler", "exception_type": "torch.OutOfMemoryError",
                 "exception_message": "CUDA out of memory. Tried to allocate 2.00 GiB"}  # fmt: skip
        return [{"type": "execution_error", "data": error}]

    fake.prompt_script = oom
    message = _failure(run_job(ComfyBackend(ServerConfig("box", fake.url))))
    assert "ran out of memory making a 64×64 image" in message and "Lower the size" in message


def test_a_server_that_goes_away_mid_run_fails_the_job_and_keeps_the_finished_batch(fake):
    def script(prompt_id, node):
        if prompt_id == "p1":
            return FakeComfy.success_script(prompt_id, node)
        return [
            {"type": "progress", "data": {"value": 1, "max": 2, "prompt_id": prompt_id, "node": node}},
            None,
        ]

    fake.prompt_script = script
    events = run_job(ComfyBackend(ServerConfig("box", fake.url)), REQUEST.with_changes(batch_count=2))
    assert "connection to the ComfyUI server 'box' was lost" in _failure(events)
    assert [e.result.seeds for e in events if isinstance(e, ImagesReady)] == [[7]]  # saved before the fault


def test_a_server_that_stops_answering_mid_run_fails_the_job(fake, monkeypatch):
    import studio.backend.comfyui.graph_run as comfy_run

    monkeypatch.setattr(comfy_run, "ALIVE_CHECK_S", 0.3)
    fake.prompt_script = lambda pid, node: [
        {"type": "progress", "data": {"value": 1, "max": 2, "prompt_id": pid, "node": node}}
    ]
    fake.delays["/queue"] = 3.0  # silent on the WebSocket, and its HTTP side hangs
    message = _failure(run_job(ComfyBackend(ServerConfig("box", fake.url), timeout=1)))
    assert (
        message.startswith("the ComfyUI server 'box' (http://127.0.0.1:")
        and "did not answer within 1 s" in message
    )


def test_a_job_behind_other_peoples_jobs_says_it_waits(fake, monkeypatch):
    import studio.backend.comfyui.graph_run as comfy_run
    from studio.backend.events import Stage

    monkeypatch.setattr(comfy_run, "ALIVE_CHECK_S", 0.3)
    fake.prompt_script = lambda pid, node: []
    fake.answers["/queue"] = (200, {"queue_running": [[0, "someone-else"]], "queue_pending": [[1, "p1"]]})

    def run_when_told(backend, event):
        if isinstance(event, Stage) and event.text == "Waiting in the queue of box…":
            fake.send({"type": "execution_success", "data": {"prompt_id": "p1"}})

    events = run_job(ComfyBackend(ServerConfig("box", fake.url)), on_event=run_when_told)
    assert isinstance(events[-1], JobFinished)
    assert [e.text for e in events if isinstance(e, Stage)].count("Waiting in the queue of box…") == 1


def test_a_job_the_server_forgot_fails_with_retry_advice(fake, monkeypatch):
    import studio.backend.comfyui.graph_run as comfy_run

    monkeypatch.setattr(comfy_run, "ALIVE_CHECK_S", 0.3)
    fake.prompt_script = lambda pid, node: []  # queued, then neither running, waiting nor in the history
    fake.answers["/history/p1"] = (200, {})
    message = _failure(run_job(ComfyBackend(ServerConfig("box", fake.url))))
    assert "dropped the job (was it restarted?)" in message and "retry it" in message


@pytest.mark.parametrize(
    ("images", "picture", "expected"),
    [
        (
            [{"filename": "../../../home/artist/.ssh/id_rsa", "subfolder": "", "type": "output"}],
            None,
            "not a usable file name",
        ),
        ([{"filename": "/etc/passwd", "type": "output"}], None, "not a usable file name"),
        ([], None, "without an image"),
        (None, b"not a picture at all", "not a readable picture"),
        (None, "big", "sent a 128×64 image where 64×64 was asked for"),
    ],
)
def test_hostile_or_broken_answers_fail_the_job_and_touch_nothing(fake, images, picture, expected):
    from fake_comfy import png

    fake.history_images = images
    if picture is not None:
        fake.image = png(128, 64) if picture == "big" else picture
    assert expected in _failure(run_job(ComfyBackend(ServerConfig("box", fake.url))))


def test_a_job_id_that_is_no_id_is_never_put_in_a_url(fake):
    fake.answers["/prompt"] = (200, {"prompt_id": "../../system_stats?x=", "number": 1})
    assert "which is no job id" in _failure(run_job(ComfyBackend(ServerConfig("box", fake.url))))
    assert not any(path.startswith("/history") for _m, path, _h, _b in fake.requests)


def test_an_unreachable_server_fails_the_job():
    backend = ComfyBackend(ServerConfig("gone", "http://127.0.0.1:9"), timeout=2)
    assert "Could not reach the ComfyUI server 'gone'" in _failure(run_job(backend))


# --- cancel ------------------------------------------------------------------------------------------------------


def test_cancel_deletes_the_queued_graph_and_interrupts_the_running_one(fake):
    fake.prompt_script = lambda pid, node: [
        {"type": "progress", "data": {"value": 1, "max": 9, "prompt_id": pid, "node": node}},
        preview_frame(),
    ]

    def cancel_on_first_step(backend, event):
        if isinstance(event, StepProgress):
            backend.cancel()

    events = run_job(ComfyBackend(ServerConfig("box", fake.url)), on_event=cancel_on_first_step)
    assert isinstance(events[-1], JobCancelled) and events[-1].result is None
    posted = [(path, body) for method, path, _h, body in fake.requests if method == "POST"]
    assert ("/queue", b'{"delete": ["p1"]}') in posted and ("/interrupt", b'{"prompt_id": "p1"}') in posted


def test_a_queued_job_cancelled_before_it_starts_never_reaches_the_server(fake):
    backend = ComfyBackend(ServerConfig("box", fake.url))
    backend.cancel(5)
    backend.start()
    backend.submit(REQUEST, job_id=5)
    assert isinstance(backend.next_event(5), JobQueued)
    assert isinstance(backend.next_event(5), JobCancelled)
    backend.close()
    assert fake.prompts == []


# --- the catalogue -------------------------------------------------------------------------------------------------


def test_lists_come_from_the_server_with_families_and_without_unsafe_names(fake):
    backend = ComfyBackend(ServerConfig("box", fake.url))
    models = backend.models()
    assert [(m.name, m.reference, m.family) for m in models] == [
        ("sd15", "sd15.safetensors", "sd15"),
        ("xl", "sub/xl.safetensors", "sd15"),
    ]
    assert [lora.name for lora in backend.loras()] == ["ink"]
    assert [str(path) for path in backend.controlnets()] == ["scribble.safetensors"]
    assert backend.capabilities().samplers == ("DPM++ 2M", "DPM++ 2M Karras", "Euler", "Euler a")


def test_a_model_the_server_lacks_is_named_with_what_it_has(fake):
    message = _failure(
        run_job(ComfyBackend(ServerConfig("box", fake.url)), REQUEST.with_changes(model="dreamshaper"))
    )
    assert message == "The ComfyUI server 'box' has no model 'dreamshaper'. It has: sd15, xl."
    assert fake.prompts == []


def test_jobs_started_and_finished_events_pair_up(fake):
    events = run_job(ComfyBackend(ServerConfig("box", fake.url)))
    assert isinstance(events[0], JobQueued) and isinstance(events[1], JobStarted)
    assert sum(isinstance(e, JobFinished) for e in events) == 1


def test_a_server_job_never_imports_torch(fake):
    """The window may run a server's jobs in its own process: torch must stay out of it."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "from studio.backend.comfyui.backend import ComfyBackend\n"
        "from studio.backend.comfyui.server_config import ServerConfig\n"
        "from studio.backend.events import JOB_ENDS\n"
        "from studio.request import GenerationRequest\n"
        f"backend = ComfyBackend(ServerConfig('box', {fake.url!r}))\n"
        "backend.start()\n"
        "backend.submit(GenerationRequest(model='sd15', prompt='a (cat:1.1)', steps=2, width=64, height=64))\n"
        "while not isinstance(event := backend.next_event(20), JOB_ENDS): assert event is not None\n"
        "backend.close()\n"
        "print(type(event).__name__, 'torch' in sys.modules, 'diffusers' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert run.stdout.split() == ["JobFinished", "False", "False"], run.stderr
