"""Fast mode and the VRAM tiers, measured. A script, not a test (pytest ignores this folder; nothing is asserted).

For each family: plain diffusers eager, the studio eager and the studio in fast mode, alternating in one run,
with a preview at every step for the studio runs; then the first compile, the warm start of a fresh process
from the on-disk caches, and the peak GPU memory of each VRAM tier (SDXL also with one ControlNet).

    python tests/benchmarks/fast_mode.py --tiny          # tiny random models on the CPU (64/256 px, 4 steps)
    python tests/benchmarks/fast_mode.py                 # GPU: SD1.5 512² and SDXL 1024², 30 steps, fp16,
                                                         # random weights of the real shapes
    python tests/benchmarks/fast_mode.py --modes reduce-overhead,max-autotune-no-cudagraphs,max-autotune
                                                         # the compile modes compared, one process each

Figures printed: it/s and ms/step (whole run: text encoding and the VAE decode included), first-compile
seconds (from the "Preparing fast mode" stage to the first step), warm-start seconds (the same in a fresh
process with the caches on disk), and torch.cuda.max_memory_allocated per tier.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alternating import time_alternating
from engine_overhead import write_sd15_shaped
from PIL import Image, ImageDraw

from studio.engine import Engine
from studio.engine.config import EngineConfig
from studio.engine.fast_mode import MODE_ENV
from studio.engine.lazy import torch_modules
from studio.engine.memory_tiers import TIERS
from studio.engine.samplers import make_scheduler
from studio.engine.tiny_models import write_tiny_sd15, write_tiny_sdxl
from studio.paths import resources_dir
from studio.request import ControlInput, GenerationRequest

HERE = Path(__file__).resolve().parent
SIZES = {"sd15": 512, "sdxl": 1024}
TINY_SIZES = {"sd15": 64, "sdxl": 256}


def write_sdxl_shaped(folder: Path) -> Path:
    """An SDXL-shaped pipeline with random weights (real configs from resources/model_configs/sdxl), fp16."""
    mods = torch_modules()
    torch, diffusers, transformers = mods.torch, mods.diffusers, mods.transformers
    configs = resources_dir() / "model_configs"
    sdxl = configs / "sdxl"
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel.from_config(
        diffusers.UNet2DConditionModel.load_config(sdxl / "unet")
    )
    vae = diffusers.AutoencoderKL.from_config(diffusers.AutoencoderKL.load_config(sdxl / "vae"))
    text_encoder = transformers.CLIPTextModel(
        transformers.CLIPTextConfig.from_pretrained(sdxl / "text_encoder")
    )
    text_encoder_2 = transformers.CLIPTextModelWithProjection(
        transformers.CLIPTextConfig.from_pretrained(sdxl / "text_encoder_2")
    )
    vocab, merges = (
        str(configs / "clip_tokenizer" / "vocab.json"),
        str(configs / "clip_tokenizer" / "merges.txt"),
    )
    tokenizer = transformers.CLIPTokenizer(vocab, merges, model_max_length=77)
    tokenizer_2 = transformers.CLIPTokenizer(vocab, merges, model_max_length=77, pad_token="!")
    scheduler = diffusers.EulerDiscreteScheduler.from_config(
        diffusers.EulerDiscreteScheduler.load_config(sdxl / "scheduler")
    )
    pipe = diffusers.StableDiffusionXLPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        text_encoder_2=text_encoder_2,
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        scheduler=scheduler,
    )
    pipe.to(torch.float16).save_pretrained(str(folder), safe_serialization=True)
    return folder


def write_controlnet_shaped(folder: Path, family: str) -> Path:
    diffusers, torch = torch_modules().diffusers, torch_modules().torch
    config = diffusers.ControlNetModel.load_config(resources_dir() / "model_configs" / f"controlnet-{family}")
    torch.manual_seed(0)
    diffusers.ControlNetModel.from_config(config).to(torch.float16).save_pretrained(str(folder))
    return folder


def write_model(folder: Path, family: str, tiny: bool) -> Path:
    if tiny:
        return write_tiny_sd15(folder) if family == "sd15" else write_tiny_sdxl(folder)
    return write_sd15_shaped(folder) if family == "sd15" else write_sdxl_shaped(folder)


def make_request(folder: Path, size: int, steps: int, **changes) -> GenerationRequest:
    return GenerationRequest(
        model=str(folder),
        prompt="a lighthouse on a cliff at dusk",
        negative_prompt="blurry",
        seed=1234,
        steps=steps,
        sampler="Euler",
        width=size,
        height=size,
    ).with_changes(**changes)


class StageClock:
    """Seconds from the "Preparing fast mode" stage to the first step: the first compile, as the artist waits."""

    def __init__(self) -> None:
        self.stage_at: float | None = None
        self.first_step_at: float | None = None

    def on_stage(self, text: str) -> None:
        if text.startswith("Preparing fast mode") and self.stage_at is None:
            self.stage_at = time.perf_counter()

    def on_step(self, preview) -> None:
        if self.first_step_at is None:
            self.first_step_at = time.perf_counter()

    @property
    def seconds(self) -> float | None:
        if self.stage_at is None or self.first_step_at is None:
            return None
        return self.first_step_at - self.stage_at


def fast_first_run(folder: Path, size: int, steps: int, device: str, precision: str) -> dict:
    """One fast-mode run in this process from a cold model: load + compile + steps (also the warm-start child)."""
    engine = Engine(EngineConfig(device=device, precision=precision, fast=True, vram="high"))
    clock = StageClock()
    start = time.perf_counter()
    engine.generate(make_request(folder, size, steps), on_stage=clock.on_stage, on_step=clock.on_step)
    return {"compile_s": clock.seconds, "first_run_s": time.perf_counter() - start}


def warm_start(folder: Path, size: int, steps: int, device: str, precision: str, home: str) -> dict:
    """The same first run in a fresh process: the compile now comes from the caches in the studio's folder."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from fast_mode import fast_first_run; "
        "print(json.dumps(fast_first_run(__import__('pathlib').Path(sys.argv[2]), int(sys.argv[3]), "
        "int(sys.argv[4]), sys.argv[5], sys.argv[6])))"
    )
    env = {**os.environ, "DIFFUSION_STUDIO_HOME": home}
    out = subprocess.run(
        [sys.executable, "-c", code, str(HERE), str(folder), str(size), str(steps), device, precision],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_memory(folder: Path, request: GenerationRequest, device: str, precision: str) -> dict[str, float]:
    """torch.cuda.max_memory_allocated of one run in each tier (GB), the weights loaded fresh each time (2 steps:
    the peak is one step's, and the low tier streams every layer each step)."""
    torch = torch_modules().torch
    peaks: dict[str, float] = {}
    for tier in TIERS:
        engine = Engine(EngineConfig(device=device, precision=precision, vram=tier))
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        engine.generate(request, on_step=lambda preview: None)
        torch.cuda.synchronize()
        peaks[tier] = torch.cuda.max_memory_allocated() / 1e9
        engine.unload()
        del engine
    return peaks


def bench_family(family: str, args: argparse.Namespace, tmp: Path) -> None:
    mods = torch_modules()
    torch, diffusers = mods.torch, mods.diffusers
    cuda = torch.cuda.is_available() and not args.tiny
    device, precision = ("cuda", "fp16") if cuda else ("cpu", "fp32")
    size = args.size or (TINY_SIZES if args.tiny else SIZES)[family]
    steps = args.steps or (4 if args.tiny else 30)
    folder = write_model(tmp / family, family, args.tiny)
    request = make_request(folder, size, steps)
    print(
        f"\n== {family} {'tiny' if args.tiny else 'real-shaped'}, {size}×{size}, {steps} steps, {device} {precision}"
    )
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    # First compile: a cold process has no cache for this model (the data folder is new).
    first = fast_first_run(folder, size, steps, device, precision)
    print(
        f"  first compile (stage → first step): {first['compile_s']:.1f} s; whole first fast run {first['first_run_s']:.1f} s"
    )
    warm = warm_start(folder, size, steps, device, precision, os.environ["DIFFUSION_STUDIO_HOME"])
    print(
        f"  warm start, fresh process, caches on disk: {warm['compile_s']:.1f} s (whole run {warm['first_run_s']:.1f} s)"
    )

    eager = Engine(EngineConfig(device=device, precision=precision, vram="high"))
    fast = Engine(EngineConfig(device=device, precision=precision, vram="high", fast=True))
    eager.generate(request)  # load; warm-up
    fast.generate(request)  # load + compile (from this process's cache now)
    dtype = torch.float16 if cuda else torch.float32
    cls = diffusers.StableDiffusionPipeline if family == "sd15" else diffusers.StableDiffusionXLPipeline
    extra = {"safety_checker": None, "requires_safety_checker": False} if family == "sd15" else {}
    plain_pipe = cls.from_pretrained(str(folder), dtype=dtype, **extra).to(device)  # its own weights
    plain_pipe.set_progress_bar_config(disable=True)
    base_config = dict(plain_pipe.scheduler.config)
    previews: list = []

    def plain() -> None:
        plain_pipe.scheduler = make_scheduler(request.sampler, base_config)
        plain_pipe(
            request.prompt,
            negative_prompt=request.negative_prompt,
            num_inference_steps=steps,
            guidance_scale=request.cfg_scale,
            width=size,
            height=size,
            generator=torch.Generator("cpu").manual_seed(request.seed),
        )

    plain()
    runs = {
        "plain diffusers": plain,
        "studio eager": lambda: eager.generate(request, on_step=previews.append),
        "studio fast": lambda: fast.generate(request, on_step=previews.append),
    }
    wall, _cpu = time_alternating(runs, max(3, args.runs), sync=sync)
    print(
        f"  {max(3, args.runs)} alternating runs each, a preview every step in the studio runs ({len(previews)} previews)"
    )
    medians = {name: statistics.median(times) for name, times in wall.items()}
    for name, median in medians.items():
        print(
            f"  {name:16s} {steps / median:7.2f} it/s  {median / steps * 1000:8.1f} ms/step  (median {median:.3f} s)"
        )
    base = medians["plain diffusers"]
    print(
        f"  studio eager ÷ plain: {medians['studio eager'] / base:.3f}; studio fast speed-up: {base / medians['studio fast']:.2f}×"
    )
    # Free the GPU for the peak-memory runs (a ``del`` would leave the closures above without their names).
    eager.unload()
    fast.unload()
    plain_pipe.to("cpu")

    if not cuda:
        print(
            "  peak VRAM per tier: no GPU here (the tiers' placement is covered by tests/engine/test_memory_tiers.py)"
        )
    elif not args.skip_tiers:
        print("  peak VRAM per tier (torch.cuda.max_memory_allocated):")
        for tier, gb in peak_memory(folder, make_request(folder, size, 2), device, precision).items():
            print(f"    {tier:6s} {gb:6.2f} GB")
        if family == "sdxl":  # the goal: SDXL 1024² with one ControlNet in 6 GB in the lowest tier
            net = write_controlnet_shaped(tmp / f"controlnet-{family}", family)
            sketch = tmp / "sketch.png"
            drawing = Image.new("RGB", (size, size), "white")
            ImageDraw.Draw(drawing).ellipse((8, 8, size - 8, size - 8), outline="black", width=4)
            drawing.save(sketch)
            control = ControlInput("scribble", str(sketch), str(net), source="canvas")
            print("  with one ControlNet:")
            peaks = peak_memory(folder, make_request(folder, size, 2, controls=(control,)), device, precision)
            for tier, gb in peaks.items():
                print(f"    {tier:6s} {gb:6.2f} GB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random models on the CPU")
    parser.add_argument("--families", default="sd15,sdxl")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each kind (at least 3)")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--skip-tiers", action="store_true", help="leave out the peak-memory runs")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument(
        "--modes", default=None, help="compile modes to compare, comma-separated: each in its own process"
    )
    args = parser.parse_args()
    if args.modes:
        for mode in args.modes.split(","):
            print(f"\n######## compile mode {mode}", flush=True)
            child = [a for a in sys.argv[1:] if not a.startswith("--modes") and a != args.modes]
            subprocess.run(
                [sys.executable, __file__, *child], env={**os.environ, MODE_ENV: mode}, check=False
            )
        return
    torch = torch_modules().torch
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, compile mode {os.environ.get(MODE_ENV) or 'the studio default'}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()}")
    with tempfile.TemporaryDirectory() as tmp:
        # A fresh data folder: the first compile is really the first; the warm start reuses its caches.
        os.environ["DIFFUSION_STUDIO_HOME"] = str(Path(tmp) / "home")
        for family in args.families.split(","):
            bench_family(family, args, Path(tmp))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
