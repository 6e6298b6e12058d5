"""Writing files so a crash, a full disk or a power cut never leaves half a file behind.

The data goes to a temporary file in the destination folder (same file system, so the final rename is
atomic), is flushed to disk, and only then takes the final name. On any failure the temporary file is removed
and the ``OSError`` is raised for the caller to turn into a message (the caller knows what was being saved).

Files get the permissions any program's new file would (0644 under the usual umask): a temporary file is made
private (0600), but pictures, poses and models are meant to be shared, opened by other tools and other users.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

# Read once at import: os.umask can only be read by setting it, which is not safe once threads run.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def shared_mode() -> int:
    """The mode a new file gets from ``open()`` under this process's umask (0o644 for umask 022)."""
    return 0o666 & ~_UMASK


def make_shared(path: str | os.PathLike[str]) -> None:
    """Give a file written through a private temporary file (mkstemp, safetensors) the usual permissions."""
    if os.name != "nt":  # Windows has no mode bits beyond read-only
        os.chmod(path, shared_mode())


def make_tree_shared(folder: str | os.PathLike[str]) -> None:
    """``make_shared`` for every file below ``folder`` (a model folder written by safetensors or diffusers)."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            make_shared(os.path.join(root, name))


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, overwrite: bool = True, private: bool = False
) -> Path:
    """Write ``data`` to ``path`` atomically and return the path; ``private`` keeps it readable by its owner
    alone (0600, from the first byte: secrets such as access tokens).

    With ``overwrite=False`` an existing file is never replaced: ``FileExistsError`` is raised instead, even
    when another process creates the file at the same moment (the final step is a hard link where the file
    system has them).
    """
    target = Path(path)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if os.name != "nt":
                os.fchmod(handle.fileno(), 0o600 if private else shared_mode())
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temp, target)
        else:
            _place_without_overwrite(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_folder(target.parent)
    return target


def atomic_write_text(
    path: str | os.PathLike[str],
    text: str,
    *,
    encoding: str = "utf-8",
    overwrite: bool = True,
    private: bool = False,
) -> Path:
    """``atomic_write_bytes`` for text. Newlines are written as given (no platform translation)."""
    return atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite, private=private)


def _place_without_overwrite(temp: Path, target: Path) -> None:
    try:
        # A hard link fails when the name exists, so two writers can never clobber each other.
        os.link(temp, target)
    except FileExistsError:
        raise
    except (OSError, NotImplementedError):
        # Some file systems (FAT, some network shares) have no hard links: check, then rename.
        if target.exists():
            raise FileExistsError(f"'{target}' already exists") from None
        os.replace(temp, target)
        return
    with contextlib.suppress(OSError):
        temp.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable. Windows cannot open folders; there the rename is durable enough."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def keep_aside(path: Path) -> Path:
    """Move an unreadable ``NAME.json`` to ``NAME.json.bad`` so a fresh file can take its place and nothing the
    artist had is thrown away. Returns where the old file now is (``path`` itself when it cannot be moved)."""
    backup = path.with_suffix(path.suffix + ".bad")
    try:
        os.replace(path, backup)
    except OSError:
        return path
    return backup
