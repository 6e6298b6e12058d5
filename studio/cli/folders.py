"""Checks of the folders named on the command line, made before any work starts.

An output folder is checked by really creating (and removing) a file in it, or in the nearest folder that exists
when it is still to be created: permission bits do not tell the whole story (root ignores them; read-only mounts,
/proc and network shares refuse writes whatever they say). Nothing is created here, so a refused command leaves
no empty folder behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from studio.cli.parser import CliError


def _what_it_is(path: Path) -> str:
    return "a file" if path.is_file() else "not a folder"


def existing_folder(text: str, flag: str) -> Path:
    """``text`` as a folder that must already exist (a folder to read from), or ``CliError`` naming it."""
    path = Path(text).expanduser()
    if not text.strip() or not os.path.lexists(path):
        raise CliError(f"{flag} '{text}' does not exist. Check the path.")
    if not path.is_dir():
        raise CliError(f"{flag} '{text}' is {_what_it_is(path)}; give the folder that holds the files.")
    return path


def output_folder(text: str, flag: str) -> Path:
    """``text`` as a folder the command may write into (created later, when the first file is written).

    Raises ``CliError`` when it is empty, is a file, lies under a file, or cannot be written."""
    if not text.strip():
        raise CliError(
            f"{flag} is empty. Name the folder to write into (use {flag} . for the current folder)."
        )
    path = Path(text).expanduser()
    if os.path.lexists(path) and not path.is_dir():
        raise CliError(f"{flag} '{text}' is {_what_it_is(path)}; choose a folder (it is created if missing).")
    nearest = next(folder for folder in (path, *path.parents) if os.path.lexists(folder))
    if not nearest.is_dir():
        raise CliError(f"{flag} '{text}' cannot be created: '{nearest}' is {_what_it_is(nearest)}.")
    try:
        handle, probe = tempfile.mkstemp(prefix=".diffusion-studio-", suffix=".probe", dir=nearest)
    except OSError as exc:
        where = "" if nearest == path else f" (checked in '{nearest}', where it would be created)"
        raise CliError(
            f"{flag} '{text}' is not writable: {exc.strerror or exc}{where}. Choose another folder."
        ) from exc
    os.close(handle)
    os.unlink(probe)
    return path
