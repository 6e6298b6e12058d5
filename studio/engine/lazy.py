"""The one place the engine imports torch, diffusers and transformers.

They take seconds to import, so nothing imports them at module level: the window must appear first. Engine code
calls ``torch_modules()`` inside its functions.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace


@functools.cache
def torch_modules() -> SimpleNamespace:
    import diffusers
    import torch
    import transformers

    # transformers and diffusers print progress bars and advice on stderr; the studio reports its own progress.
    diffusers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    return SimpleNamespace(torch=torch, diffusers=diffusers, transformers=transformers)


def torch_is_imported() -> bool:
    import sys

    return "torch" in sys.modules
