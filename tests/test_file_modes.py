"""Files the artist shares (pictures, control images, models) get the usual permissions, under the umask.

They are written through private temporary files (mkstemp, safetensors), which are 0600; these tests run the
real command line in a subprocess with a chosen umask and read the modes back."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(os.name == "nt", reason="Windows files have no mode bits")


def _run(umask: int, *args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DIFFUSION_STUDIO_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(umask),
    )  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_rendered_pose_follows_the_umask(tmp_path, studio_home, umask, expected):
    out = tmp_path / "control.png"
    run = _run(umask, "pose", "render", str(ROOT / "resources" / "poses" / "standing.json"), str(out),
               home=studio_home)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert _mode(out) == expected


@pytest.mark.slow
def test_demo_models_and_generated_pictures_are_0644(tmp_path, studio_home):
    demo = tmp_path / "demo"
    run = _run(0o022, "demo-models", str(demo), home=studio_home)
    assert run.returncode == 0, run.stderr
    files = [path for path in demo.rglob("*") if path.is_file()]
    assert any(path.suffix == ".safetensors" for path in files)
    assert {oct(_mode(path)) for path in files} == {oct(0o644)}

    out = tmp_path / "out"
    run = _run(0o022, "generate", "--model", str(demo / "sd15"), "--prompt", "a cat", "--size", "64x64",
               "--steps", "2", "--out", str(out), home=studio_home)  # fmt: skip
    assert run.returncode == 0, run.stderr
    pictures = list(out.glob("*.png"))
    assert pictures and {_mode(path) for path in pictures} == {0o644}
