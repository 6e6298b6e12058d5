"""The generation engine: torch + diffusers behind a plain-Python API, never Qt.

Importing this package is cheap; torch is imported the first time a model loads.
"""

from studio.engine.engine import Engine, generate
from studio.engine.events import GenerationResult, ModelInfo, StepPreview
from studio.engine.samplers import SAMPLER_NAMES, make_scheduler
from studio.engine.validation import validate

__all__ = [
    "SAMPLER_NAMES",
    "Engine",
    "GenerationResult",
    "ModelInfo",
    "StepPreview",
    "generate",
    "make_scheduler",
    "validate",
]
