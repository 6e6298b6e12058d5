"""Choosing where and in what precision to run, and decoding latents safely in half precision."""

from __future__ import annotations

from typing import Any

from studio.engine.lazy import torch_modules
from studio.errors import RequestError

PRECISIONS = ("auto", "fp16", "bf16", "fp32")

UPCAST_NOTICE = (
    "The half-precision VAE produced a broken (black or NaN) image, so it was decoded again in full precision "
    "(fp32). This model's VAE will now always decode in fp32, which is slower and uses more memory."
)
# NaN pixels save as a black PNG that looks like a picture; both are errors instead, naming the likely causes.
BROKEN_LATENTS = (
    "The model produced NaN values instead of a picture (it would have been saved as a black image), so it "
    "was not saved. Likely causes: a model or LoRA file with broken weights, a CFG scale or LoRA weight far "
    "too high, or half precision overflowing on this device (try full precision, fp32)."
)
BROKEN_VAE = (
    "The VAE decoded the picture into NaN values even in full precision (fp32), so it was not saved. The "
    "model's VAE weights are probably broken: download the model again or choose another VAE/model."
)


def pick_device(requested: str | None = None) -> str:
    """``requested`` as given, else the best available: CUDA, then Apple MPS, then the CPU."""
    if requested:
        return requested
    torch = torch_modules().torch
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def auto_precision(kind: str, capability: tuple[int, int] | None = None) -> str:
    """What "auto" means on a device of ``kind`` ("cuda", "mps", "xpu", "cpu") with CUDA ``capability``.

    Half precision where the card computes it fast: fp16 on NVIDIA cards from Volta (7.0) on and on Apple GPUs,
    bf16 on Intel GPUs (their fast half type); fp32 on the CPU and on NVIDIA cards before Volta, where fp16 runs
    at a fraction of fp32's speed (Pascal) or not at all.
    """
    if kind == "cpu":
        return "fp32"
    if kind == "xpu":
        return "bf16"
    if kind == "cuda" and capability is not None and capability < (7, 0):
        return "fp32"
    return "fp16"


def pick_dtype(device: str, precision: str = "auto") -> Any:
    """The torch dtype for ``precision`` on ``device``; "auto" is ``auto_precision`` for that device."""
    torch = torch_modules().torch
    if precision not in PRECISIONS:
        raise RequestError(f"Unknown precision '{precision}'. Choose one of: {', '.join(PRECISIONS)}.")
    if precision == "auto":
        kind, _, index = device.partition(":")
        capability = None
        if kind == "cuda" and torch.cuda.is_available():
            capability = tuple(torch.cuda.get_device_capability(int(index) if index else None))
        precision = auto_precision(kind, capability)
    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]


def set_threads(torch_threads: int | None) -> None:
    """Cap torch's CPU threads so a generation leaves a core for the window; None leaves torch's default."""
    if torch_threads is not None:
        import os

        torch_modules().torch.set_num_threads(max(1, min(torch_threads, os.cpu_count() or torch_threads)))


def free_memory(device: str) -> None:
    """Return cached GPU memory after a model is dropped (the caller has already deleted its references)."""
    import gc

    gc.collect()
    torch = torch_modules().torch
    if device.startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()


def is_broken_decode(image: Any) -> bool:
    """True when a decoded image tensor (range -1..1) holds NaN/inf or is entirely black.

    An fp16 VAE overflowing shows up as NaN, which the image processor then turns into a black picture.
    """
    torch = torch_modules().torch
    if not bool(torch.isfinite(image).all()):
        return True
    return bool((image <= -0.999).all())


def unscale_latents(vae: Any, latents: Any) -> Any:
    """Undo the pipeline's latent scaling (and SDXL-style mean/std when the VAE config has them)."""
    config = vae.config
    mean = getattr(config, "latents_mean", None)
    std = getattr(config, "latents_std", None)
    if mean is not None and std is not None:
        torch = torch_modules().torch
        mean_t = torch.tensor(mean).view(1, -1, 1, 1).to(latents.device, latents.dtype)
        std_t = torch.tensor(std).view(1, -1, 1, 1).to(latents.device, latents.dtype)
        return latents * std_t / config.scaling_factor + mean_t
    return latents / config.scaling_factor


class SafeDecoder:
    """Decodes latents with a pipeline's VAE, re-decoding in fp32 when half precision breaks.

    Once a model's VAE has failed in half precision, later decodes go straight to fp32 (the VAE is cast up for
    the decode and back afterwards, so the pipeline's own VAE encode for img2img keeps its dtype).
    """

    def __init__(self, vae: Any) -> None:
        self.vae = vae
        self.needs_fp32 = False

    def decode(self, latents: Any, notices: list[str]) -> Any:
        """Latents (pipeline scale) → image tensor in -1..1.

        Raises ``RequestError`` when the latents already hold NaN/inf (no decode can mend them, and the VAE
        is not to blame, so it is not switched to fp32) or when even the fp32 decode does.
        """
        torch = torch_modules().torch
        vae = self.vae
        if not bool(torch.isfinite(latents).all()):
            raise RequestError(BROKEN_LATENTS)
        if not self.needs_fp32 or vae.dtype == torch.float32:
            with torch.no_grad():
                image = vae.decode(unscale_latents(vae, latents.to(vae.dtype)), return_dict=False)[0]
            if vae.dtype == torch.float32:
                return _finite(image)
            if not is_broken_decode(image):
                return image
            self.needs_fp32 = True
            notices.append(UPCAST_NOTICE)
        original = vae.dtype
        vae.to(torch.float32)
        try:
            with torch.no_grad():
                image = vae.decode(unscale_latents(vae, latents.float()), return_dict=False)[0]
        finally:
            vae.to(original)
        return _finite(image)


def _finite(image: Any) -> Any:
    """``image`` itself; an fp32 decode that still holds NaN/inf is an error, never a black picture."""
    if not bool(torch_modules().torch.isfinite(image).all()):
        raise RequestError(BROKEN_VAE)
    return image
