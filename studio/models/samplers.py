"""A1111 sampler names and the diffusers schedulers that match them (names only: no torch, no diffusers).

The mapping follows the table in the diffusers scheduler docs ("A1111/k-diffusion → diffusers"). A name is
"<sampler>[ <schedule type>]": "DPM++ 2M Karras" is the DPM++ 2M sampler on the Karras schedule. The metadata
records the two halves separately, as recent A1111 versions do ("Sampler: DPM++ 2M, Schedule type: Karras").
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any, NamedTuple

from studio.errors import RequestError

_KARRAS = {"use_karras_sigmas": True}
# A1111's and ComfyUI's "SGM Uniform" schedule is diffusers' trailing spacing: the last timestep is the first
# one sampled, which the distilled few-step models (Lightning, Hyper-SD, Turbo) were trained on.
_TRAILING = {"timestep_spacing": "trailing"}


class _Recipe(NamedTuple):
    scheduler: str  # a class name in diffusers
    overrides: Mapping[str, Any]
    needs: str | None = None  # a package the scheduler imports when it runs


_SDE_2M = {"algorithm_type": "sde-dpmsolver++"}
_SDE_3M = {"algorithm_type": "sde-dpmsolver++", "solver_order": 3}

_RECIPES: dict[str, _Recipe] = {
    "DPM++ 2M": _Recipe("DPMSolverMultistepScheduler", {}),
    "DPM++ 2M Karras": _Recipe("DPMSolverMultistepScheduler", _KARRAS),
    "DPM++ 2M SDE": _Recipe("DPMSolverMultistepScheduler", _SDE_2M),
    "DPM++ 2M SDE Karras": _Recipe("DPMSolverMultistepScheduler", {**_SDE_2M, **_KARRAS}),
    "DPM++ 3M SDE": _Recipe("DPMSolverMultistepScheduler", _SDE_3M),
    "DPM++ 3M SDE Karras": _Recipe("DPMSolverMultistepScheduler", {**_SDE_3M, **_KARRAS}),
    "DPM++ SDE": _Recipe("DPMSolverSDEScheduler", {}, needs="torchsde"),
    "DPM++ SDE Karras": _Recipe("DPMSolverSDEScheduler", _KARRAS, needs="torchsde"),
    "DPM2": _Recipe("KDPM2DiscreteScheduler", {}),
    "DPM2 Karras": _Recipe("KDPM2DiscreteScheduler", _KARRAS),
    "DPM2 a": _Recipe("KDPM2AncestralDiscreteScheduler", {}),
    "DPM2 a Karras": _Recipe("KDPM2AncestralDiscreteScheduler", _KARRAS),
    "Euler": _Recipe("EulerDiscreteScheduler", {}),
    "Euler a": _Recipe("EulerAncestralDiscreteScheduler", {}),
    "Euler SGM Uniform": _Recipe("EulerDiscreteScheduler", _TRAILING),
    "Euler a SGM Uniform": _Recipe("EulerAncestralDiscreteScheduler", _TRAILING),
    "Heun": _Recipe("HeunDiscreteScheduler", {}),
    "LMS": _Recipe("LMSDiscreteScheduler", {}, needs="scipy"),
    "LMS Karras": _Recipe("LMSDiscreteScheduler", _KARRAS, needs="scipy"),
    "DDIM": _Recipe("DDIMScheduler", {}),
    "PLMS": _Recipe("PNDMScheduler", {"skip_prk_steps": True}),
    "UniPC": _Recipe("UniPCMultistepScheduler", {}),
    # The few-step samplers (1-8 steps, CFG 1-2) for LCM and TCD models and LoRAs: they keep their own spacing.
    "LCM": _Recipe("LCMScheduler", {}),
    "TCD": _Recipe("TCDScheduler", {}),
}

FEW_STEP_SAMPLERS = ("LCM", "TCD", "Euler SGM Uniform", "Euler a SGM Uniform")
"""The samplers that make a picture in a handful of steps with a few-step model (``studio.models.few_step``)."""


def _installed(package: str | None) -> bool:
    # find_spec looks on disk without importing, so the GUI can build its list before torch is loaded.
    return package is None or importlib.util.find_spec(package) is not None


SAMPLER_NAMES: tuple[str, ...] = tuple(name for name, recipe in _RECIPES.items() if _installed(recipe.needs))
"""The samplers this installation can run, in the order the GUI lists them."""


def sampler_recipe(name: str) -> _Recipe:
    """The diffusers scheduler and settings behind the A1111 sampler ``name``. Raises ``RequestError`` for a name
    this installation cannot run."""
    recipe = _RECIPES.get(name)
    if recipe is None:
        raise RequestError(f"Unknown sampler '{name}'. Choose one of: {', '.join(SAMPLER_NAMES)}.")
    if not _installed(recipe.needs):
        raise RequestError(
            f"The sampler '{name}' needs the Python package '{recipe.needs}', which is not installed. "
            f"Install it (pip install {recipe.needs}) or choose another sampler."
        )
    return recipe
