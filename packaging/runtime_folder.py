"""The torch runtime folder: torch, torchvision and the libraries only they need, in site-packages layout.

Built from the build environment's installed files (``from_environment``: what the venv holds, the CUDA build on
Linux from PyPI) or by pip into the folder (``from_pip``: on a release runner, the CPU build from an index given
with ``--index-url``). The app's runtime hook puts the folder on sys.path; torch finds its NVIDIA libraries there.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import bundle_plan
import locked_env


def from_environment(target: Path, *, link: bool = True) -> list[str]:
    """Copy the installed runtime dists' files (per their RECORD) into ``target``; returns the dist names.

    ``link`` hard-links instead of copying where the folders share a file system: seconds instead of minutes
    for the CUDA build's gigabytes, and the result is the same files.
    """
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    names = sorted(bundle_plan.runtime_dists())
    for name in names:
        dist = metadata.distribution(name)
        base = Path(dist.locate_file(""))
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts or file.suffix == ".pyc":
                continue  # scripts outside site-packages; bytecode is rebuilt on the artist's machine
            source = base / file
            if not source.is_file():
                continue
            destination = target / file
            destination.parent.mkdir(parents=True, exist_ok=True)
            _place(source, destination, link)
    return names


def _place(source: Path, destination: Path, link: bool) -> None:
    if link:
        try:
            os.link(source, destination)
            return
        except OSError:
            pass  # another file system (or no hard links there): copy
    shutil.copy2(source, destination)


def from_pip(target: Path, requirements: list[str], index_url: str | None = None) -> None:
    """Install ``requirements`` (e.g. ``torch==2.x torchvision==0.y``) into ``target`` with pip, without the
    dependencies the frozen base already carries (pip's ``--no-deps`` would drop the NVIDIA wheels)."""
    if target.exists():
        shutil.rmtree(target)
    # The lock holds torch at the tested release; a CPU index's "2.x.y+cpu" satisfies its "2.x.y".
    command = [sys.executable, "-m", "pip", "install", "-c", str(locked_env.LOCK), "--target", str(target),
               *requirements]  # fmt: skip
    if index_url:
        command += ["--index-url", index_url]
    subprocess.run(command, check=True)
    base_modules = {
        top for dist in bundle_plan.torch_base_dists() for top in bundle_plan.top_level_modules(dist)
    }
    for entry in target.iterdir():
        if entry.name in base_modules or entry.name == "bin":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def folder_size(folder: Path) -> int:
    """Bytes in ``folder`` (each hard-linked file counted once per path, as an installer would copy it)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    """``python packaging/runtime_folder.py TARGET [--pip REQ... [--index-url URL]] [--copy]``."""
    parser = argparse.ArgumentParser(description="Build a torch runtime folder.")
    parser.add_argument("target", type=Path)
    parser.add_argument("--pip", nargs="+", metavar="REQ", help="install these with pip instead of copying")
    parser.add_argument("--index-url", help="pip's index for --pip (the CPU or a CUDA wheel index)")
    parser.add_argument("--copy", action="store_true", help="copy instead of hard-linking")
    args = parser.parse_args(argv)
    if args.pip:
        from_pip(args.target, args.pip, args.index_url)
    else:
        from_environment(args.target, link=not args.copy)
    print(f"{args.target}: {folder_size(args.target) / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
