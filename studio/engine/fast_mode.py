"""Fast mode: the UNet (ControlNets, VAE decoder) compiled with ``torch.compile``, one graph per shape.

What it does, once per loaded model: channels-last memory for the convolutions, fused QKV projections in the
attention layers (while no LoRA is wanted: a LoRA sits on the unfused ``to_q``/``to_k``/``to_v``), and
``nn.Module.compile`` of the UNet in place, so every pipeline derived with ``from_pipe`` shares it.

The mode: on CUDA "reduce-overhead" (inductor kernels replayed as CUDA graphs; shapes are static because each
size compiles its own graph, ``dynamic=False``). The issue's measurements on an H200 put the SD1.5 UNet step at
26–32 ms eager and 6.27 ms compiled with CUDA graphs; ``tests/benchmarks/fast_mode.py --modes`` measures the
alternatives ("max-autotune" autotunes the GEMMs for minutes, "default" has no CUDA graphs) on the card at hand,
and ``DIFFUSION_STUDIO_COMPILE_MODE`` overrides the choice. On the CPU there are no CUDA graphs: "default".

The first run of a shape compiles (about a minute on a GPU for SD1.5): that run shows a named stage, "Preparing
fast mode for 512×512 — first time only", with the seconds ticking, so the window never looks frozen. The
inductor/FX caches and torch's portable cache artefacts live in the studio's cache folder, so the next launch
loads compiled kernels instead of compiling them.

Fast mode needs the whole model on the GPU: in the medium and low VRAM tiers the offload hooks move weights in
and out around every call, which a compiled graph cannot hold, so those runs stay eager (and say so).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from studio import paths
from studio.engine.lazy import torch_modules

log = logging.getLogger("studio.engine.fast")

MODE_ENV = "DIFFUSION_STUDIO_COMPILE_MODE"
# "eager" or "aot_eager" trace with dynamo but generate no kernels: for telling a compiler bug from a model bug
# (and for tests that check the setup without a minute of C++ compiling).
BACKEND_ENV = "DIFFUSION_STUDIO_COMPILE_BACKEND"
SHAPES_KEPT = 64  # compiled graphs kept per module: sizes × batch sizes × prompt lengths × ControlNets
EXPECTED_COMPILE_S = {"sd15": 60, "sdxl": 90}  # measured first compiles on an H200 (issue 12), for the stage
NOT_IN_HIGH_TIER = (
    "Fast mode needs the whole model on the graphics card (the High VRAM tier); this run used a lower tier "
    "to fit in memory, so it ran without compiling."
)
LORA_UNFUSED = "Fast mode's fused attention was undone for the LoRA, so this size compiles again once."


def compile_cache_dir() -> Path:
    """Where compiled kernels are kept between launches: the studio's cache folder."""
    return paths.data_dir() / "cache" / "compile"


def compile_mode(device: str) -> str:
    """The ``torch.compile`` mode for ``device`` (see the module's note), or the environment's override."""
    override = os.environ.get(MODE_ENV)
    if override:
        return override
    return "reduce-overhead" if device.startswith("cuda") else "default"


def shape_text(width: int, height: int) -> str:
    return f"{width}×{height}"


def _artifact_file(device: str) -> Path:
    torch = torch_modules().torch
    kind = device.split(":")[0]
    return compile_cache_dir() / f"portable-torch{torch.__version__}-{kind}.bin"


_cache_env: str | None = None  # the inductor folder this process set (a new data folder replaces it)


def use_cache_folder() -> None:
    """Point inductor's and triton's on-disk caches into the studio's cache folder (before the first compile)."""
    folder = compile_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    global _cache_env
    # torch writes its default into the environment when it first looks; a folder the user chose stays.
    current = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if current is None or current == _cache_env or os.path.abspath(current) == default_cache_dir():
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = _cache_env = str(folder / "inductor")
        os.environ["TRITON_CACHE_DIR"] = str(folder / "triton")
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")


