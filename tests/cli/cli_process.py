"""The real command line in a child process, as a shell or a script runs it: own data folder, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def cli_env(home: Path) -> dict[str, str]:
    return {**os.environ, "DIFFUSION_STUDIO_HOME": str(home), "HF_HUB_OFFLINE": "1"}


def run_cli(*args: str, env_home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m studio ARGS`` to the end, its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        cwd=ROOT,
        env=cli_env(env_home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str, env_home: Path, **popen: Any) -> subprocess.Popen:
    """``python -m studio ARGS`` started, for tests that signal it or read its pipes as it runs."""
    return subprocess.Popen([sys.executable, "-m", "studio", *args], cwd=ROOT, env=cli_env(env_home), **popen)


def tiny_generate(model: Path | str, *flags: str, prompt: str = "a fox") -> list[str]:
    """``generate`` arguments for a tiny model at 64×64 and 2 steps, then ``flags``."""
    return ["generate", "--model", str(model), "--prompt", prompt, "--steps", "2", "--size", "64x64", *flags]
