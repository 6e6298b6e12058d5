"""A ComfyUI server behind the backend seam: the same requests in, the same events out as the local engine.

One thread of the backend's own serves jobs in order (the window never waits on the network); each job opens
the server's WebSocket, uploads its pictures, then sends one graph per image (its own seed) and turns the
server's messages into ``StepProgress`` with previews, ``ImagesReady`` per batch and one ending event. Cancel
interrupts the running graph (``/interrupt``) and takes the job's queued graph off the server (``/queue``).
A fault (server gone, timeout, HTTP error, out of memory) ends the job with ``JobFailed`` and a sentence; the
batches saved before it stay saved.
"""

from __future__ import annotations

import logging
import secrets
import time
import traceback
import uuid
from typing import TYPE_CHECKING, Any

from studio.backend.catalogue import FAMILIES, Capabilities
from studio.backend.comfyui.catalogue import lora_entries, model_entries, server_files
from studio.backend.comfyui.graph_run import GraphRun, RunCancelled
from studio.backend.comfyui.http_client import DEFAULT_TIMEOUT, ComfyClient, display_address
from studio.backend.comfyui.job_inputs import PreparedJob, ServerFiles, match_name, prepare, stem, upload_name
from studio.backend.comfyui.samplers import server_samplers
from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.comfyui.ws_client import ComfySocket
from studio.backend.events import (
    ImagesReady,
    JobCancelled,
    JobFailed,
    JobFinished,
    Stage,
)
from studio.backend.tasks import Task
from studio.backend.threaded import ThreadedBackend
from studio.engine.config import EngineConfig
from studio.engine.validation import validate
from studio.errors import RequestError, StudioError
from studio.request import RANDOM_SEED, RANDOM_SEED_LIMIT, GenerationRequest
from studio.results import GenerationResult, ModelInfo

if TYPE_CHECKING:
    from pathlib import Path

    from studio.models.discovery import ModelEntry
    from studio.models.lora_file import LoraEntry

log = logging.getLogger("studio.backend.comfyui")

UNEXPECTED = (
    "Something went wrong while generating on the server. The studio is still running; try again, and if it "
    "happens again send the log file with the details below."
)


def server_label(server: ServerConfig) -> str:
    """Which server made an image, for the metadata: its name and address, never a token or a password."""
    address = display_address(server.url).split("://", 1)[1]
    return f"ComfyUI {server.name} ({address})" if server.name not in ("", address) else f"ComfyUI {address}"


