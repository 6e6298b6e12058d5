"""dev.py, the README's two commands: install from the lock once, then start without reinstalling."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
dev = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dev)


@pytest.fixture
def fake_venv(tmp_path, monkeypatch):
    venv = tmp_path / ".venv"
    python = dev.venv_python().relative_to(dev.VENV)
    (venv / python).parent.mkdir(parents=True)
    (venv / python).write_text("")
    monkeypatch.setattr(dev, "VENV", venv)
    monkeypatch.setattr(dev, "STAMP", venv / "diffusion-studio-install.json")
    return venv


def test_a_matching_stamp_means_no_install(fake_venv):
    wanted = dev.wanted_install(("dev",), None)
    assert dev.read_stamp() == {} and not dev.up_to_date(wanted, dev.read_stamp())  # no stamp yet
    dev.STAMP.write_text(json.dumps(dev.wanted_install(("dev", "packaging"), None)))
    assert dev.up_to_date(wanted, dev.read_stamp())  # more extras installed than asked for is fine
    assert not dev.up_to_date(dev.wanted_install(("dev",), dev.CPU_TORCH_INDEX), dev.read_stamp())  # other torch
    dev.STAMP.write_text(json.dumps({**wanted, "inputs": "an older lock"}))
    assert not dev.up_to_date(wanted, dev.read_stamp())


def test_the_cpu_choice_installs_torch_first_from_its_index():
    commands = dev.install_commands(("dev",), dev.CPU_TORCH_INDEX, fresh_torch=True)
    torch_step, main_step = commands
    assert torch_step[torch_step.index("--index-url") + 1] == dev.CPU_TORCH_INDEX
    assert {"torch", "torchvision", "--force-reinstall"} <= set(torch_step)
    assert main_step[-1] == f"{dev.ROOT}[dev]" and "--index-url" not in main_step
    for command in commands:  # every install goes through the lock
        assert command[command.index("-c") + 1] == str(dev.locked_env.LOCK)
    assert dev.install_commands((), None, fresh_torch=False) == [[*main_step[:-2], "-e", str(dev.ROOT)]]


def test_going_back_from_the_cpu_build_replaces_torch_from_the_default_index():
    """The locked version alone would keep "2.14.1+cpu": leaving --cpu must reinstall torch itself."""
    torch_step, _main = dev.install_commands((), None, fresh_torch=True)
    assert {"torch", "torchvision", "--force-reinstall", "--no-deps"} <= set(torch_step)
    assert "--index-url" not in torch_step


def test_arguments_after_the_action_go_to_the_studio_untouched():
    assert dev.parse(["studio", "generate", "--help"]) == ("studio", None, ["generate", "--help"])
    assert dev.parse(["test", "--cpu", "-m", "not slow"]) == ("test", dev.CPU_TORCH_INDEX, ["-m", "not slow"])
    assert dev.parse(["studio", "--torch-index", "URL", "models"]) == ("studio", "URL", ["models"])


def test_a_wrong_action_is_one_clear_line():
    run = subprocess.run([sys.executable, str(ROOT / "dev.py"), "stuido"], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr.strip() == (
        "dev.py: the first word is studio, test or lock, not 'stuido' (see python3 dev.py --help)"
    )


def test_opening_the_studio_again_does_not_reinstall():
    """After ``dev.py test`` made the environment, ``dev.py studio`` starts the studio with no pip run."""
    if not dev.STAMP.is_file() or Path(sys.prefix).resolve() != dev.VENV.resolve():
        pytest.skip("runs inside the environment dev.py made (python3 dev.py test)")
    before = dev.STAMP.stat().st_mtime_ns
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, str(ROOT / "dev.py"), "studio", "pose", "render", "--help"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert run.returncode == 0, run.stderr
    assert "POSE.json" in run.stdout  # the studio's own help answered
    assert "Updating" not in run.stderr and "First run" not in run.stderr
    assert dev.STAMP.stat().st_mtime_ns == before
    print(f"\ndev.py studio with an up-to-date environment: {elapsed:.2f} s")


def test_the_comfyui_test_dependencies_install_through_both_locks():
    """With ComfyUI beside the checkout, its locked dependencies go in after the studio, held to the main lock."""
    *_main, comfyui_step = dev.install_commands(("dev",), None, fresh_torch=False, comfyui=True)
    assert comfyui_step[comfyui_step.index("-c") + 1] == str(dev.locked_env.LOCK)
    assert comfyui_step[-2:] == ["-r", str(dev.locked_env.COMFYUI_LOCK)]
    stamp = dev.wanted_install(("dev",), None, comfyui=False)
    assert not dev.up_to_date(dev.wanted_install(("dev",), None, comfyui=True), stamp)  # wanted, not installed
