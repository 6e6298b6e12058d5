"""Put the torch runtime folder (CPU or CUDA, chosen at install time) on sys.path, before any studio import.

Looked for in ``DIFFUSION_STUDIO_RUNTIME`` and then in ``runtime/`` beside the executable. torch finds its
NVIDIA libraries through sys.path (their wheels' layout is kept), so nothing else is needed. On macOS torch is
inside the bundle and MPS falls back to the CPU for the few operations it lacks.
"""

import os
import sys


def _add_runtime() -> None:
    # _MEIPASS is the bundle's _internal folder, whatever symlink (/usr/bin/diffusion-studio) started it.
    app_dir = os.path.dirname(sys._MEIPASS)
    candidates = [os.environ.get("DIFFUSION_STUDIO_RUNTIME", ""), os.path.join(app_dir, "runtime")]
    for folder in candidates:
        if folder and os.path.isdir(os.path.join(folder, "torch")):
            sys.path.append(folder)  # after the bundle: the base's copies of shared dependencies win
            os.environ["DIFFUSION_STUDIO_RUNTIME"] = folder  # the app can tell the artist which runtime runs
            return


if sys.platform == "darwin":
    os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
else:
    _add_runtime()
