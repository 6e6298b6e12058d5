"""One image's graph on the server: queue it, follow it on the WebSocket to its end, fetch its picture.

Progress and previews go out as ``StepProgress`` as they come. Cancel takes the graph off the server's queue and
interrupts it; silence is met by asking the server whether the graph is still there, so a server that went away
or forgot the job fails it instead of leaving it waiting forever.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from studio.backend.comfyui.answers import expect_mapping, expect_str, file_name, picture
from studio.backend.comfyui.errors import ServerError
from studio.backend.comfyui.graph import build_graph, total_steps
from studio.backend.comfyui.http_client import ComfyClient
from studio.backend.comfyui.job_inputs import PreparedJob
from studio.backend.comfyui.progress import ProgressTracker, PromptEnd, error_message, prompt_end
from studio.backend.comfyui.ws_client import ComfySocket
from studio.backend.events import BackendEvent, Stage, StepProgress
from studio.request import GenerationRequest

RECEIVE_S = 0.1  # how often the loop looks at the cancel flag between messages
ALIVE_CHECK_S = 5.0  # after this long without a message the server is asked whether the graph is still there
CANCEL_WAIT_S = 10.0  # how long an interrupted graph may take to say it stopped
HISTORY_WAIT_S = 10.0  # ComfyUI writes /history just after execution_success
_PROMPT_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")  # ComfyUI's are UUIDs; anything else is not used in a URL


class RunCancelled(Exception):
    """The artist cancelled: the graph was taken off the server (or never said it stopped)."""


def output_size(request: GenerationRequest) -> tuple[int, int]:
    return (
        request.hires.output_size(request.width, request.height)
        if request.hires
        else (request.width, request.height)
    )


class GraphRun:
    """The graphs of one job, sent one at a time by ``image``; ``emit`` takes the job's events."""

    def __init__(
        self,
        client: ComfyClient,
        socket: ComfySocket,
        client_id: str,
        job_id: int,
        cancel: threading.Event,
        emit: Callable[[BackendEvent], None],
    ) -> None:
        self.client = client
        self.socket = socket
        self.client_id = client_id
        self.job_id = job_id
        self.cancel = cancel
        self.emit = emit
        self.where = client.server.name

    def image(self, job: PreparedJob, seed: int, call: int) -> Any:
        """The picture of ``job``'s graph with ``seed`` (``call``: the batch call, for the previews)."""
        request = job.request
        graph = build_graph(request, job.inputs, seed)
        body = {
            "prompt": graph.nodes,
            "client_id": self.client_id,
            "extra_data": {"preview_method": "latent2rgb"},
        }
        answer = expect_mapping(self.client.post_json("/prompt", body), "the queued job")
        prompt_id = expect_str(answer.get("prompt_id"), "the queued job")
        if not _PROMPT_ID.match(prompt_id):
            raise ServerError(
                f"The ComfyUI server '{self.where}' named the job '{prompt_id[:40]}', which is no job id."
            )
        offsets = {graph.base_sampler: (0, "base")}
        if graph.refine_sampler:
            offsets[graph.refine_sampler] = (total_steps(request.with_changes(hires=None)), "refine")
        width, height = output_size(request)
        tracker = ProgressTracker(
            offsets, total_steps(request), call, (max(1, width // 8), max(1, height // 8))
        )
        ended = self._follow(prompt_id, tracker, request)
        if ended.kind == "interrupted":
            if self.cancel.is_set():
                raise RunCancelled
            raise ServerError(
                f"The job was stopped on the ComfyUI server '{self.where}' (by someone else?). Retry it."
            )
        if ended.kind == "error":
            raise ServerError(ended.message)
        return self._fetch_image(prompt_id, graph.output, request)

    def _previews(self, previews: list[Any]) -> None:
        for preview in previews:
            self.emit(StepProgress(self.job_id, preview))

    def _follow(self, prompt_id: str, tracker: ProgressTracker, request: GenerationRequest) -> PromptEnd:
        heard = time.monotonic()
        cancel_sent: float | None = None
        running = waiting_said = False  # the server began the graph; the artist was told it waits its turn
        while True:
            if self.cancel.is_set() and cancel_sent is None:
                self._stop_prompt(prompt_id)
                cancel_sent = time.monotonic()
            if cancel_sent is not None and time.monotonic() - cancel_sent > CANCEL_WAIT_S:
                raise RunCancelled  # the server never said it stopped; the job is cancelled here all the same
            message = self.socket.receive(RECEIVE_S)
            if message is None:
                if time.monotonic() - heard > ALIVE_CHECK_S:
                    heard = time.monotonic()
                    state = self._prompt_state(prompt_id)
                    if state == "done":
                        return PromptEnd("success")
                    if state == "queued" and not running and not waiting_said:
                        waiting_said = True  # other people's jobs run first on a shared server
                        self.emit(Stage(self.job_id, f"Waiting in the queue of {self.where}…"))
                    if state == "gone":
                        if cancel_sent is not None:
                            raise RunCancelled
                        raise ServerError(
                            f"The ComfyUI server '{self.where}' dropped the job (was it restarted?). The job is "
                            "kept as failed: retry it."
                        )
                continue
            heard = time.monotonic()
            kind, data = message
            if kind == "preview":
                self._previews(tracker.on_frame(data))
            if kind != "json":
                continue
            payload = data.get("data")
            if data.get("type") == "execution_start":
                running = True
            if (
                data.get("type") == "progress"
                and isinstance(payload, dict)
                and payload.get("prompt_id") == prompt_id
            ):
                self._previews(tracker.on_progress(payload))
                continue
            ended = prompt_end(data, prompt_id)
            if ended is not None:
                self._previews(tracker.flush())
                if ended.kind == "error":
                    ended.message = error_message(payload, request.width, request.height, self.where)
                return ended

    def _stop_prompt(self, prompt_id: str) -> None:
        """Take the graph off the queue if it still waits there, and interrupt it if it runs."""
        import logging

        for path, body in (("/queue", {"delete": [prompt_id]}), ("/interrupt", {"prompt_id": prompt_id})):
            try:
                self.client.post_json(path, body)
            except ServerError as exc:
                logging.getLogger("studio.backend.comfyui").warning(
                    "cancel on %s: %s failed: %s", self.where, path, exc
                )

    def _prompt_state(self, prompt_id: str) -> str:
        """ "queued" (running or waiting), "done" (in the history) or "gone" (neither)."""
        state = expect_mapping(self.client.get_json("/queue"), "the queue")
        for key in ("queue_running", "queue_pending"):
            for item in state.get(key) or []:
                if isinstance(item, list) and len(item) > 1 and item[1] == prompt_id:
                    return "queued"
        history = self.client.get_json(f"/history/{prompt_id}")
        return "done" if isinstance(history, dict) and prompt_id in history else "gone"

    def _fetch_image(self, prompt_id: str, output: str, request: GenerationRequest) -> Any:
        deadline = time.monotonic() + HISTORY_WAIT_S
        while True:
            history = expect_mapping(self.client.get_json(f"/history/{prompt_id}"), "the job's history")
            if prompt_id in history or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        entry = expect_mapping(history.get(prompt_id), "the finished job")
        outputs = expect_mapping(entry.get("outputs", {}), "the job's outputs")
        images = expect_mapping(outputs.get(output, {}), "the job's images").get("images")
        if not isinstance(images, list) or not images:
            raise ServerError(f"The ComfyUI server '{self.where}' finished the job without an image.")
        item = expect_mapping(images[0], "the image")
        params = {
            "filename": file_name(item.get("filename"), "the image"),
            "subfolder": file_name(item["subfolder"], "the image folder") if item.get("subfolder") else "",
            "type": "temp" if item.get("type") == "temp" else "output",
        }
        data = self.client.get_bytes("/view", params, timeout=max(self.client.timeout, 30.0))
        image = picture(data, "the image")
        expected = output_size(request)
        if image.size != expected:
            raise ServerError(
                f"The ComfyUI server '{self.where}' sent a {image.width}×{image.height} image where "
                f"{expected[0]}×{expected[1]} was asked for."
            )
        return image