class ComfyBackend(ThreadedBackend):
    """Runs requests on one ComfyUI server. ``start()`` it, ``close()`` it when done."""

    name = "comfyui"

    def __init__(
        self,
        server: ServerConfig,
        config: EngineConfig | None = None,
        model_dirs: tuple[str, ...] = (),
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__("studio-comfyui", "studio-comfyui-tasks")
        self.server = server
        self.config = (
            config or EngineConfig()
        )  # the local tasks' settings (annotators); the server has its own
        self.model_dirs = model_dirs
        self.client = ComfyClient(server, timeout)
        self.timeout = timeout
        self._client_id = uuid.uuid4().hex
        self._files: ServerFiles | None = None

    # --- the listener's side ----------------------------------------------------------------------------------

    def start(self, warm_up: bool = True) -> None:
        """Start the job thread (the server is first asked when a job or a list needs it)."""
        self._start_threads()

    def submit(self, request: GenerationRequest, job_id: int | None = None) -> int:
        self.start()
        return super().submit(request, job_id)

    def run_task(self, task: Task, task_id: int | None = None) -> int:
        """Tasks (control previews, pose detection) run on this computer, on their own thread."""
        self.start()
        return super().run_task(task, task_id)

    def configure(self, config: EngineConfig, model_dirs: tuple[str, ...] | None = None) -> None:
        if model_dirs is not None:
            self.model_dirs = model_dirs
        self.config = config

    # --- the catalogue: what the server has --------------------------------------------------------------------

    def files(self, refresh: bool = False) -> ServerFiles:
        """The server's model, LoRA and ControlNet names and samplers (asked once, then on ``refresh``)."""
        if self._files is None or refresh:
            self._files = server_files(self.client)
        return self._files

    def models(self) -> list[ModelEntry]:
        return model_entries(self.client, self.files(refresh=True).checkpoints)

    def loras(self) -> list[LoraEntry]:
        return lora_entries(self.client, self.files(refresh=True).loras)

    def controlnets(self) -> list[Path]:
        from pathlib import Path

        return [Path(name) for name in self.files(refresh=True).controlnets]

    def capabilities(self) -> Capabilities:
        from studio.models.controlnets import CONTROL_TYPES

        return Capabilities(FAMILIES, CONTROL_TYPES, server_samplers(self.files().samplers))

    # --- the job thread --------------------------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            kind, payload = self._commands.get()
            if kind == "stop":
                return
            if kind == "job":
                self._run_job(*payload)

    def _run_job(self, job_id: int, request: GenerationRequest) -> None:
        if not self._begin_job(job_id):
            return
        done: list[GenerationResult] = []  # the batches already handed out (and saved by the listener)
        try:
            result = self._generate(job_id, request, done)
        except RunCancelled:
            self._events.put(JobCancelled(job_id, _merge(done, cancelled=True) if done else None))
        except StudioError as exc:
            log.warning("job %d on %s failed: %s", job_id, self.server.name, exc)
            if self._cancel.is_set():
                self._events.put(JobCancelled(job_id, _merge(done, cancelled=True) if done else None))
            else:
                self._events.put(JobFailed(job_id, str(exc)))
        except Exception:  # noqa: BLE001 - a bug must not end the job thread or reach the artist as a traceback
            log.exception("job %d on %s crashed", job_id, self.server.name)
            self._events.put(JobFailed(job_id, UNEXPECTED, traceback.format_exc()))
        else:
            self._events.put(JobFinished(job_id, result))
        finally:
            self._running = None

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise RunCancelled

    def _generate(
        self, job_id: int, request: GenerationRequest, done: list[GenerationResult]
    ) -> GenerationResult:
        started = time.perf_counter()
        self._events.put(Stage(job_id, f"Preparing the job for {self.server.name}…"))
        files = self.files(refresh=True)
        self._check_cancel()
        if request.seed == RANDOM_SEED:
            request = request.with_changes(seed=secrets.randbelow(RANDOM_SEED_LIMIT))
        request = request.with_changes(controls=request.active_controls)
        if not request.model:
            raise RequestError("No model is chosen. Pick one of the server's models, then generate again.")
        checkpoint = match_name(request.model, files.checkpoints, "model", self.server.name)
        family = self._family(checkpoint)
        # The sizes a family makes; a model whose family the server cannot tell is held to the widest range.
        request, notices = validate(request, family or "sdxl")

        def upload(png: bytes, kind: str) -> str:
            return self.client.upload_image(png, upload_name(png, kind))

        job = prepare(request, files, self.server.name, upload)
        job.notices[:0] = notices
        model = ModelInfo(name=stem(checkpoint), family=family)
        self._check_cancel()
        socket = ComfySocket(self.server, self._client_id, self.timeout)
        run = GraphRun(self.client, socket, self._client_id, job_id, self._cancel, self._events.put)
        try:
            images: list[Any] = []
            for call in range(request.batch_count):
                seeds = request.image_seeds(call)
                batch: list[Any] = []
                for seed in seeds:
                    stage = f"Generating on {self.server.name}…"
                    if request.images_total > 1:
                        stage = f"Generating image {len(images) + len(batch) + 1} of {request.images_total} on {self.server.name}…"
                    self._events.put(Stage(job_id, stage))
                    batch.append(run.image(job, seed, call))
                images.extend(batch)
                result = self._result(job, model, batch, seeds, started)
                done.append(result)
                self._events.put(ImagesReady(job_id, result))
        finally:
            socket.close()
        return _merge(done, cancelled=False, elapsed=time.perf_counter() - started)

    def _family(self, checkpoint: str) -> str:
        from studio.backend.comfyui.catalogue import family_from_metadata, file_metadata

        return family_from_metadata(file_metadata(self.client, "checkpoints", checkpoint)) or ""

    def _result(
        self, job: PreparedJob, model: ModelInfo, images: list[Any], seeds: list[int], started: float
    ) -> GenerationResult:
        return GenerationResult(
            request=job.request,
            images=images,
            seeds=list(seeds),
            prompt=job.prompt,
            negative_prompt=job.negative,
            model=model,
            notices=list(job.notices),
            loras=list(job.loras),
            elapsed_s=time.perf_counter() - started,
            server=server_label(self.server),
        )


def _merge(done: list[GenerationResult], cancelled: bool, elapsed: float | None = None) -> GenerationResult:
    """The job's result from its batches, as the local engine hands one result back."""
    first = done[0]
    images = [image for batch in done for image in batch.images]
    seeds = [seed for batch in done for seed in batch.seeds]
    return GenerationResult(
        request=first.request,
        images=images,
        seeds=seeds,
        prompt=first.prompt,
        negative_prompt=first.negative_prompt,
        model=first.model,
        cancelled=cancelled,
        notices=list(first.notices),
        elapsed_s=elapsed if elapsed is not None else done[-1].elapsed_s,
        loras=list(first.loras),
        server=first.server,
    )
