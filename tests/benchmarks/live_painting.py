"""Live painting figures: input-to-picture latency, pictures per second while painting, coalesced inputs, and
how smooth the window stays. A script, not a test (pytest ignores this folder).

    python tests/benchmarks/live_painting.py                 # CPU: the whole window, offscreen, tiny demo model
    python tests/benchmarks/live_painting.py --size 64 --seconds 20
    python tests/benchmarks/live_painting.py --gpu           # GPU: SD1.5-shaped random weights, fp16, 512²
    python tests/benchmarks/live_painting.py --gpu-smoke     # the --gpu code on the CPU (tiny model, 64 px)

``--gpu`` needs a CUDA machine with the studio's environment and the SD1.5 configs in resources/model_configs;
it takes about three minutes (writing the random model, then 9 alternating rounds of 3 paths × 2 settings).

CPU mode does what ``python -m studio --self-test`` does (a throw-away data folder, the demo model built by the
engine process, a 10 ms heartbeat timer on the GUI thread; a stall is a beat late by more than 10 ms), then
switches Live on in the Sketch tab and paints strokes continuously through the canvas's own stroke calls at
about 120 pointer moves a second. Latency is measured from the end of each stroke to the first live picture
of that stroke (or a later one) on screen. Painting latency is the time of one stroke segment, live off then on.

GPU mode times, alternating, in one run: a plain diffusers img2img loop, ``Engine.generate`` (with a preview
at every step, as the window gets), and a live run through the backend seam (``LocalBackend``: the engine
thread and the events), for (a) 4 steps of LCM with an LCM-LoRA-shaped LoRA, CFG 1, and (b) 1 step of
Euler a SGM Uniform, CFG 1 (turbo-like). The goal is 20 pictures/s end to end in eager mode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The checkout this script sits in, before any installed copy of the studio.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

HEARTBEAT_MS = 10


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# --- CPU: the whole window ------------------------------------------------------------------------------------


def run_cpu(size: int, seconds: float, steps: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from studio.paths import HOME_ENV

    home = Path(tempfile.mkdtemp(prefix="studio-live-bench-"))
    os.environ[HOME_ENV] = str(home)
    try:
        return _cpu(size, seconds, steps)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _cpu(size: int, seconds: float, steps: int) -> dict:
    import qasync
    from PySide6.QtTest import QTest

    from studio.app import build_studio, make_application

    app = make_application([sys.argv[0]])
    studio = build_studio(app)
    window = studio.window
    window.resize(1280, 800)
    window.show()
    QTest.qWaitForWindowExposed(window)
    studio.start_background()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_paint(studio, size, seconds, steps))
    finally:
        window.close()
        app.processEvents()
        loop.close()
        asyncio.set_event_loop(None)


async def _wait_for(condition, what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _paint(studio, size: int, seconds: float, steps: int) -> dict:
    from PySide6.QtCore import QPointF, QTimer

    state, window = studio.state, studio.window
    errors: list[str] = []
    state.message.connect(lambda kind, text, _d: errors.append(text) if kind == "error" else None)
    state.create_demo_models()
    await _wait_for(lambda: "sd15" in state.request.model or errors, "the demo model")
    if errors:
        return {"errors": errors}
    state.update(prompt="a castle on a hill", width=size, height=size, seed=7)
    sketch = window.canvases.sketch
    canvas = sketch.canvas
    window.canvas.tabs.setCurrentWidget(sketch)
    live = window.live
    live.view.steps.setValue(steps)

    async def paint_strokes(seconds: float, segments: list[float], ends: list[tuple[float, int]]) -> float:
        """Strokes of half a second at ~120 pointer moves a second, 50 ms apart, for ``seconds``."""
        start = time.perf_counter()
        stroke = 0
        while time.perf_counter() - start < seconds:
            x0 = 4 + (stroke * 11) % max(8, size - 8)
            canvas.begin_stroke(QPointF(x0, 4))
            for i in range(1, 61):
                t = time.perf_counter()
                canvas.continue_stroke(QPointF(x0 + (i % 9), 4 + i * (size - 8) / 60))
                segments.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(1 / 120)
            canvas.end_stroke()  # ``changed`` offers the stroke's input now (with live mode on)
            ends.append((time.perf_counter(), live.controller.scheduler.revision))
            stroke += 1
            await asyncio.sleep(0.05)
        return time.perf_counter() - start

    painting_off: list[float] = []
    await paint_strokes(min(5.0, seconds), painting_off, [])  # the same hand, live mode off
    live.sketch_switch.trigger()  # Live on: the first picture loads the model
    await _wait_for(lambda: live.view.shown >= 1 or errors, "the first live picture")
    if errors:
        return {"errors": errors}
    painting_on: list[float] = []

    shown: list[tuple[float, int]] = []  # (time, revision shown)
    controller = live.controller
    controller.picture.connect(
        lambda _r: shown.append((time.perf_counter(), controller.scheduler.shown_revision))
    )
    counts_before = (controller.scheduler.counts.offered, controller.scheduler.counts.coalesced)
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    heartbeat.start()

    stroke_ends: list[tuple[float, int]] = []  # (time, revision offered by that stroke's end)
    run_s: list[float] = []
    controller.picture.connect(lambda result: run_s.append(result.elapsed_s))
    painted_s = await paint_strokes(seconds, painting_on, stroke_ends)
    shown_while_painting = len(shown)
    await _wait_for(lambda: controller.scheduler.idle, "the last live picture", timeout=60)
    await asyncio.sleep(0.2)
    heartbeat.stop()

    latencies = []
    for ended, revision in stroke_ends:
        later = [t for t, r in shown if r >= revision and t >= ended]
        if later:
            latencies.append((later[0] - ended) * 1000)
    stalls = [max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in zip(beats, beats[1:], strict=False)]
    counts = controller.scheduler.counts
    screenshot = Path(tempfile.gettempdir()) / "live_painting_window.png"
    window.grab().save(str(screenshot))
    live.sketch_switch.trigger()
    return {
        "size": size,
        "live_steps": steps,
        "painted_s": round(painted_s, 1),
        "strokes": len(stroke_ends),
        "inputs_offered": counts.offered - counts_before[0],
        "inputs_coalesced": counts.coalesced - counts_before[1],
        "runs_cancelled_outdated": counts.cancelled,
        "pictures_while_painting": shown_while_painting,
        "fps_while_painting": round(shown_while_painting / painted_s, 2),
        "stroke_end_to_picture_ms_median": round(statistics.median(latencies), 1) if latencies else None,
        "stroke_end_to_picture_ms_p95": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "live_run_ms_median": round(statistics.median(run_s) * 1000, 1) if run_s else None,
        "stall_ms_p95": round(_percentile(stalls, 0.95), 1),
        "stall_ms_max": round(max(stalls, default=0.0), 1),
        "segment_ms_median_live_off": round(statistics.median(painting_off), 3),
        "segment_ms_p95_live_off": round(_percentile(painting_off, 0.95), 3),
        "segment_ms_median_live_on": round(statistics.median(painting_on), 3),
        "segment_ms_p95_live_on": round(_percentile(painting_on, 0.95), 3),
        "heartbeats": len(beats),
        "screenshot": str(screenshot),
        "errors": errors,
    }


# --- GPU: engine, backend and plain diffusers -----------------------------------------------------------------


def run_gpu(runs: int, smoke: bool = False) -> None:
    """``smoke``: the same code on the CPU with the tiny model at 64 px, to check the script itself."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    from alternating import print_medians, time_alternating
    from engine_overhead import write_sd15_shaped
    from PIL import Image

    from studio.backend.events import JobFailed, JobFinished
    from studio.backend.local import LocalBackend
    from studio.engine import Engine
    from studio.engine.config import EngineConfig
    from studio.engine.lazy import torch_modules
    from studio.engine.samplers import make_scheduler
    from studio.engine.tiny_addons import write_lora_for
    from studio.request import GenerationRequest, LoraRef

    mods = torch_modules()
    torch, diffusers = mods.torch, mods.diffusers
    if not smoke and not torch.cuda.is_available():
        raise SystemExit("--gpu needs CUDA; the CPU figures come without --gpu")
    size = 64 if smoke else 512
    sync = (lambda: None) if smoke else torch.cuda.synchronize
    device_name = "CPU (smoke test, tiny model)" if smoke else torch.cuda.get_device_name()
    with tempfile.TemporaryDirectory() as tmp:
        if smoke:
            from studio.engine.tiny_models import write_tiny_sd15

            folder = write_tiny_sd15(Path(tmp) / "sd15")
        else:
            folder = write_sd15_shaped(Path(tmp) / "sd15")
        components = diffusers.StableDiffusionPipeline.from_pretrained(str(folder)).components
        # Named as the real one is, so the few-step recogniser sees an LCM-LoRA.
        lora = write_lora_for(
            Path(tmp) / "loras" / "lcm-lora-sdv1-5.safetensors", components, "sd15", scale=0.01
        )
        del components
        sketch = Path(tmp) / "sketch.png"
        pixels = np.full((size, size, 3), 255, dtype=np.uint8)
        pixels[size // 5 : size * 4 // 5, size // 2 : size // 2 + max(2, size // 40)] = 0
        Image.fromarray(pixels).save(sketch)
        engine = Engine(EngineConfig(device="cpu") if smoke else EngineConfig(precision="fp16"))
        configs = {
            "LCM-LoRA, 4 steps": dict(sampler="LCM", steps=4, loras=(LoraRef(str(lora), 1.0),)),
            "turbo-like, 1 step": dict(sampler="Euler a SGM Uniform", steps=1, loras=()),
        }
        for label, settings in configs.items():
            request = GenerationRequest(
                model=str(folder),
                prompt="a castle on a hill",
                seed=7,
                width=size,
                height=size,
                cfg_scale=1.0,
                init_image=str(sketch),
                strength=1.0,
                **settings,
            )
            engine.generate(request)  # load, apply the LoRA, warm up
            pipe = engine._loaded.pipe
            img2img = diffusers.StableDiffusionImg2ImgPipeline(**pipe.components)
            img2img.set_progress_bar_config(disable=True)
            base_config = dict(pipe.scheduler.config)
            init = Image.open(sketch).convert("RGB")

            def plain(request=request, img2img=img2img, base_config=base_config, init=init) -> None:
                img2img.scheduler = make_scheduler(request.sampler, base_config)
                img2img(
                    request.prompt,
                    image=init,
                    strength=1.0,
                    num_inference_steps=request.steps,
                    guidance_scale=1.0,
                    generator=torch.Generator("cpu").manual_seed(7),
                )

            def studio(request=request) -> None:
                engine.generate(request, on_step=lambda _p: None)

            backend = LocalBackend(engine_factory=lambda _c: engine)
            backend.start(warm_up=True)

            def through_backend(request=request, backend=backend) -> None:
                job = backend.submit(request)
                while True:
                    event = backend.next_event(timeout=30)
                    if isinstance(event, JobFinished | JobFailed) and event.job_id == job:
                        return

            plain()
            through_backend()
            wall, cpu = time_alternating(
                {"plain diffusers": plain, "Engine.generate": studio, "live via backend": through_backend},
                max(5, runs),
                sync=sync,
            )
            shape = "tiny" if smoke else "SD1.5-shaped fp16"
            print(f"{label}: {shape} on {device_name}, {size}², img2img strength 1, CFG 1")
            print_medians(wall, cpu)
            for name, values in wall.items():
                print(f"  pictures/s {name:16s} {1 / statistics.median(values):6.1f}")
            backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="the GPU figures (needs CUDA)")
    parser.add_argument(
        "--size", type=int, default=128, help="CPU: picture size (64-128 with the tiny model)"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="CPU: how long to paint")
    parser.add_argument("--steps", type=int, default=4, help="CPU: live steps")
    parser.add_argument("--runs", type=int, default=9, help="GPU: alternating runs of each kind")
    parser.add_argument(
        "--gpu-smoke", action="store_true", help="the --gpu code on the CPU, tiny model, 64 px"
    )
    args = parser.parse_args()
    if args.gpu or args.gpu_smoke:
        run_gpu(args.runs, smoke=args.gpu_smoke)
        return
    import json

    print(json.dumps(run_cpu(args.size, args.seconds, args.steps), indent=1))


if __name__ == "__main__":
    main()
