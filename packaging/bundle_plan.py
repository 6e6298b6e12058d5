"""What goes into the frozen base and what into the torch runtime folder, read from installed package metadata.

One frozen app serves a CPU and a CUDA runtime on Windows and Linux, so torch, torchvision and the libraries only
they need (triton, the NVIDIA and CUDA wheels) live in a separate ``runtime/`` folder. Everything else torch needs
at import (its pure-Python dependencies and the whole standard library: torch's own imports are never traced by
PyInstaller) must be in the base. Used by the spec file (inside PyInstaller) and by build.py.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

RUNTIME_ROOTS = ("torch", "torchvision")
# Dependencies of the roots that belong with them: they change between the CPU and the CUDA build.
_RUNTIME_ONLY = re.compile(r"^(torch|torchvision|triton|nvidia-.*|cuda-.*)$")
# Top-level import names of the runtime dists; the base analysis must never pull them in.
RUNTIME_MODULES = ("torch", "torchvision", "torchgen", "functorch", "triton", "nvidia", "cuda")
# Libraries of the desktop the app runs on (X11/xcb, keyboard maps, fonts, GL, D-Bus), which PyInstaller would copy
# from the build machine: left out of the bundle, declared by the packages (linux_packages.DEPENDS) instead, so
# Qt talks to the artist's own X server and GL driver with the matching libraries.
SYSTEM_LIBRARY_PREFIXES = (
    "libxcb.so", "libxcb-", "libX11.so", "libX11-xcb.so", "libXau.so", "libXdmcp.so", "libxkbcommon",
    "libfontconfig.so", "libfreetype.so", "libdbus-1.so", "libEGL.so", "libGL.so", "libGLX.so", "libGLdispatch.so",
)  # fmt: skip
# Parts of the standard library no artist's copy needs (GUI toolkits we do not use, the test suite, tools).
_STDLIB_SKIP = {
    "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3", "ensurepip",
    "venv", "pydoc_data", "__phello__", "_tkinter", "_testcapi", "_testbuffer", "_testimportmultiple",
    "_testinternalcapi", "_testmultiphase", "_xxtestfuzz", "xxlimited", "xxlimited_35", "_xxsubinterpreters",
    "msilib", "winreg", "winsound", "nt", "_winapi", "msvcrt", "_msi", "_overlapped", "_scproxy", "_osx_support",
    "_aix_support", "_bootsubprocess",
}  # fmt: skip


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist_name: str) -> list[str]:
    """The unconditional requirements of an installed dist (extras and other platforms' markers left out)."""
    try:
        requires = metadata.requires(dist_name) or []
    except metadata.PackageNotFoundError:
        return []
    names = []
    for line in requires:
        requirement, _, marker = line.partition(";")
        if "extra" in marker:
            continue
        if marker.strip() and not _marker_holds(marker):
            continue
        names.append(canonical(re.split(r"[\s<>=!~\[(]", requirement.strip(), maxsplit=1)[0]))
    return names


def _marker_holds(marker: str) -> bool:
    try:
        from packaging.markers import Marker
    except ImportError:  # without `packaging`, keep the requirement: a spare dependency is harmless
        return True
    return Marker(marker.strip()).evaluate()


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def closure(roots: tuple[str, ...] | list[str]) -> set[str]:
    """The installed dists that ``roots`` need, roots included (canonical names)."""
    seen: set[str] = set()
    todo = [canonical(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or not _installed(name):
            continue
        seen.add(name)
        todo.extend(_requirements(name))
    return seen


def runtime_dists() -> set[str]:
    """torch, torchvision and their runtime-only dependencies (triton, nvidia-*, cuda-*).

    Every installed dist with such a name counts: torch asks for the NVIDIA wheels through extras of
    ``cuda-toolkit``, which the closure does not follow, and nothing else installs them.
    """
    names = {canonical(d.metadata["Name"]) for d in metadata.distributions() if d.metadata["Name"]}
    return {name for name in names if _RUNTIME_ONLY.match(name)}


def torch_base_dists() -> set[str]:
    """torch's and torchvision's other dependencies: the frozen base carries them whole."""
    # setuptools is only for compiling extensions (torch.utils.cpp_extension), never for running the studio.
    return closure(RUNTIME_ROOTS) - runtime_dists() - {"setuptools"}


def top_level_modules(dist_name: str) -> list[str]:
    """The import names a dist provides (from top_level.txt, else from its file list)."""
    dist = metadata.distribution(dist_name)
    text = dist.read_text("top_level.txt")
    if text:
        names = {line.strip() for line in text.splitlines() if line.strip()}
    else:
        names = set()
        for file in dist.files or []:
            first = file.parts[0]
            if first.endswith((".dist-info", ".data")) or first in ("..", "__pycache__"):
                continue
            if len(file.parts) == 1:
                if file.suffix == ".py":
                    names.add(file.stem)
            else:
                names.add(first)
    return sorted(n for n in names if n.isidentifier() and not n.startswith("_distutils"))


def stdlib_modules() -> list[str]:
    """Every importable module of this Python's standard library, less _STDLIB_SKIP (and their children)."""
    import pkgutil
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    found = set(sys.builtin_module_names)
    for info in pkgutil.iter_modules([str(stdlib), str(stdlib / "lib-dynload")]):
        found.add(info.name)
        if info.ispkg:
            found.update(_walk(stdlib / info.name, info.name))
    wanted = []
    for name in sorted(found):
        parts = name.split(".")
        if (
            parts[0] in _STDLIB_SKIP
            or parts[0].startswith(("_test", "_xx"))
            or "test" in parts[1:]
            or "tests" in parts[1:]
            or "idle_test" in parts
        ):
            continue
        if name.endswith("__main__"):
            continue
        wanted.append(name)
    return wanted


def _walk(folder: Path, prefix: str) -> list[str]:
    import pkgutil

    names = []
    for info in pkgutil.iter_modules([str(folder)]):
        full = f"{prefix}.{info.name}"
        names.append(full)
        if info.ispkg:
            names.extend(_walk(folder / info.name, full))
    return names


def package_modules(top: str) -> list[str]:
    """A package and its submodules found on disk (no import: walking sympy by import would take a minute)."""
    import importlib.util

    spec = importlib.util.find_spec(top)
    if spec is None:
        return []
    if not spec.submodule_search_locations:
        return [top]
    names = [top]
    for location in spec.submodule_search_locations:
        names.extend(n for n in _walk(Path(location), top) if ".tests" not in n and ".testing" not in n)
    return names


def is_system_library(name: str) -> bool:
    """Whether a bundled binary's file name is one of the desktop's own libraries (SYSTEM_LIBRARY_PREFIXES).

    Wheels' private copies carry a hash in their name (``libxcb-9065bb12.so.1.1.0``) and stay.
    """
    base = name.rsplit("/", 1)[-1]
    if re.search(r"-[0-9a-f]{8}\.so", base):
        return False
    return base.startswith(SYSTEM_LIBRARY_PREFIXES)
