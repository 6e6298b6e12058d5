"""Making the diffusers scheduler of an A1111 sampler name, and counting the step callbacks it will make. The
name table is ``studio.models.samplers``'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.engine.lazy import torch_modules
from studio.models.samplers import sampler_recipe


def make_scheduler(name: str, base_config: Mapping[str, Any]) -> Any:
    """A fresh diffusers scheduler for the A1111 sampler ``name``, keeping the model's ``base_config``.

    ``base_config`` is the model's own scheduler config (betas, prediction type, timestep spacing); only the
    sampler's overrides change. Raises ``RequestError`` for a name this installation cannot run.
    """
    recipe = sampler_recipe(name)
    cls = getattr(torch_modules().diffusers, recipe.scheduler)
    config = {key: value for key, value in dict(base_config).items() if not key.startswith("_")}
    return cls.from_config({**config, **recipe.overrides})


def callbacks_for(scheduler: Any, steps: int, strength: float | None = None) -> int:
    """How many step callbacks a pipeline run makes with ``scheduler``: the length of its timestep list.

    Order-2 samplers (Heun, DPM2) evaluate the model twice per step, so there are more timesteps than
    ``steps``. ``strength`` (img2img) skips the start of the list exactly as the diffusers img2img pipelines'
    ``get_timesteps`` does. ``scheduler`` is consumed: pass a copy, not the one the pipeline will run.
    """
    scheduler.set_timesteps(steps)
    count = len(scheduler.timesteps)
    if strength is None:
        return count
    init_timestep = min(int(steps * strength), steps)
    t_start = max(steps - init_timestep, 0)
    return max(count - t_start * scheduler.order, 0)
