"""What the engine costs on top of a plain diffusers ControlNet call. A script, not a test.

Runs the same scribble-ControlNet request through ``StableDiffusionControlNetPipeline`` (built with
``from_pipe`` on the engine's own loaded model and ControlNet, given the already inverted control image) and
through ``Engine.generate`` (which also reads and inverts the sketch each run) with a preview at every step,
alternating, and prints the medians and their ratio.

    python tests/benchmarks/controlnet_overhead.py --threads 1     # tiny SD1.x + tiny ControlNet, CPU, 128 px
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alternating import print_medians, time_alternating
from PIL import Image, ImageDraw

from studio.engine import Engine
from studio.engine.config import EngineConfig
from studio.engine.control_images import invert_if_light
from studio.engine.lazy import torch_modules
from studio.engine.samplers import make_scheduler
from studio.engine.tiny_addons import write_tiny_controlnet
from studio.engine.tiny_models import write_tiny_sd15
from studio.request import ControlInput, GenerationRequest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each kind (at least 5)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (1 is steadier)")
    args = parser.parse_args()
    mods = torch_modules()
    torch, diffusers = mods.torch, mods.diffusers
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tiny_sd15(Path(tmp) / "sd15")
        net_folder = write_tiny_controlnet(Path(tmp) / "controlnet", "sd15")
        sketch = Path(tmp) / "sketch.png"
        drawing = Image.new("RGB", (args.size, args.size), "white")
        ImageDraw.Draw(drawing).ellipse((8, 8, args.size - 8, args.size - 8), outline="black", width=4)
        drawing.save(sketch)
        size, steps = args.size, args.steps
        request = GenerationRequest(
            model=str(folder),
            prompt="a lighthouse on a cliff at dusk",
            negative_prompt="blurry",
            seed=1234,
            steps=steps,
            sampler="DPM++ 2M Karras",
            width=size,
            height=size,
            controls=(ControlInput("scribble", str(sketch), str(net_folder), source="canvas"),),
        )
        engine = Engine(EngineConfig(device="cpu"))
        engine.generate(request)  # load the model and the ControlNet; warm-up
        (controlnet,) = engine._controlnets._models.values()
        plain_pipe = diffusers.StableDiffusionControlNetPipeline.from_pipe(
            engine._loaded.pipe, controlnet=controlnet
        )
        plain_pipe.set_progress_bar_config(disable=True)
        control_image = invert_if_light(Image.open(sketch).convert("RGB"))
        base_config = dict(engine._loaded.pipe.scheduler.config)
        previews = []

        def plain() -> None:
            plain_pipe.scheduler = make_scheduler(request.sampler, base_config)
            plain_pipe(
                request.prompt,
                image=control_image,
                negative_prompt=request.negative_prompt,
                num_inference_steps=steps,
                guidance_scale=request.cfg_scale,
                width=size,
                height=size,
                generator=torch.Generator("cpu").manual_seed(request.seed),
            )

        def studio() -> None:
            engine.generate(request, on_step=previews.append)

        plain()
        runs = max(5, args.runs)
        wall, cpu = time_alternating({"plain diffusers": plain, "Engine.generate": studio}, runs)

        print(
            f"tiny SD1.x + tiny scribble ControlNet on cpu, {size}x{size}, {steps} steps, {request.sampler}, "
            f"{runs} alternating runs each, preview at every step ({len(previews)} previews), "
            f"{torch.get_num_threads()} torch threads"
        )
        print_medians(wall, cpu, steps=steps)


if __name__ == "__main__":
    main()
