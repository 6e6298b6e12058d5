#!/usr/bin/env python3
"""Set up the studio's virtual environment from the lock, then open the studio or run the tests.

    python3 dev.py studio [--cpu] [ARGS...]   the window (or, with ARGS, the command line: generate, models...)
    python3 dev.py test [--cpu] [PYTEST ARGS...]
    python3 dev.py lock                       refresh requirements-lock.txt from pyproject.toml (and the
                                              ComfyUI test lock, packaging/comfyui-test-lock.txt)

The first run makes ``.venv`` and installs exactly the versions in ``requirements-lock.txt``; later runs find
the environment up to date (a stamp records what was installed) and start at once. The environment is made
again only when the lock, pyproject.toml, the extras or the torch build change.

``--cpu`` takes torch's CPU-only build from PyTorch's own index instead of PyPI's, which on Linux is the CUDA
build: about 4 GB less on disk, for machines without an NVIDIA card. ``--torch-index URL`` names another index
(e.g. a CUDA build on Windows, where PyPI's torch is CPU-only). Standard library only: it runs before the
environment exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / "diffusion-studio-install.json"
sys.path.insert(0, str(ROOT / "packaging"))

import locked_env  # noqa: E402

CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
TEST_EXTRAS = ("dev", "packaging")
FIRST_RUN_NOTE = (
    "First run: installing the studio into .venv from requirements-lock.txt. On Linux with the default (CUDA)\n"
    "torch this is about 3 GB of downloads and 6.5 GB on disk, 4.1 GB of it NVIDIA libraries and triton\n"
    "(add --cpu on a machine without an NVIDIA card to leave those out). Later runs start at once."
)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def venv_script(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / (name + (".exe" if os.name == "nt" else ""))


def wanted_install(
    extras: tuple[str, ...], torch_index: str | None, comfyui: bool = False
) -> dict[str, object]:
    """What the environment must hold: the inputs' hashes, the extras, where torch came from and whether the
    real ComfyUI's dependencies (for its tests) are wanted."""
    digest = hashlib.sha256()
    for path in (locked_env.LOCK, ROOT / "pyproject.toml", locked_env.COMFYUI_LOCK):
        digest.update(path.read_bytes())
    return {
        "inputs": digest.hexdigest(),
        "extras": sorted(extras),
        "torch_index": torch_index,
        "comfyui": comfyui,
    }


def read_stamp() -> dict[str, object]:
    """What the last finished install recorded ({} when there was none)."""
    try:
        return json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def up_to_date(wanted: dict[str, object], stamp: dict[str, object]) -> bool:
    """The stamp covers what is wanted: same inputs and torch, and at least the extras asked for."""
    return (
        bool(stamp)
        and venv_python().exists()
        and stamp.get("inputs") == wanted["inputs"]
        and stamp.get("torch_index") == wanted["torch_index"]
        and set(wanted["extras"]) <= set(stamp.get("extras", []))
        and (not wanted.get("comfyui") or bool(stamp.get("comfyui")))
    )


def install_commands(
    extras: tuple[str, ...], torch_index: str | None, fresh_torch: bool, comfyui: bool = False
) -> list[list[str]]:
    """The pip commands that install the locked environment (torch from ``torch_index`` when given), and with
    ``comfyui`` the locked dependencies of the real ComfyUI the tests start."""
    pip = [
        str(venv_python()),
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "-c",
        str(locked_env.LOCK),
    ]
    commands = []
    if torch_index or fresh_torch:
        # First, so the main install finds a locked torch present and never fetches PyPI's build; a change of
        # build (CPU to CUDA or back) must replace torch, which the locked version alone would keep.
        reinstall = ["--force-reinstall", "--no-deps"] if fresh_torch else []
        index = ["--index-url", torch_index] if torch_index else []
        commands.append([*pip, *reinstall, *index, "torch", "torchvision"])
    target = f"{ROOT}[{','.join(extras)}]" if extras else str(ROOT)
    commands.append([*pip, "-e", target])
    if comfyui:
        commands.append([*pip, "-r", str(locked_env.COMFYUI_LOCK)])
    return commands


def ensure_environment(extras: tuple[str, ...], torch_index: str | None, comfyui: bool = False) -> None:
    """Make or update ``.venv`` to the lock unless the stamp says it already is."""
    stamp = read_stamp()
    # Extras once installed stay installed: `test` after `studio` must not make `studio` reinstall.
    extras = tuple(sorted(set(extras) | set(stamp.get("extras", [])))) if stamp else extras
    comfyui = comfyui or bool(stamp.get("comfyui"))
    wanted = wanted_install(extras, torch_index, comfyui)
    if up_to_date(wanted, stamp):
        return
    started = time.monotonic()
    if not venv_python().exists():
        print(FIRST_RUN_NOTE, file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    else:
        print("Updating .venv to requirements-lock.txt…", file=sys.stderr, flush=True)
    STAMP.unlink(missing_ok=True)  # an interrupted install must not look finished
    fresh_torch = stamp.get("torch_index") != torch_index
    for command in install_commands(extras, torch_index, fresh_torch, comfyui):
        if subprocess.run(command).returncode != 0:
            sys.exit(
                "dev.py: the install failed (pip's message is above); run the same command again to retry."
            )
    STAMP.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")
    print(f"Environment ready in {time.monotonic() - started:.0f} s.", file=sys.stderr, flush=True)


def run(command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
    try:
        return subprocess.run(command, env=env, cwd=cwd).returncode
    except KeyboardInterrupt:  # the child got the Ctrl+C too and says what it did
        return 130


def parse(argv: list[str]) -> tuple[str, str | None, list[str]]:
    """``ACTION [--cpu | --torch-index URL] REST...``: everything after dev.py's own flags goes on untouched
    (``python3 dev.py studio generate --help`` is the studio's help, not this script's)."""
    if not argv or argv[0] not in ("studio", "test", "lock"):
        sys.exit(
            __doc__.strip().split("\n\n")[1]
            if not argv or argv[0] in ("-h", "--help")
            else f"dev.py: the first word is studio, test or lock, not '{argv[0]}' (see python3 dev.py --help)"
        )
    action, rest, torch_index = argv[0], argv[1:], None
    while rest and rest[0] in ("--cpu", "--torch-index"):
        if rest[0] == "--cpu":
            torch_index, rest = CPU_TORCH_INDEX, rest[1:]
        elif len(rest) < 2:
            sys.exit("dev.py: --torch-index needs the index's URL")
        else:
            torch_index, rest = rest[1], rest[2:]
    return action, torch_index, rest


def main(argv: list[str] | None = None) -> int:
    action, torch_index, rest = parse(sys.argv[1:] if argv is None else argv)
    if action == "studio":
        ensure_environment((), torch_index)
        return run([str(venv_script("diffusion-studio")), *rest])
    # The ComfyUI backend's tests start the real ComfyUI when it is beside the checkout (shared/engines).
    ensure_environment(TEST_EXTRAS, torch_index, comfyui=(locked_env.comfyui_folder() / "main.py").is_file())
    if action == "lock":
        code = run(locked_env.compile_command(str(venv_python())), cwd=ROOT)
        return code or run(locked_env.comfyui_compile_command(str(venv_python())), cwd=ROOT)
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    return run([str(venv_python()), "-m", "pytest", "-q", *rest], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
