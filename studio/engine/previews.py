"""Cheap pictures of the latents while denoising runs.

The default is a linear latent → RGB map (the factors A1111 and ComfyUI use for their "cheap" previews): a
4×3 matrix product per pixel at latent size (1/8 of the image), far below 1 % of a step. With a local TAESD
folder (``AutoencoderTiny``) the previews are real decoded pictures at full size instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from studio.engine.lazy import torch_modules
from studio.errors import ModelError
from studio.results import StepPreview

# Rows: latent channels; columns: R, G, B. From ComfyUI's latent_formats (SD15, SDXL).
LATENT_RGB_FACTORS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "sd15": (
        (0.3512, 0.2297, 0.3227),
        (0.3250, 0.4974, 0.2350),
        (-0.2829, 0.1762, 0.2721),
        (-0.2120, -0.2616, -0.7177),
    ),
    "sdxl": (
        (0.3651, 0.4232, 0.4341),
        (-0.2533, -0.0042, 0.1068),
        (0.1076, 0.1111, -0.0362),
        (-0.3165, -0.2492, -0.2188),
    ),
}
LATENT_RGB_BIAS: dict[str, tuple[float, float, float]] = {
    "sd15": (0.0, 0.0, 0.0),
    "sdxl": (0.1084, -0.0175, -0.0011),
}


class LatentPreviewer:
    """Turns the first latent of a batch into a small HxWx3 uint8 array.

    The linear map runs in numpy on the CPU: copying one latent (4×h×w floats) off the GPU costs microseconds,
    and a (3×4)·(4×hw) product there is cheaper than the dispatch of the same few torch operations.
    """

    def __init__(self, family: str, taesd: Any = None) -> None:
        self.family = family
        self.taesd = taesd
        self._factors_t = np.asarray(LATENT_RGB_FACTORS[family], dtype=np.float32).T.copy()  # (3, 4)
        self._offset = np.asarray(LATENT_RGB_BIAS[family], dtype=np.float32) + 1.0  # bias, then -1..1 → 0..2

    def __call__(self, latents: Any) -> np.ndarray:
        """``latents``: (batch, 4, h, w) in pipeline scale → numpy uint8 (h, w, 3) of ``latents[0]``."""
        torch = torch_modules().torch
        with torch.no_grad():
            if self.taesd is not None:
                image = self.taesd.decode(latents[:1].to(self.taesd.dtype), return_dict=False)[0][0]
                rgb = image.permute(1, 2, 0).float().cpu().numpy() + 1.0
                rgb *= 127.5
                return _to_uint8(rgb)
            return self.from_latent(latents[0].float().cpu().numpy())

    def from_latent(self, latent: np.ndarray) -> np.ndarray:
        """One latent (4, h, w) already on the CPU → uint8 (h, w, 3)."""
        channels, height, width = latent.shape
        with np.errstate(invalid="ignore", over="ignore"):  # NaN latents: see _to_uint8
            rgb = (self._factors_t @ latent.reshape(channels, -1)).T.reshape(height, width, 3)
            rgb += self._offset
            rgb *= 127.5
        return _to_uint8(rgb)

    def asynchronous(self, latents: Any) -> bool:
        """True when previews of ``latents`` should be copied off the GPU without waiting for it."""
        return self.taesd is None and getattr(latents, "is_cuda", False)


def load_taesd(path: str, device: Any, dtype: Any) -> Any:
    """A local ``AutoencoderTiny`` folder for full-size previews. Raises ``ModelError`` when unreadable."""
    diffusers = torch_modules().diffusers
    try:
        taesd = diffusers.AutoencoderTiny.from_pretrained(path, torch_dtype=dtype, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"The TAESD preview decoder at '{path}' could not be loaded ({exc.__class__.__name__}). "
            "Point the setting at a folder holding an AutoencoderTiny (config.json and weights), or clear it."
        ) from exc
    return taesd.to(device).eval()


class StepReporter:
    """The ``callback_on_step_end`` of one batch call: counts steps, sends previews, stops on cancel.

    One reporter spans both passes of a hires-fix run (set ``pass_name`` between them) so ``step`` runs from 1
    to ``total`` across the whole call. On cancel it sets the pipeline's interrupt flag, which makes the
    pipeline skip the UNet for every remaining timestep; the engine then skips the VAE decode itself.
    """

    def __init__(
        self,
        total: int,
        image_index: int,
        on_step: Callable[[StepPreview], None] | None,
        previewer: LatentPreviewer | None,
        cancel: threading.Event,
    ) -> None:
        self.total = total
        self.image_index = image_index
        self.on_step = on_step
        self.previewer = previewer
        self.cancel = cancel
        self.step = 0
        self.pass_name = "base"
        self.cancelled = False
        # GPU previews in flight: (step, pass name, CPU copy, CUDA event). Reading a latent on the host would
        # stall the GPU queue every step (about 5 % of a 512² SD1.5 run on an H200), so the copy is queued
        # without waiting and the preview is sent once the copy has landed, a step or two later.
        self._in_flight: list[tuple[int, str, Any, Any]] = []

    def __call__(self, pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if self.cancelled:
            return {}
        self.step += 1
        if self.cancel.is_set():
            self.cancelled = True
            pipe._interrupt = True  # diffusers has no public setter; the loop checks this flag each timestep
            return {}
        if self.on_step is not None and self.previewer is not None:
            latents = tensors["latents"]
            if self.previewer.asynchronous(latents):
                self._queue_copy(latents)
                self._send_landed(wait=False)
            else:
                self._send(self.step, self.pass_name, self.previewer(latents))
        return {}

    def flush(self) -> None:
        """Send the GPU previews still in flight; the engine calls this after each pipeline call."""
        self._send_landed(wait=True)

    def _send(self, step: int, pass_name: str, image: np.ndarray) -> None:
        assert self.on_step is not None  # previews are made only for a listener
        self.on_step(StepPreview(step, self.total, image, pass_name, self.image_index))

    def _queue_copy(self, latents: Any) -> None:
        torch = torch_modules().torch
        # non_blocking to the CPU lands in pinned memory, so the copy overlaps the next step's work.
        copy = latents[0].detach().to("cpu", dtype=torch.float32, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._in_flight.append((self.step, self.pass_name, copy, event))
        if len(self._in_flight) > 3:  # a stale preview is worth less than a fresh one: drop the oldest
            self._in_flight.pop(0)

    def _send_landed(self, *, wait: bool) -> None:
        if self.previewer is None:  # nothing is queued without a previewer
            return
        while self._in_flight:
            step, pass_name, copy, event = self._in_flight[0]
            if wait:
                event.synchronize()
            elif not event.query():
                return
            self._in_flight.pop(0)
            self._send(step, pass_name, self.previewer.from_latent(copy.numpy()))


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    # NaN latents (broken weights, fp16 overflow) are reported by the decoder as a clear error; the preview of
    # such a step shows black instead of numpy's cast warning on the terminal.
    return np.nan_to_num(rgb, nan=0.0, posinf=255.0, neginf=0.0).clip(0, 255).astype(np.uint8)
