"""The generation engine: one request in, images (or a clean cancel) out.

Every pipeline call asks for latents (``output_type="latent"``) and the engine decodes them itself. That is
what lets a cancel skip the VAE decode (diffusers' interrupt flag alone still decodes) and lets a broken
half-precision decode be detected and redone in fp32.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from studio.engine import loading
from studio.engine.config import EngineConfig
from studio.engine.controlnet import ControlNetCache
from studio.engine.devices import SafeDecoder, free_memory, pick_device, pick_dtype, set_threads
from studio.engine.embeddings import EmbeddingState
from studio.engine.fast_mode import FastMode, compiling
from studio.engine.guidance import (
    Guidance,
    PipelineVariants,
    check_inpaint_model,
    peek_model_family,
    prepare_guidance,
    resolve_controls,
)
from studio.engine.lazy import torch_modules
from studio.engine.lora_loader import LoraState, adapter_name, requested_loras
from studio.engine.memory_tiers import TierPlacer, is_out_of_memory
from studio.engine.pictures import INIT_IMAGE, fit_to_size, read_picture
from studio.engine.previews import LatentPreviewer, StepReporter, load_taesd
from studio.engine.prompt_embeds import prompt_embeds, prompt_notices
from studio.engine.prompt_schedule import PromptEdits
from studio.engine.samplers import callbacks_for, make_scheduler
from studio.engine.validation import check_request, validate
from studio.errors import RequestError
from studio.models.annotators import annotators_dir
from studio.models.controlnets import ControlNetRef, check_family
from studio.models.lora_library import LoraLibrary
from studio.models.model_family import base_family
from studio.models.taesd import taesd_for
from studio.prompt.a1111_syntax import parse_prompt
from studio.prompt.compose import compose
from studio.request import RANDOM_SEED, RANDOM_SEED_LIMIT, GenerationRequest, LoraRef
from studio.results import GenerationResult, ModelInfo, StepPreview

# The settings that change how the model is loaded or placed: a change drops the loaded model.
_RELOAD_FIELDS = ("device", "precision", "taesd_path", "allow_pickle", "vram", "fast", "fp8_weights")


@dataclass
class _Job:
    """One request as it runs: validated request, composed texts and what every batch call shares."""

    request: GenerationRequest
    prompt: str
    negative: str
    init_image: Any  # PIL image at width×height, or None
    total: int  # step callbacks per batch call, both passes
    notices: list[str]
    on_step: Callable[[StepPreview], None] | None
    on_stage: Callable[[str], None]
    cancel: threading.Event
    encoded: dict[str, Any]  # prompt_embeds & co. for the pipeline call: A1111 weighting and chunking
    guidance: Guidance = field(default_factory=Guidance)  # ControlNets and inpainting
    edits: PromptEdits | None = None  # a prompt with [from:to:when] / [a|b]: embeddings switched per step


class Engine:
    """Keeps one model loaded and runs requests on it. Construction is cheap: nothing heavy is imported.

    ``config`` (``EngineConfig``) says on which device, in which precision and with which folders; the backend
    makes it from the preferences and changes it between jobs with ``configure``.
    """

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._loras = LoraState()
        self._embeddings = EmbeddingState()
        self._lock = threading.Lock()
        self._loaded: loading.LoadedModel | None = None
        self._variants: PipelineVariants | None = None  # img2img/inpaint/ControlNet pipelines, shared weights
        self._controlnets = ControlNetCache()
        self._scheduler_config: dict[str, Any] = {}
        self._callback_counts: dict[tuple[str, int, float | None], int] = {}
        self._decoder: SafeDecoder | None = None
        self._previewer: LatentPreviewer | None = None
        self._placer: TierPlacer | None = None  # the VRAM tier the loaded model runs in
        self._fast: FastMode | None = None

    # --- public -------------------------------------------------------------------------------------------

    def generate(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepPreview], None] | None = None,
        cancel: threading.Event | None = None,
        on_stage: Callable[[str], None] | None = None,
        on_batch: Callable[[GenerationResult], None] | None = None,
    ) -> GenerationResult:
        """Run ``request``. Raises ``RequestError``/``ModelError`` for unusable input.

        When ``cancel`` is set the run stops within one step, skips the decode and returns a result with
        ``cancelled=True`` holding the images of batch calls that had already finished.

        ``on_batch`` is called as soon as each batch call is decoded (after its refine pass) with a result
        holding only that batch's images and seeds, so a caller can save them before the next batch runs: a
        crash or a kill then loses at most the batch in progress. The returned result still holds them all.
        """
        cancel = cancel or threading.Event()
        with self._lock:
            started = time.perf_counter()
            try:
                return self._generate(request, on_step, cancel, on_stage or _ignore, on_batch)
            except _Cancelled:
                return self._cancelled_early(request, started)

    def configure(self, config: EngineConfig) -> None:
        """Use ``config`` from the next request on; a new device, precision or preview model reloads the model."""
        reload = any(getattr(config, name) != getattr(self.config, name) for name in _RELOAD_FIELDS)
        with self._lock:  # never under a running request
            self.config = config
            if reload:
                self.unload()

    def unload(self) -> None:
        """Drop the loaded model and return its memory."""
        if self._loaded is None:
            return
        device = self._loaded.device
        self._loaded = self._variants = self._decoder = self._previewer = None
        self._placer = self._fast = None
        self._controlnets.clear()
        self._loras = LoraState()
        self._embeddings = EmbeddingState()
        free_memory(device)

    # --- one request --------------------------------------------------------------------------------------

    def _generate(self, request, on_step, cancel, on_stage, on_batch) -> GenerationResult:
        started = time.perf_counter()
        if not request.model:
            raise RequestError("No model is chosen. Pick a model in the model list, then generate again.")
        check_request(request)  # before the model loads: a bad number or a 50 MB prompt fails at once
        _stop_if_cancelled(cancel)
        set_threads(self.config.torch_threads)
        # Switched-off controls play no part in the run, so the result (and the metadata) leaves them out.
        request = request.with_changes(controls=request.active_controls)
        control_refs = self._controlnet_refs(request)
        loaded = self._ensure_model(request.model, on_stage, cancel)
        _stop_if_cancelled(cancel)
        request, notices = validate(request, loaded.info.family)
        check_inpaint_model(request, loaded.info.family)
        for ref in control_refs:
            check_family(ref, loaded.info.family)
        if control_refs:
            on_stage("Preparing control images…")
        guidance = prepare_guidance(
            request,
            control_refs,
            self._controlnets,
            device=loaded.device,
            dtype=loaded.dtype,
            notices=notices,
            annotators=annotators_dir(self.config.annotators_dir),  # DIFFUSION_STUDIO_ANNOTATORS still wins
        )
        _stop_if_cancelled(cancel)
        prompt, negative = compose(request)  # tags stay in these (and in the metadata), as in A1111
        parsed, parsed_negative = parse_prompt(prompt), parse_prompt(negative)
        notices += prompt_notices("prompt", parsed) + prompt_notices("negative prompt", parsed_negative)
        wants_loras = bool(request.loras or parsed.loras or parsed_negative.loras)
        self._prepare_speed(request, guidance, wants_loras, notices, on_stage)
        applied = self._apply_loras(request, [*parsed.loras, *parsed_negative.loras], notices, on_stage)
        _stop_if_cancelled(cancel)
        embedded = self._embeddings.encoder_prompts(
            loaded.pipe, prompt, negative, self.config.lora_dirs, loaded.info.family, notices
        )
        embeddings = embedded[2] if embedded else []
        if embedded:  # the names replaced by the embeddings' tokens; the metadata keeps the names
            parsed, parsed_negative = embedded[0], embedded[1]
        encoded = prompt_embeds(loaded.pipe, parsed, parsed_negative, request.clip_skip)
        _stop_if_cancelled(cancel)
        init_image: Any
        if guidance.inpaint is not None:
            init_image = guidance.inpaint.image
        else:
            init_image = _load_init_image(request, notices) if request.is_img2img else None
        if request.seed == RANDOM_SEED:
            request = request.with_changes(seed=secrets.randbelow(RANDOM_SEED_LIMIT))
        total = self._total_steps(request)
        job = _Job(
            request,
            prompt,
            negative,
            init_image,
            total,
            notices,
            on_step,
            on_stage,
            cancel,
            encoded,
            guidance,
            PromptEdits.build(loaded.pipe, parsed, parsed_negative, request.clip_skip),
        )

        def result(
            images: list[Any], seeds: list[int], notices: list[str], cancelled: bool
        ) -> GenerationResult:
            return GenerationResult(
                request=request,
                images=images,
                seeds=seeds,
                prompt=prompt,
                negative_prompt=negative,
                model=loaded.info,
                cancelled=cancelled,
                notices=notices,
                loras=applied,
                embeddings=[(entry.name, entry.short_hash()) for entry in embeddings],
                elapsed_s=time.perf_counter() - started,
            )

        images: list[Any] = []
        cancelled = False
        size = request.batch_size
        dropped = False  # out of memory: one tier down and one retry per run
        for call in range(request.batch_count):
            batch_seeds = request.image_seeds(call)
            while True:
                try:
                    batch = self._run_batch(job, call, batch_seeds)
                    break
                except RuntimeError as exc:  # torch.OutOfMemoryError is one
                    if not is_out_of_memory(exc):
                        raise
                    free_memory(loaded.device)
                    if dropped or not self._drop_tier(job):
                        raise RequestError(
                            f"The GPU ran out of memory making {request.width}×{request.height} images in "
                            f"batches of {size}. Lower the size or the batch size, or close other programs "
                            "using the GPU."
                        ) from exc
                    dropped = True
            if batch is None:
                cancelled = True
                break
            images.extend(batch)
            if on_batch is not None:
                on_batch(result(batch, batch_seeds, list(notices), False))  # a copy: later batches add to it
        # A cancel keeps only whole batches, so the first len(images) seeds are theirs.
        return result(images, request.image_seeds()[: len(images)], notices, cancelled)

    def _run_batch(self, job: _Job, call: int, seeds: list[int]) -> list[Any] | None:
        """One pipeline call of ``batch_size`` images (plus its refine pass). None when cancelled."""
        if job.cancel.is_set():
            return None
        request = job.request
        previewer = self._previewer if job.on_step is not None else None
        reporter = StepReporter(job.total, call, job.on_step, previewer, job.cancel)
        if request.batch_count > 1:
            job.on_stage(f"Generating batch {call + 1} of {request.batch_count}…")
        else:
            job.on_stage("Generating…")
        if job.init_image is not None:
            latents = self._img2img_pass(
                job,
                [job.init_image] * len(seeds),
                seeds,
                request.steps,
                request.strength,
                reporter,
                job.guidance,
            )
        else:
            pipe = self._ready()[1].get("txt2img", job.guidance.controlnets)
            pipe.scheduler = make_scheduler(request.sampler, self._scheduler_config)
            with compiling(self._fast, job, "txt2img", request.width, request.height, reporter):
                latents = pipe(
                    width=request.width,
                    height=request.height,
                    **self._common_args(job, seeds, request.steps, reporter),
                    **job.guidance.call_args("txt2img", request.width, request.height),
                ).images
        reporter.flush()
        if reporter.cancelled:
            return None
        job.on_stage("Decoding…")
        images = self._to_pil(self._ready()[2].decode(latents, job.notices))
        if job.guidance.inpaint is not None:
            images = job.guidance.inpaint.paste_back(images)
        if request.hires is None:
            return images
        hires = request.hires
        job.on_stage(f"Refining (upscale ×{hires.scale:g})…")
        size = hires.output_size(request.width, request.height)
        upscaled = [image.resize(size, Image.Resampling.LANCZOS) for image in images]
        reporter.pass_name = "refine"
        latents = self._img2img_pass(
            job, upscaled, seeds, hires.steps, hires.strength, reporter, job.guidance.refine
        )
        if reporter.cancelled:
            return None
        job.on_stage("Decoding…")
        return self._to_pil(self._ready()[2].decode(latents, job.notices))

    def _cancelled_early(self, request: GenerationRequest, started: float) -> GenerationResult:
        """The result of a run cancelled before its first step: no images, nothing to save."""
        loaded = self._loaded
        if loaded is not None and loaded.reference == request.model:
            model = loaded.info
        else:
            model = ModelInfo(name=request.model, family="")  # the load was stopped before it said
        return GenerationResult(
            request=request,
            images=[],
            seeds=[],
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            model=model,
            cancelled=True,
            elapsed_s=time.perf_counter() - started,
        )

    def _controlnet_refs(self, request: GenerationRequest) -> list[ControlNetRef]:
        """The request's ControlNets, found and family-checked before any weights load, the model's included."""
        if not request.controls:
            return []
        if self._loaded is not None and self._loaded.reference == request.model:
            return resolve_controls(request, self._loaded.info.family, self.config.controlnet_dirs)
        return resolve_controls(request, peek_model_family(request.model), self.config.controlnet_dirs)

    def _img2img_pass(
        self,
        job: _Job,
        images: list[Any],
        seeds: list[int],
        steps: int,
        strength: float,
        reporter: StepReporter,
        guidance: Guidance | None = None,
    ) -> Any:
        """An img2img call, with the ControlNets of ``guidance`` and, given its mask, an inpaint call."""
        guidance = guidance or Guidance()
        mode = "inpaint" if guidance.inpaint is not None else "img2img"
        pipe = self._ready()[1].get(mode, guidance.controlnets)  # from_pipe: shares the loaded weights
        pipe.scheduler = make_scheduler(job.request.sampler, self._scheduler_config)
        width, height = images[0].size
        with compiling(self._fast, job, mode, width, height, reporter):
            latents = pipe(
                image=images,
                strength=strength,
                **self._common_args(job, seeds, steps, reporter, strength),
                **guidance.call_args(mode, width, height),
            ).images
        reporter.flush()
        return latents

    def _common_args(
        self, job: _Job, seeds: list[int], steps: int, reporter: StepReporter, strength: float | None = None
    ) -> dict[str, Any]:
        torch = torch_modules().torch
        # CPU generators, one per image: the same seed gives the same noise on every device and in any batch.
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        edits = {}
        if job.edits is not None:  # step 0's embeddings and a callback that switches them
            edits = job.edits.call_args(self._callbacks(job.request.sampler, steps, strength), reporter)
        return {
            **job.encoded,
            "num_inference_steps": steps,
            "guidance_scale": job.request.cfg_scale,
            "num_images_per_prompt": len(seeds),
            "generator": generators,
            "output_type": "latent",
            "callback_on_step_end": reporter,
            "callback_on_step_end_tensor_inputs": ["latents"],
            **edits,
        }

    def _apply_loras(self, request, tags, notices: list[str], on_stage) -> list[LoraRef]:
        """Put the request's and the prompt tags' LoRAs on the model; the applied ones with their hashes."""
        loaded = self._ready()[0]
        if not request.loras and not tags:
            self._loras.apply(loaded.pipe, [], loaded.info.family)
            return []
        loras = requested_loras(request.loras, tags, LoraLibrary.scan(self.config.lora_dirs), notices)
        if any(adapter_name(lora.entry) not in self._loras.loaded for lora in loras):
            on_stage("Loading LoRAs…")
        self._loras.apply(loaded.pipe, loras, loaded.info.family)
        return [LoraRef(a.entry.name, a.weight, a.enabled, a.entry.short_hash()) for a in loras]

    def _ready(self) -> tuple[loading.LoadedModel, PipelineVariants, SafeDecoder]:
        """The loaded model and what was built with it: a request runs only after ``_ensure_model``."""
        assert self._loaded is not None and self._variants is not None and self._decoder is not None
        return self._loaded, self._variants, self._decoder

    def _to_pil(self, decoded: Any) -> list[Any]:
        return self._ready()[0].pipe.image_processor.postprocess(decoded, output_type="pil")

    def _total_steps(self, request: GenerationRequest) -> int:
        """The true number of step callbacks per batch call, from the schedulers themselves."""
        total = self._callbacks(
            request.sampler, request.steps, request.strength if request.is_img2img else None
        )
        if request.hires is not None:
            total += self._callbacks(request.sampler, request.hires.steps, request.hires.strength)
        return total

    def _callbacks(self, sampler: str, steps: int, strength: float | None) -> int:
        # Building a scheduler and its timesteps costs about a millisecond; the GUI repeats the same settings.
        key = (sampler, steps, strength)
        if key not in self._callback_counts:
            scheduler = make_scheduler(sampler, self._scheduler_config)
            self._callback_counts[key] = callbacks_for(scheduler, steps, strength)
        return self._callback_counts[key]

    # --- the model cache ----------------------------------------------------------------------------------

    def _ensure_model(
        self, reference: str, on_stage: Callable[[str], None], cancel: threading.Event
    ) -> loading.LoadedModel:
        if self._loaded is not None and self._loaded.reference == reference:
            return self._loaded
        self.unload()  # free the old weights before loading new ones: two models may not fit together
        on_stage("Loading model…")
        device = pick_device(self.config.device)
        dtype = pick_dtype(device, self.config.precision)
        loaded = loading.load_model(
            reference,
            device="cpu",  # the VRAM tier puts it on the device (``_prepare_speed``): it may not fit whole
            dtype=dtype,
            allow_pickle=self.config.allow_pickle,
            on_progress=lambda stage: _stop_loading_if_cancelled(stage, cancel),
        )
        loaded.device = device
        taesd_dir = taesd_for(self.config.taesd_path, loaded.info.family) if self.config.taesd_path else None
        taesd = load_taesd(str(taesd_dir), device, dtype) if taesd_dir else None
        loaded.pipe.set_progress_bar_config(disable=True)  # the studio reports progress itself
        self._scheduler_config = dict(loaded.pipe.scheduler.config)
        self._callback_counts = {}
        self._decoder = SafeDecoder(loaded.pipe.vae)
        self._previewer = LatentPreviewer(base_family(loaded.info.family), taesd)
        self._variants = PipelineVariants(loaded.pipe, loaded.info.family)
        self._placer = TierPlacer(device)
        self._fast = FastMode(device, base_family(loaded.info.family)) if self.config.fast else None
        self._loaded = loaded
        return loaded

    # --- VRAM tier and fast mode (memory_tiers, fast_mode) -----------------------------------------------------

    def _prepare_speed(self, request, guidance: Guidance, wants_loras: bool, notices: list[str], on_stage) -> None:
        loaded, placer = self._ready()[0], self._placer
        assert placer is not None
        placer.prepare(loaded.pipe, loaded.info.family, request, self.config, guidance.controlnets, notices, on_stage)
        if self._fast is not None:
            self._fast.setup(loaded.pipe, placer.tier == "high", wants_loras, notices)
            self._fast.add_controlnets(guidance.controlnets)

    def _drop_tier(self, job: _Job) -> bool:
        """After an out-of-memory error: the next tier down, told to the artist. False from the lowest."""
        loaded, placer = self._ready()[0], self._placer
        assert placer is not None
        if self._fast is not None:
            self._fast.undo(loaded.pipe)
        return placer.drop(loaded.pipe, loaded.info.family, job.request, job.guidance.controlnets, job.notices, job.on_stage)


class _Cancelled(Exception):
    """Cancel came before the first denoising step (while loading or encoding); the run stops there."""


def _stop_if_cancelled(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise _Cancelled


def _stop_loading_if_cancelled(stage: str, cancel: threading.Event) -> None:
    """load_model reports each stage (read, hash, move to the GPU): a cancel stops it at the next one, so a
    Ctrl+C during a load that takes a minute is not ignored until the load ends. Download progress is the
    exception: it comes from inside the download, which would report the stop as a failed download."""
    if not stage.startswith("Downloading"):
        _stop_if_cancelled(cancel)


def _ignore(_message: str) -> None:
    pass


def _load_init_image(request: GenerationRequest, notices: list[str]) -> Any:
    """The init image as RGB at the request's size; a resize is reported in ``notices``."""
    what, advice = INIT_IMAGE
    image = read_picture(request.init_image or "", what, advice)  # is_img2img: never empty here
    return fit_to_size(image, (request.width, request.height), what, notices)
