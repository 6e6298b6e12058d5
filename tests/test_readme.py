"""The README's quick start stays true: two commands, and CI runs the second one verbatim."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_quick_start_is_two_one_line_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert commands == ["python3 dev.py studio", "python3 dev.py test"]  # dev.py installs from the lock


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert quick_start_commands()[1] in ci_lines


def test_readme_screenshot_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):
        assert (ROOT / image).is_file(), image


def command_line_examples() -> list[str]:
    """The README's command-line block, one command per entry (continuation lines joined, comments dropped)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The command line", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0]
    joined = block.replace("\\\n", " ")
    return [re.sub(r"\s+#\s.*$", "", line).strip() for line in joined.splitlines() if line.strip()]


@pytest.mark.slow
def test_the_command_line_examples_work_as_written(tmp_path):
    """Every example, run in order by bash in a fresh home: only the artist's own files are stand-ins."""
    commands = command_line_examples()
    assert commands[0] == "source .venv/bin/activate"
    home, work = tmp_path / "home", tmp_path / "work"
    (home / "stable-diffusion-webui" / "models" / "Stable-diffusion").mkdir(parents=True)
    work.mkdir()
    (work / "resources").symlink_to(ROOT / "resources")  # the examples run from the project folder
    Image.new("RGB", (96, 64), (90, 140, 200)).save(work / "photo.png")
    bin_dir = str(Path(sys.executable).parent)  # what `source .venv/bin/activate` puts first on PATH
    env = {**os.environ, "HOME": str(home), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "HF_HUB_OFFLINE": "1"}  # fmt: skip
    env.pop("DIFFUSION_STUDIO_HOME", None)  # the default data folder, under this HOME
    for command in commands[1:]:
        if "earlier.png" in command or "picture.png" in command:
            first = sorted((home / "pictures").glob("*.png"))[0]
            command = command.replace("earlier.png", str(first)).replace("picture.png", str(first))
        run = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True,
                             timeout=600)  # fmt: skip
        assert run.returncode == 0, f"{command}\n{run.stderr[-3000:]}"
        if command.startswith("diffusion-studio models") and "--dir" not in command:
            assert "sd15" in run.stdout and "sdxl" in run.stdout
    assert len(list((home / "pictures").glob("*.png"))) == 6
    assert (work / "control.png").is_file()
