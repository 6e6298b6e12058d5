"""Freezing the artist's inputs when a job is queued: the sketch, mask and pose files it reads are copied.

The session files (``session/sketch.png``, ``mask.png``, ``pose.json``...) change on every stroke. A queued job
that kept pointing at them would draw what the artist did *after* pressing Generate, and the PNG metadata (which
embeds the pose) would describe that too. So the request is queued with copies named by their content,
``session/inputs/<sha256-12>.<ext>``: the same drawing queued twice is one file, and a copy is never rewritten.

Old copies that nothing refers to any more are left in place: they are small, and a restored queue, the session
or a gallery image's settings may still name them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from studio.atomic import atomic_write_bytes
from studio.request import ControlInput, GenerationRequest

INPUTS_FOLDER = "inputs"
DIGEST_LENGTH = 12
LIVE_SOURCES = ("canvas", "pose")  # control sources that are session files the studio keeps rewriting


def snapshot_inputs(
    request: GenerationRequest, session_dir: Path, folder: str = INPUTS_FOLDER
) -> GenerationRequest:
    """``request`` with every live input file it names replaced by a frozen copy in ``session_dir/inputs``.

    Copied: the image of a switched-on "canvas" or "pose" control, the inpainting mask, and any control image or
    init image that lives in ``session_dir``. Other files (a photo the artist chose) are not the studio's to
    change and stay as they are; a file that does not exist is left for the engine to report. Raises
    ``OSError`` when a file cannot be read or its copy written. ``folder`` is where the copies go (live mode
    keeps its short-lived frames in a folder of its own).
    """
    session_dir = Path(session_dir)
    copier = _Copier(session_dir, folder)
    controls = tuple(
        dataclasses.replace(control, image=copier.keep(control.image))
        if _is_live_control(control, session_dir)
        else control
        for control in request.controls
    )
    changes: dict = {}
    if controls != request.controls:
        changes["controls"] = controls
    if request.mask:
        changes["mask"] = copier.keep(request.mask)
    if request.init_image and _inside(Path(request.init_image), session_dir):
        changes["init_image"] = copier.keep(request.init_image)
    return request.with_changes(**changes) if changes else request


def _is_live_control(control: ControlInput, session_dir: Path) -> bool:
    if not control.enabled or not control.image:
        return False
    return control.source in LIVE_SOURCES or _inside(Path(control.image), session_dir)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


class _Copier:
    def __init__(self, session_dir: Path, folder: str = INPUTS_FOLDER) -> None:
        self.folder = session_dir / folder

    def keep(self, name: str) -> str:
        """The frozen copy's path for the file ``name`` (``name`` itself when it is missing or already frozen)."""
        path = Path(name)
        if not path.is_file() or _inside(path, self.folder):
            return name
        data = path.read_bytes()
        target = self.folder / f"{hashlib.sha256(data).hexdigest()[:DIGEST_LENGTH]}{path.suffix.lower()}"
        if not target.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                atomic_write_bytes(target, data, overwrite=False)
            except FileExistsError:
                pass  # another copy of the same content got there first: it is the same bytes
        return str(target)