class FastMode:
    """Fast mode for one loaded model: set up once, then one compiled graph per shape.

    ``shapes`` holds the shapes already compiled in this process (width, height, batch, prompt length,
    ControlNets); a new one gets the named "first time only" stage while it compiles.
    """

    _artifacts_loaded = False  # per process: torch keeps loaded artefacts for every later compile

    def __init__(self, device: str, family: str) -> None:
        self.device = device
        self.family = family
        self.mode = compile_mode(device)
        self.shapes: set[tuple[Any, ...]] = set()
        self.fused = False
        self._compiled: set[int] = set()  # id() of the modules compiled in place
        self._new_compiles = False

    @property
    def active(self) -> bool:
        return bool(self._compiled)

    def setup(self, pipe: Any, high_tier: bool, wants_loras: bool, notices: list[str]) -> None:
        """Channels-last, fused QKV (without LoRAs) and the in-place compile of the UNet and VAE decoder.

        ``high_tier`` False (the model is offloaded) leaves the model eager and says so in ``notices``.
        """
        torch = torch_modules().torch
        if not high_tier:
            self.undo(pipe)
            notices.append(NOT_IN_HIGH_TIER)
            return
        if not self._compiled:
            use_cache_folder()
            self._load_artifacts()
            if self.device.startswith("cuda"):
                torch._inductor.config.conv_1x1_as_mm = True  # 1×1 convolutions as GEMMs: diffusers' advice
            # One graph per shape: past dynamo's limit (8) a new size would silently run eager.
            dynamo = torch._dynamo.config
            limit = "recompile_limit" if hasattr(dynamo, "recompile_limit") else "cache_size_limit"  # torch < 2.7
            setattr(dynamo, limit, max(getattr(dynamo, limit), SHAPES_KEPT))
            pipe.unet.to(memory_format=torch.channels_last)
            pipe.vae.to(memory_format=torch.channels_last)
            self._compile(pipe.unet, self.mode)
            # The decoder runs once per image: compiled without CUDA graphs, which would hold a second copy of
            # its large activations for every size.
            self._compile(pipe.vae.decoder, "default")
        if wants_loras and self.fused:
            pipe.unfuse_qkv_projections(unet=True, vae=False)
            self.fused = False
            self.shapes.clear()
            notices.append(LORA_UNFUSED)
        elif not wants_loras and not self.fused and not _has_adapters(pipe.unet):
            pipe.fuse_qkv_projections(unet=True, vae=False)
            self.fused = True
            self.shapes.clear()

    def undo(self, pipe: Any) -> None:
        """Back to eager (before an offload tier): the compiled modules call their plain forward again."""
        for module in (pipe.unet, pipe.vae.decoder):
            if id(module) in self._compiled:
                # What ``nn.Module.compile`` set; torch has no public way back.
                module._compiled_call_impl = None
        self._compiled.clear()
        self.shapes.clear()

    def add_controlnets(self, controlnets: list[Any]) -> None:
        """ControlNets run beside the UNet every step: compiled the same way."""
        torch = torch_modules().torch
        for net in controlnets:
            if id(net) not in self._compiled:
                net.to(memory_format=torch.channels_last)
                self._compile(net, self.mode)

    def preparing(
        self, key: tuple[Any, ...], width: int, height: int, on_stage: Callable[[str], None], reporter: Any
    ) -> CompileStage | None:
        """The stage shown while ``key``'s shape compiles, or None when it is compiled already."""
        if key in self.shapes:
            return None
        self.shapes.add(key)
        self._new_compiles = True
        text = f"Preparing fast mode for {shape_text(width, height)} — first time only"
        log.info("%s (compile mode %s)", text, self.mode)
        # The expected time is a GPU measurement: elsewhere the seconds tick without a promise.
        expected = EXPECTED_COMPILE_S.get(self.family) if self.device.startswith("cuda") else None
        return CompileStage(text, on_stage, reporter, expected)

    def save_artifacts(self) -> None:
        """Write torch's portable cache artefacts after new compiles, so the next launch starts warm."""
        if not self._new_compiles:
            return
        self._new_compiles = False
        torch = torch_modules().torch
        try:
            saved = torch.compiler.save_cache_artifacts()
        except Exception as exc:  # a cache that cannot be written only costs the next launch a compile
            log.warning("could not collect the compile cache: %s", exc)
            return
        if not saved:
            return
        from studio.atomic import atomic_write_bytes

        data, _info = saved
        try:
            atomic_write_bytes(_artifact_file(self.device), data)
        except OSError as exc:
            log.warning("could not save the compile cache: %s", exc)

    def _compile(self, module: Any, mode: str) -> None:
        backend = os.environ.get(BACKEND_ENV, "inductor")
        if backend == "inductor":
            module.compile(mode=mode, dynamic=False)
        else:  # other backends take no inductor mode
            module.compile(backend=backend, dynamic=False)
        self._compiled.add(id(module))

    def _load_artifacts(self) -> None:
        if FastMode._artifacts_loaded:
            return
        FastMode._artifacts_loaded = True
        path = _artifact_file(self.device)
        if not path.is_file():
            return
        torch = torch_modules().torch
        try:
            torch.compiler.load_cache_artifacts(path.read_bytes())
            log.info("compile cache loaded from %s", path)
        except Exception as exc:  # a stale or broken cache: compile afresh
            log.warning("ignoring the compile cache %s: %s", path, exc)


@contextmanager
def compiling(
    fast: FastMode | None, job: Any, mode: str, width: int, height: int, reporter: Any
) -> Iterator[None]:
    """Around one pipeline call of the engine's ``job``: the named stage while a new shape compiles, and the
    cache saved after it. Does nothing without fast mode or for a shape compiled already."""
    if fast is None or not fast.active:
        yield
        return
    embeds = job.encoded.get("prompt_embeds")
    tokens = tuple(embeds.shape) if embeds is not None else ()
    nets = tuple(id(net) for net in job.guidance.controlnets)
    key = (mode, width, height, job.request.batch_size, tokens, nets)
    stage = fast.preparing(key, width, height, job.on_stage, reporter)
    try:
        yield
    finally:
        if stage is not None:
            stage.stop()
            log.info("%s: %.1f s", stage.text, stage.elapsed_s)
            fast.save_artifacts()


def _has_adapters(module: Any) -> bool:
    return bool(getattr(module, "peft_config", None))


class CompileStage:
    """The named stage of a first compile: re-sent every second with the time so far, until the first step.

    The compile runs inside the first UNet call on the engine's thread; this ticker runs beside it, so the
    window keeps moving. It stops at the first step callback (``reporter.step``) or when the run ends.
    """

    def __init__(
        self, text: str, on_stage: Callable[[str], None], reporter: Any, expected_s: int | None
    ) -> None:
        self.text = text
        self.on_stage = on_stage
        self.reporter = reporter
        self.expected_s = expected_s
        self.started = time.perf_counter()
        self.elapsed_s = 0.0
        self._done = threading.Event()
        on_stage(f"{text}…")
        self._thread = threading.Thread(target=self._tick, name="fast-mode-stage", daemon=True)
        self._thread.start()

    def _tick(self) -> None:
        while not self._done.wait(1.0):
            if self.reporter.step > 0:
                break
            seconds = time.perf_counter() - self.started
            about = f" (about {self.expected_s} s)" if self.expected_s else ""
            self.on_stage(f"{self.text}… {seconds:.0f} s{about}")
        self.elapsed_s = time.perf_counter() - self.started

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
