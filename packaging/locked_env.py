"""The lock of known-good versions (``requirements-lock.txt``): where it is, how it is made, what it pins.

``pyproject.toml`` keeps honest ranges for people who install the studio into an environment of their own; the
lock pins the exact versions the tests passed with, for every platform and Python the studio supports (a
universal resolution: lines carry environment markers). It is used as pip *constraints* (``pip install -c``) by
``dev.py`` (the README's two commands), ``.ci/run`` through it, and ``packaging/build.py`` (which refuses to
freeze an environment that drifted from it).

Refresh it with ``python3 dev.py lock`` (uv resolves against the package index; torch is held at the version in
``packaging/lock_pins.txt``, the one the studio is tested with), then run the tests.

Only the standard library at import: ``dev.py`` loads this module before any virtual environment exists.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements-lock.txt"
PINS = ROOT / "packaging" / "lock_pins.txt"
EXTRAS = ("dev", "packaging")
# The real ComfyUI the ComfyUI backend's tests start (a test fixture in shared/, never shipped) and its own
# dependencies, locked apart from the studio's (compiled against the main lock, so the shared ones agree).
COMFYUI_ENV = "DIFFUSION_STUDIO_COMFYUI"
COMFYUI_REQUIREMENTS = ROOT / "packaging" / "comfyui_test_requirements.in"
COMFYUI_LOCK = ROOT / "packaging" / "comfyui-test-lock.txt"
LOWEST_PYTHON = "3.10"  # pyproject's requires-python: the universal lock covers it and every newer Python


@dataclass(frozen=True)
class Pin:
    """One line of the lock: ``name==version ; marker``."""

    name: str  # canonical (PEP 503) name
    version: str
    marker: str  # "" when the pin holds everywhere

    def applies(self) -> bool:
        """Whether this line is for the running Python and platform (needs the ``packaging`` library)."""
        if not self.marker:
            return True
        from packaging.markers import Marker

        return Marker(self.marker).evaluate()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path = LOCK) -> list[Pin]:
    """Every pin of the lock file (comments and option lines skipped)."""
    pins = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement, _, marker = line.partition(";")
        name, separator, version = requirement.partition("==")
        if not separator:
            raise ValueError(f"{path.name}: '{raw.strip()}' is not an exact pin (name==version)")
        pins.append(Pin(canonical(name.strip()), version.strip(), marker.strip()))
    return pins


def compile_command(python: str = sys.executable) -> list[str]:
    """The command that writes the lock from pyproject.toml (run by ``python3 dev.py lock``)."""
    extras = [flag for extra in EXTRAS for flag in ("--extra", extra)]
    return [python, "-m", "uv", "pip", "compile", "pyproject.toml", *extras, "--universal",
            "--python-version", LOWEST_PYTHON, "-c", str(PINS.relative_to(ROOT)),
            "-o", LOCK.name, "--custom-compile-command", "python3 dev.py lock"]  # fmt: skip


def comfyui_folder() -> Path:
    """Where the tests find ComfyUI: ``$DIFFUSION_STUDIO_COMFYUI``, else ``../shared/engines/comfyui``."""
    import os

    given = os.environ.get(COMFYUI_ENV)
    return Path(given) if given else ROOT.parent / "shared" / "engines" / "comfyui"


def comfyui_compile_command(python: str = sys.executable) -> list[str]:
    """The command that writes the ComfyUI test lock (run by ``python3 dev.py lock`` after the main lock)."""
    return [python, "-m", "uv", "pip", "compile", str(COMFYUI_REQUIREMENTS.relative_to(ROOT)), "--universal",
            "--python-version", LOWEST_PYTHON, "-c", LOCK.name, "-o", str(COMFYUI_LOCK.relative_to(ROOT)),
            "--custom-compile-command", "python3 dev.py lock"]  # fmt: skip


def drift(pins: list[Pin] | None = None) -> list[str]:
    """How the running environment differs from the lock: one line per installed dist at another version.

    Dists the lock pins but that are not installed are not drift (an extra that was not asked for); a local
    version label is ignored, so the CPU build ``2.14.1+cpu`` of a locked ``torch==2.14.1`` is the same.
    """
    from importlib import metadata

    differences = []
    for pin in pins if pins is not None else read_lock():
        if not pin.applies():
            continue
        try:
            installed = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            continue
        if installed.split("+", 1)[0] != pin.version:
            differences.append(f"{pin.name} {installed} is installed, the lock says {pin.version}")
    return differences
