"""VRAM tiers: how much of the pipeline lives on the GPU, chosen from the card's free memory and the model.

The studio writes no memory manager of its own; each tier is one of diffusers' placements:

* ``high``: everything on the device (``pipe.to(device)``), the fastest.
* ``medium``: model offload (``enable_model_cpu_offload``): one component (text encoders, UNet, VAE) on the GPU
  at a time, moved on demand. Costs a few percent per image; peak memory is the largest component.
* ``low``: group offload (``enable_group_offload``, leaf level with a CUDA stream that copies the next layer
  while the current one computes). For 4–6 GB cards; several times slower.

None of them changes the picture beyond floating-point noise (the same weights, dtype and kernels compute it),
so the tier is logged and shown in the status line but not written into the picture's metadata. The optional
fp8 weight storage (``enable_layerwise_casting``) *does* change the picture slightly: the artist turns it on.

``choose_tier`` is a pure function of the memory figures, so the table test covers every decision.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from studio.engine.lazy import torch_modules
from studio.models.model_family import base_family
from studio.settings import VRAM_CHOICES

log = logging.getLogger("studio.engine.memory")

TIER_STAGE_PREFIX = "VRAM tier: "  # the stage that names the tier; the window's status line shows it
TIERS = ("high", "medium", "low")  # best first: an out-of-memory run drops to the next one
GB = 1_000_000_000

TIER_NAMES = {
    "auto": "Auto",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
}
TIER_DESCRIPTIONS = {
    "auto": "chosen from the graphics card's free memory and the model",
    "high": "everything on the GPU: fastest",
    "medium": "parts of the model moved to the GPU when needed: a little slower, much less memory",
    "low": "layers streamed to the GPU one group at a time: slowest, for 4–6 GB cards",
}

# fp16 bytes of each component (parameter counts × 2): what must sit on the GPU at once.
_WEIGHTS = {
    "sd15": {"unet": 1.72 * GB, "text": 0.25 * GB, "vae": 0.17 * GB, "controlnet": 0.72 * GB},
    "sdxl": {"unet": 5.14 * GB, "text": 1.64 * GB, "vae": 0.17 * GB, "controlnet": 2.50 * GB},
}
# Working memory of one denoising step (CFG batch of 2, SDPA attention) at the family's native size, and of
# an untiled VAE decode of one 1024² image; both grow with the pixel count.
_STEP_WORK = {"sd15": (0.6 * GB, 512 * 512), "sdxl": (1.6 * GB, 1024 * 1024)}
_DECODE_PER_PIXEL = 3.2 * GB / (1024 * 1024)
MARGIN = 0.6 * GB  # the CUDA context, allocator fragmentation, the preview decoder
FP8_SAVING = 0.5  # layerwise casting stores the UNet (and ControlNets) in half the bytes


@dataclass(frozen=True)
class MemoryPlan:
    """How one request runs: the tier, VAE tiling/slicing, fp8 storage, and why (for the log and status line)."""

    tier: str
    vae_tiling: bool = False
    vae_slicing: bool = False
    fp8_weights: bool = False
    reason: str = field(default="", compare=False)  # kept from the first choice; not a change of plan

    def describe(self) -> str:
        """ "High (everything on the GPU: fastest)" and the extras, for the status line and the log."""
        extras = [
            name
            for name, on in (
                ("VAE tiling", self.vae_tiling),
                ("VAE slicing", self.vae_slicing),
                ("fp8 weights", self.fp8_weights),
            )
            if on
        ]
        text = f"{TIER_NAMES[self.tier]} ({TIER_DESCRIPTIONS[self.tier]})"
        return text + (f" + {', '.join(extras)}" if extras else "")


def needed_bytes(
    family: str, width: int, height: int, batch: int = 1, controlnets: int = 0, fp8: bool = False
) -> dict[str, float]:
    """The GPU memory each tier needs for one request, by the table above ({"high": …, "medium": …, "low": …}),
    and the bytes of all the weights ("weights")."""
    weights = _WEIGHTS[base_family(family)]
    work_ref, pixels_ref = _STEP_WORK[base_family(family)]
    pixels = width * height
    step_work = work_ref * pixels / pixels_ref * batch
    denoiser = (weights["unet"] + controlnets * weights["controlnet"]) * (FP8_SAVING if fp8 else 1.0)
    everything = denoiser + weights["text"] + weights["vae"]
    return {
        "weights": everything,
        "high": everything + step_work + MARGIN,
        "medium": denoiser + step_work + MARGIN,  # model offload: the UNet and its ControlNets at once
        "low": step_work + 0.5 * GB + MARGIN,  # a few layers in flight besides the activations
    }


def choose_tier(
    free_bytes: int | None,
    family: str,
    width: int,
    height: int,
    batch: int = 1,
    controlnets: int = 0,
    fp8: bool = False,
    setting: str = "auto",
) -> MemoryPlan:
    """The tier for a request. ``free_bytes`` None means no separate GPU memory (the CPU, Apple's unified memory):
    everything stays where it is. A tier named in ``setting`` is used as given; "auto" takes the best that fits."""
    if setting not in VRAM_CHOICES:
        raise ValueError(f"unknown VRAM setting {setting!r}")
    decode = _DECODE_PER_PIXEL * width * height
    if free_bytes is None:
        return MemoryPlan("high", fp8_weights=fp8, reason="no separate GPU memory")
    needs = needed_bytes(family, width, height, batch, controlnets, fp8)
    if setting != "auto":
        tier, reason = setting, "chosen in the settings"
    else:
        fitting = [t for t in TIERS if needs[t] <= free_bytes]
        tier = fitting[0] if fitting else "low"
        reason = f"{free_bytes / GB:.1f} GB free, {needs[tier] / GB:.1f} GB needed"
    # The decode runs after the denoising: its activations are freed, and in the high tier the weights stay
    # resident beside the VAE (offloaded tiers hold little more than the VAE then).
    room = free_bytes - (needs["weights"] if tier == "high" else 0.3 * GB) - MARGIN
    tiling = decode > room  # not even one image decodes whole
    slicing = batch > 1 and (tier != "high" or decode * batch > room)
    return MemoryPlan(tier, vae_tiling=tiling, vae_slicing=slicing, fp8_weights=fp8, reason=reason)


def lower_tier(tier: str) -> str | None:
    """The next tier down, or None from the lowest."""
    index = TIERS.index(tier)
    return TIERS[index + 1] if index + 1 < len(TIERS) else None


def free_device_memory(device: str) -> int | None:
    """Free bytes on a CUDA device (what other programs leave), None where the GPU shares the CPU's memory."""
    torch = torch_modules().torch
    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info(torch.device(device))
    return int(free)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a GPU out-of-memory error (CUDA's own type, or MPS/accelerate RuntimeErrors saying so)."""
    torch = torch_modules().torch
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


class TierPlacer:
    """Puts a loaded pipeline's components where a tier says; hooks are set up only when the tier changes.

    The tier is chosen once per loaded model, from the memory free before its weights went on the device, and
    changes afterwards only by an out-of-memory drop. VAE tiling and slicing are decided per request (the size
    and batch change), which costs nothing. Offloads need an accelerator for their copies to mean anything, but
    the hooks install on any device, which is what the CPU tests exercise.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.tier: str | None = None
        self.fp8 = False
        self.free_bytes: int | None = None  # free device memory before the model was placed
        self.plan: MemoryPlan | None = None

    def prepare(
        self,
        pipe: Any,
        family: str,
        request: Any,
        config: Any,
        controlnets: list[Any],
        notices: list[str],
        on_stage: Callable[[str], None],
    ) -> MemoryPlan:
        """Place ``pipe`` for ``request`` (a ``GenerationRequest``) as ``config`` (an ``EngineConfig``) says."""
        if self.tier is None:
            self.free_bytes = free_device_memory(self.device)
        setting = self.tier or config.vram
        plan = self._plan(family, request, controlnets, setting, config.fp8_weights)
        try:
            self.place(pipe, plan, tuple(controlnets), on_stage)
        except RuntimeError as exc:
            if not is_out_of_memory(exc) or lower_tier(plan.tier) is None:
                raise
            # The weights did not fit on the device: the same drop as an out-of-memory run.
            self.drop(pipe, family, request, controlnets, notices, on_stage, failed=plan.tier)
        assert self.plan is not None
        return self.plan

    def drop(
        self,
        pipe: Any,
        family: str,
        request: Any,
        controlnets: list[Any],
        notices: list[str],
        on_stage: Callable[[str], None],
        failed: str | None = None,
    ) -> bool:
        """One tier down after an out-of-memory error, said in ``notices``. False from the lowest tier."""
        failed = failed or self.tier or "high"
        lower = lower_tier(failed)
        if lower is None:
            return False
        fp8 = self.plan.fp8_weights if self.plan is not None else False
        plan = self._plan(family, request, controlnets, lower, fp8)
        log.warning("out of memory in the %s tier: dropping to %s", failed, lower)
        self.place(pipe, plan, tuple(controlnets), on_stage)
        notices.append(
            f"The graphics card ran out of memory in the {TIER_NAMES[failed]} VRAM tier, so the studio moved "
            f"to the {TIER_NAMES[lower]} tier ({TIER_DESCRIPTIONS[lower]}) and ran it again. The picture is the "
            f"same; to start there next time, choose {TIER_NAMES[lower]} in the VRAM setting."
        )
        return True

    def _plan(self, family: str, request: Any, controlnets: list[Any], setting: str, fp8: bool) -> MemoryPlan:
        plan = choose_tier(
            self.free_bytes,
            family,
            request.width,
            request.height,
            request.batch_size,
            len(controlnets),
            fp8,
            setting,
        )
        if self.free_bytes is None and setting != "auto":  # the CPU/MPS: a named tier is still honoured
            plan = MemoryPlan(setting, fp8_weights=fp8, reason="chosen in the settings")
        return plan

    def place(
        self,
        pipe: Any,
        plan: MemoryPlan,
        extra_modules: tuple[Any, ...] = (),
        on_stage: Callable[[str], None] | None = None,
    ) -> None:
        if plan.fp8_weights and not self.fp8:
            self._fp8(pipe, extra_modules)
        if plan.tier != self.tier:
            self._move(pipe, plan.tier)
            self.tier = plan.tier
        if plan != self.plan:
            text = plan.describe()
            log.info("VRAM tier %s on %s (%s)", text, self.device, plan.reason)
            if on_stage is not None:
                on_stage(TIER_STAGE_PREFIX + text)
        self.plan = plan
        vae = pipe.vae
        vae.enable_tiling() if plan.vae_tiling else vae.disable_tiling()
        vae.enable_slicing() if plan.vae_slicing else vae.disable_slicing()

    def _move(self, pipe: Any, tier: str) -> None:
        torch = torch_modules().torch
        if self.tier is not None:  # leaving a tier: take its hooks off and gather the weights on the CPU
            _remove_offload(pipe)
        if tier == "high":
            pipe.to(self.device)
        elif tier == "medium":
            pipe.enable_model_cpu_offload(device=self.device)
        else:
            pipe.to("cpu")
            # Leaf level with a CUDA stream overlaps each copy with the previous layer's compute (diffusers'
            # advice). Group offload rather than sequential offload: faster, and accelerate's sequential hooks
            # fail on this torch's CLIP parameters.
            pipe.enable_group_offload(
                onload_device=torch.device(self.device),
                offload_type="leaf_level",
                use_stream=self.device.startswith("cuda"),
            )

    def _fp8(self, pipe: Any, extra_modules: tuple[Any, ...]) -> None:
        """UNet (and ControlNet) weights stored in fp8, computed in the pipeline's dtype, layer by layer."""
        torch = torch_modules().torch
        compute = pipe.unet.dtype
        for module in (pipe.unet, *extra_modules):
            # Norms and embeddings lose too much in fp8 (diffusers' default skip list keeps them).
            module.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=compute)
        self.fp8 = True


def _remove_offload(pipe: Any) -> None:
    """Undo model offload (accelerate hooks) before a lower tier sets up its own."""
    pipe.remove_all_hooks()  # the lowest tier is never left (a drop only goes down), so no group offload here
    pipe.to("cpu")
