"""The generation engine: torch + diffusers behind a plain-Python API, never Qt.

Importing this package is cheap; torch is imported the first time a model loads. What the engine hands back
(``GenerationResult``, ``StepPreview``) lives in ``studio.results``; the catalogue of models in ``studio.models``.
"""

from studio.engine.engine import Engine

__all__ = ["Engine"]
