"""Does memory grow over many generations in one process? A script, not a test (pytest ignores this folder).

Runs ``--runs`` generations through one ``Engine`` on the tiny SD1.x model (64 px, 2 steps), cycling through
txt2img, img2img and a scribble ControlNet while switching a LoRA on and off every other run, so that every
kind meets every LoRA state. Prints the resident memory after 10 generations, halfway and at the end, and the
growth from the 10th to the last in percent; exits 1 when that growth reaches ``--limit`` percent.

    python tests/benchmarks/soak.py                  # 200 generations, fails at 5 % growth
    python tests/benchmarks/soak.py --runs 40 --threads 1

The first ten generations are the warm-up: the model, the img2img and ControlNet pipelines, the ControlNet and
the LoRA are all loaded by then, so what grows afterwards is what each generation leaves behind.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from studio.engine import Engine
from studio.engine.config import EngineConfig
from studio.engine.tiny_addons import write_tiny_controlnet, write_tiny_lora
from studio.engine.tiny_models import write_tiny_sd15
from studio.request import ControlInput, GenerationRequest, LoraRef

KINDS = ("txt2img", "img2img", "controlnet")
WARM_UP = 10


def rss_bytes() -> tuple[int, str]:
    """The process's resident memory now, and where the figure came from."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024, "/proc/self/status VmRSS"
    except OSError:
        pass
    try:
        import psutil
    except ImportError:
        import resource

        # Only the peak is available here; a leak still shows, as the peak keeps rising with it.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * (1 if sys.platform == "darwin" else 1024), "getrusage ru_maxrss (peak)"
    return psutil.Process().memory_info().rss, "psutil rss"


def write_inputs(folder: Path, size: int) -> tuple[Path, Path]:
    """An init image for img2img and a black-on-white sketch for the scribble ControlNet."""
    photo, sketch = folder / "init.png", folder / "sketch.png"
    Image.new("RGB", (size, size), (180, 90, 40)).save(photo)
    drawing = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(drawing).ellipse((6, 6, size - 6, size - 6), outline="black", width=3)
    drawing.save(sketch)
    return photo, sketch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help=f"generations in all (more than {WARM_UP})")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--limit", type=float, default=5.0, help="growth in percent that fails the run")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is steadier)")
    args = parser.parse_args()
    if args.runs <= WARM_UP:
        parser.error(f"--runs must be more than {WARM_UP}: the first {WARM_UP} are the baseline")
    checkpoints = sorted({WARM_UP, max(WARM_UP, args.runs // 2), args.runs})

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = write_tiny_sd15(tmp / "sd15")
        net = write_tiny_controlnet(tmp / "controlnet", "sd15")
        lora = write_tiny_lora(tmp / "loras" / "tiny-sd15-lora.safetensors", "sd15")
        photo, sketch = write_inputs(tmp, args.size)
        base = GenerationRequest(
            model=str(model),
            prompt="a lighthouse on a (cliff:1.2) at dusk",
            negative_prompt="blurry",
            steps=args.steps,
            sampler="Euler",
            width=args.size,
            height=args.size,
        )
        engine = Engine(EngineConfig(device="cpu", torch_threads=args.threads))
        readings: dict[int, int] = {}
        source = ""
        started = time.perf_counter()
        for run in range(1, args.runs + 1):
            kind = KINDS[(run - 1) % len(KINDS)]
            changes: dict[str, object] = {"seed": run}
            if kind == "img2img":
                changes.update(init_image=str(photo), strength=0.6)
            elif kind == "controlnet":
                changes["controls"] = (ControlInput("scribble", str(sketch), str(net), source="canvas"),)
            # On every other run: with three kinds, each kind meets the LoRA both on and off.
            changes["loras"] = (LoraRef(str(lora), 0.8, enabled=run % 2 == 0),)
            result = engine.generate(base.with_changes(**changes))
            if len(result.images) != 1:
                raise SystemExit(f"generation {run} ({kind}) gave {len(result.images)} images, not 1")
            del result
            if run in checkpoints:
                gc.collect()  # count what is still held, not garbage that has yet to be collected
                readings[run], source = rss_bytes()
                elapsed = time.perf_counter() - started
                print(
                    f"after {run:4d} generations: RSS {readings[run] / 2**20:8.1f} MiB   "
                    f"({elapsed:6.1f} s so far, {elapsed / run:.2f} s per generation)",
                    flush=True,
                )

    first, last = readings[checkpoints[0]], readings[checkpoints[-1]]
    growth = (last - first) / first * 100
    print(f"RSS source: {source}")
    print(
        f"growth from generation {checkpoints[0]} to {checkpoints[-1]}: {(last - first) / 2**20:+.1f} MiB "
        f"= {growth:+.2f} %  (limit {args.limit:g} %)"
    )
    if growth >= args.limit:
        print("FAIL: memory grows with the number of generations")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
