"""What a live run draws, without Qt: the artist's request made into a quick, fixed-seed live request, and the
sketch it starts from written where the engine can read it.

A live run uses the artist's prompt, model, LoRAs, sampler, CFG and active ControlNets, with live mode's own
step count and a fixed seed (so the picture changes with the drawing, not with the noise), one image, no
upscale pass. From the Sketch tab it is img2img from the sketch at live mode's strength; from the Pose tab it
follows the active controls alone. Each sketch is written once, named by its content, into the session's
``live`` folder: the next frame may rewrite the session's ``sketch.png`` while the engine still reads this one.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.atomic import atomic_write_bytes
from studio.request import RANDOM_SEED, GenerationRequest
from studio.state.canvas_store import encode_png
from studio.state.input_snapshot import snapshot_inputs

LIVE_FOLDER = "live"
SKETCH, POSE = "sketch", "pose"
REFINE_STRENGTH = 0.5  # Refine keeps the live picture's composition and redraws its detail


@dataclass(frozen=True)
class LiveSettings:
    steps: int = 4
    strength: float = 0.6  # how far img2img from the sketch may move away from it
    source: str = SKETCH  # SKETCH: img2img from the sketch (and the controls); POSE: the controls alone


def live_request(base: GenerationRequest, settings: LiveSettings, seed: int) -> GenerationRequest:
    """``base`` as one quick live image: live steps, the fixed ``seed``, no batch, no upscale, no inpainting.
    The sketch file is filled in by ``write_live_inputs``."""
    return base.with_changes(
        seed=seed,
        steps=settings.steps,
        batch_size=1,
        batch_count=1,
        hires=None,
        mask=None,
        init_image=None,
        strength=settings.strength,
    )


def write_live_inputs(
    request: GenerationRequest,
    sketch: np.ndarray | None,
    session_dir: Path,
    keep: Iterable[str] = (),
) -> GenerationRequest:
    """``request`` reading a frozen copy of ``sketch`` (RGBA pixels; None: no sketch) as its init image and as
    every switched-on "canvas" control, and frozen copies of its other session files (the pose). Files in the
    live folder that neither this request nor ``keep`` names are removed first, so the folder holds a few
    frames, not a painting session's worth. Raises ``OSError`` when a file cannot be written."""
    folder = Path(session_dir) / LIVE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    changes: dict = {}
    if sketch is not None:
        data = encode_png(_flatten(sketch))
        path = folder / f"{hashlib.sha256(data).hexdigest()[:12]}.png"
        if not path.is_file():
            atomic_write_bytes(path, data)
        changes["init_image"] = str(path)
        changes["controls"] = tuple(
            dataclasses.replace(control, image=str(path)) if control.source == "canvas" else control
            for control in request.controls
        )
    request = request.with_changes(**changes) if changes else request
    request = snapshot_inputs(request, Path(session_dir), folder=LIVE_FOLDER)
    _prune(folder, {*live_files(request), *keep})
    return request


def live_files(request: GenerationRequest) -> set[str]:
    """The files a live request reads (to keep them while its picture is on show)."""
    files = {control.image for control in request.controls if control.image}
    if request.init_image:
        files.add(request.init_image)
    return files


def fixed_seed(request: GenerationRequest, fallback: int) -> int:
    """The artist's seed when fixed, else ``fallback`` (live mode's own, kept while it is on)."""
    return request.seed if request.seed != RANDOM_SEED else fallback


def _flatten(rgba: np.ndarray) -> np.ndarray:
    """The sketch layer on white paper, as the engine's img2img wants an opaque picture."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        return rgba
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    rgb = rgba[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return rgb.round().astype(np.uint8)


def _prune(folder: Path, keep: set[str]) -> None:
    wanted = {Path(name).name for name in keep}
    for path in folder.iterdir():
        if path.name not in wanted:
            path.unlink(missing_ok=True)
