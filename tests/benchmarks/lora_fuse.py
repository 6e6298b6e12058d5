"""What a LoRA costs per step, fused and unfused, and how long changing its weight takes. A script, not a test.

Loads a model, puts LoRAs on it through the engine's ``LoraState`` and times the UNet denoising loop (the pipeline
called with ``output_type="latent"``) three ways: no LoRA, LoRAs as live peft adapters, LoRAs fused into the
weights. Then it times what the engine does when the artist moves a weight slider: ``set_adapters`` while unfused,
and unfuse + ``set_adapters`` (+ a later re-fuse) when fused; and the first load of a LoRA file.

    python tests/benchmarks/lora_fuse.py             # tiny SD1.x model on the CPU (64 px, 10 steps), 2 LoRAs
    python tests/benchmarks/lora_fuse.py --full      # SD1.5-shaped random weights, GPU, fp16, 512², 20 steps
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_overhead import write_sd15_shaped  # noqa: E402

from studio.engine import loading  # noqa: E402
from studio.engine.lazy import torch_modules  # noqa: E402
from studio.engine.lora_loader import ActiveLora, LoraState  # noqa: E402
from studio.engine.tiny_addons import write_lora_for  # noqa: E402
from studio.engine.tiny_models import build_tiny_sd15_components, write_tiny_sd15  # noqa: E402
from studio.models.lora_library import inspect_lora  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="SD1.5-shaped model on the GPU, fp16, 512²")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--loras", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    torch = torch_modules().torch
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.full:
            folder = write_sd15_shaped(tmp / "sd15")
            loaded = loading.load_model(str(folder), device="cuda", dtype=torch.float16)
            components = {"unet": loaded.pipe.unet, "text_encoder": loaded.pipe.text_encoder}
            size, steps, scale = 512, 20, 0.01
        else:
            folder = write_tiny_sd15(tmp / "sd15")
            loaded = loading.load_model(str(folder))
            components = build_tiny_sd15_components()
            size, steps, scale = 64, 10, 0.5
        pipe = loaded.pipe
        pipe.set_progress_bar_config(disable=True)
        pipe.tokenizer.model_max_length = 77  # the SD1.5-shaped writer saves its tokenizer without one
        entries = [
            inspect_lora(
                write_lora_for(tmp / f"lora{i}.safetensors", components, "sd15", seed=i, scale=scale)
            )
            for i in range(args.loras)
        ]
        cuda = loaded.device.startswith("cuda")
        sync = torch.cuda.synchronize if cuda else (lambda: None)

        def timed(run) -> float:
            sync()
            start = time.perf_counter()
            run()
            sync()
            return time.perf_counter() - start

        def denoise(steps: int = steps):
            return pipe(
                "a lighthouse on a cliff at dusk",
                negative_prompt="blurry",
                num_inference_steps=steps,
                width=size,
                height=size,
                output_type="latent",
                generator=torch.Generator("cpu").manual_seed(1),
            )

        def per_step(label: str) -> float:
            denoise()  # warm-up
            median = statistics.median(timed(denoise) for _ in range(args.runs)) / steps
            print(f"  {label:<28} {median * 1000:8.2f} ms/step")
            return median

        state = LoraState()
        print(
            f"{'SD1.5-shaped fp16' if args.full else 'tiny SD1.x fp32'} on {loaded.device}, {size}x{size}, "
            f"{steps} steps, {args.loras} LoRAs (rank 4, attention layers), median of {args.runs}"
        )
        base = per_step("no LoRA")
        loras = [ActiveLora(e, 0.8) for e in entries]
        first_load = timed(lambda: state.apply(pipe, loras, "sd15", fuse=False))
        unfused = per_step("LoRAs unfused (peft)")
        state.apply(pipe, loras, "sd15")  # the same set twice: fused
        assert state.fused
        fused = per_step("LoRAs fused")
        # One step: over many steps a random model amplifies float rounding into different pictures.
        fused_latents = denoise(1).images.float()
        state.unfuse(pipe)
        live_latents = denoise(1).images.float()
        drift = ((fused_latents - live_latents).abs().max() / live_latents.abs().max()).item()
        print(f"  fused vs unfused, one step: latents differ by at most {drift:.1e} of the largest value")
        state.apply(pipe, loras, "sd15")  # back to the fused set (different weights object: re-set)

        changes = []
        for i in range(args.runs):
            weights = [ActiveLora(e, 0.5 + 0.1 * i) for e in entries]
            changes.append(timed(lambda weights=weights: state.apply(pipe, weights, "sd15", fuse=False)))
        refuse = []
        for i in range(args.runs):
            weights = [ActiveLora(e, -0.5 - 0.1 * i) for e in entries]
            state.apply(pipe, weights, "sd15")
            refuse.append(timed(lambda weights=weights: state.apply(pipe, weights, "sd15")))  # fuses
            state.apply(pipe, [ActiveLora(e, 0.3) for e in entries], "sd15")  # unfuse + new weights
        unfuse_change = []
        for i in range(args.runs):
            weights = [ActiveLora(e, 0.2 + 0.05 * i) for e in entries]
            state.apply(pipe, weights, "sd15")
            state.apply(pipe, weights, "sd15")  # fused now
            new = [ActiveLora(e, 1.0 + 0.05 * i) for e in entries]
            unfuse_change.append(timed(lambda new=new: state.apply(pipe, new, "sd15")))
        state.clear(pipe)
        again = per_step("no LoRA (again, after clear)")
        base = min(base, again)  # the first timing also pays for GPU warm-up
        print(
            f"  unfused overhead {100 * (unfused / base - 1):+.1f}%, fused overhead {100 * (fused / base - 1):+.1f}%"
        )
        print(f"  first load of {args.loras} LoRA files     {first_load * 1000:8.1f} ms")
        print(f"  weight change, unfused          {statistics.median(changes) * 1000:8.2f} ms")
        print(f"  weight change, fused (unfuse)   {statistics.median(unfuse_change) * 1000:8.2f} ms")
        print(f"  fuse (second run, same weights) {statistics.median(refuse) * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
