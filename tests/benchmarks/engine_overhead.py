"""What the engine costs on top of a plain diffusers call. A script, not a test (pytest ignores this folder).

Runs the same request through ``pipe(prompt, ..., generator=...)`` on the engine's own loaded pipeline and
through ``Engine.generate`` with a preview at every step, alternating, and prints the medians and their ratio.

    python tests/benchmarks/engine_overhead.py              # tiny random model on the CPU (128 px, 20 steps)
    python tests/benchmarks/engine_overhead.py --full       # SD1.5-shaped random weights, GPU, 512², 30 steps, fp16
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alternating import print_medians, time_alternating

from studio.engine import Engine
from studio.engine.config import EngineConfig
from studio.engine.lazy import torch_modules
from studio.engine.samplers import make_scheduler
from studio.engine.tiny_models import write_tiny_sd15
from studio.paths import resources_dir
from studio.request import GenerationRequest


def write_sd15_shaped(folder: Path) -> Path:
    """An SD1.5-shaped pipeline with random weights (real configs from resources/model_configs/sd15)."""
    mods = torch_modules()
    torch, diffusers, transformers = mods.torch, mods.diffusers, mods.transformers
    configs = resources_dir() / "model_configs"
    sd15 = configs / "sd15"
    if not (sd15 / "unet" / "config.json").is_file():
        raise SystemExit(f"--full needs the SD1.5 configs in {sd15}")
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel.from_config(
        diffusers.UNet2DConditionModel.load_config(sd15 / "unet")
    )
    vae = diffusers.AutoencoderKL.from_config(diffusers.AutoencoderKL.load_config(sd15 / "vae"))
    text_encoder = transformers.CLIPTextModel(
        transformers.CLIPTextConfig.from_pretrained(sd15 / "text_encoder")
    )
    tokenizer = transformers.CLIPTokenizer(
        str(configs / "clip_tokenizer" / "vocab.json"),
        str(configs / "clip_tokenizer" / "merges.txt"),
        model_max_length=77,
    )
    scheduler = diffusers.PNDMScheduler.from_config(diffusers.PNDMScheduler.load_config(sd15 / "scheduler"))
    pipe = diffusers.StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.to(torch.float16).save_pretrained(str(folder), safe_serialization=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="SD1.5-shaped model on the GPU, 512², 30 steps, fp16"
    )
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each kind (at least 5)")
    parser.add_argument("--size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (1 is steadier on a busy machine)"
    )
    args = parser.parse_args()
    torch = torch_modules().torch
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        if args.full:
            folder, engine = write_sd15_shaped(Path(tmp) / "sd15"), Engine(EngineConfig(precision="fp16"))
            size, steps = args.size or 512, args.steps or 30
        else:
            folder, engine = write_tiny_sd15(Path(tmp) / "sd15"), Engine(EngineConfig(device="cpu"))
            size, steps = args.size or 128, args.steps or 20
        request = GenerationRequest(
            model=str(folder),
            prompt="a lighthouse on a cliff at dusk",
            negative_prompt="blurry",
            seed=1234,
            steps=steps,
            sampler="DPM++ 2M Karras",
            width=size,
            height=size,
        )
        engine.generate(request)  # load the model; warm-up
        pipe = engine._loaded.pipe
        base_config = dict(pipe.scheduler.config)
        sync = torch.cuda.synchronize if engine._loaded.device.startswith("cuda") else (lambda: None)
        previews = []

        def plain() -> None:
            pipe.scheduler = make_scheduler(request.sampler, base_config)
            pipe(
                request.prompt,
                negative_prompt=request.negative_prompt,
                num_inference_steps=steps,
                guidance_scale=request.cfg_scale,
                width=size,
                height=size,
                generator=torch.Generator("cpu").manual_seed(request.seed),
            )

        def studio() -> None:
            engine.generate(request, on_step=previews.append)

        plain()  # warm-up of the plain path too
        runs = max(5, args.runs)
        wall, cpu = time_alternating({"plain diffusers": plain, "Engine.generate": studio}, runs, sync=sync)

        print(
            f"{'SD1.5-shaped' if args.full else 'tiny SD1.x'} on {engine._loaded.device}, {size}x{size}, {steps} "
            f"steps, {request.sampler}, {runs} alternating runs each, preview at every step "
            f"({len(previews)} previews), {torch.get_num_threads()} torch threads"
        )
        # Process CPU time is the steadier figure on a shared CPU (it ignores time spent waiting for a core);
        # on a GPU only the wall time means anything.
        print_medians(wall, cpu, steps=steps)


if __name__ == "__main__":
    main()
