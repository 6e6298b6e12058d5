"""What several engine tests share: the scheduler config of SD 1.5 and a small request on the tiny model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.request import GenerationRequest

SD_CONFIG = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "steps_offset": 1,
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
}


def tiny_request(tiny_models: Path, **changes) -> GenerationRequest:
    """A 64 px, 2-step Euler request on the tiny SD 1.5 model, with ``changes``."""
    base = GenerationRequest(
        model=str(tiny_models / "sd15"),
        prompt="a red fox",
        seed=42,
        steps=2,
        sampler="Euler",
        width=64,
        height=64,
    )
    return base.with_changes(**changes)


def pixels(result) -> np.ndarray:
    """The first image's pixels, signed so that differences do not wrap."""
    return np.asarray(result.images[0], dtype=np.int16)
