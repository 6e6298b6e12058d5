"""Hostile input through the real command line: each case was seen failing on a real run.

Every refusal must be one line on stderr with exit 2, before any work starts, and leave nothing behind. The tests
run as root in CI, where permission bits do not stop writes: a read-only folder is simulated with places no one
may write (``/sys``, a path under a regular file, ``/dev/null``); the chmod variant runs only for other users.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_process import run_cli, start_cli, tiny_generate
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from studio.models.controlnets import RECOMMENDED_CONTROLNETS
from studio.request import GenerationRequest, HiresSettings

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def assert_refused(run: subprocess.CompletedProcess, *expected: str) -> str:
    """Exit 2 with exactly one line on stderr that holds every ``expected`` text; returns that line."""
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2, run.stderr
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr and "unexpected error" not in run.stderr
    for text in expected:
        assert text in lines[0]
    return lines[0]


def _not_writable_by_anyone() -> Path:
    """A folder even root cannot create files in (sysfs refuses new files)."""
    sys_folder = Path("/sys")
    try:
        handle, probe = tempfile.mkstemp(dir=sys_folder)
    except OSError:
        return sys_folder
    os.close(handle)
    os.unlink(probe)
    pytest.skip("needs Linux's /sys, which refuses new files even to root")


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a-file.txt"
    path.write_text("not a folder")
    return path


@pytest.fixture
def read_only_folder(tmp_path) -> Iterator[Path]:
    """A folder made read-only with chmod: only meaningful when the tests do not run as root."""
    if IS_ROOT or os.name == "nt":
        pytest.skip("root writes through chmod 555 (and Windows ignores it); /sys covers this case")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


# --- 1. unknown control type --------------------------------------------------------------------------------


def test_an_unknown_control_type_is_refused_naming_the_known_ones(tiny_models, tmp_path, studio_home):
    out = tmp_path / "out"
    control = ["--control", "wobble:img.png", "--control-model", str(tmp_path)]
    run = run_cli(*tiny_generate(tiny_models / "sd15", *control, "--out", str(out)), env_home=studio_home)
    line = assert_refused(run, "wobble")
    assert all(control.type in line for control in RECOMMENDED_CONTROLNETS)
    assert not out.exists()


# --- 2. a reader that closes the pipe -----------------------------------------------------------------------


@pytest.fixture
def big_png(tmp_path) -> Path:
    """An image whose settings print as far more JSON than a pipe holds, so the writer meets the closed pipe."""
    text = "a castle on a hill, " * 20000 + "\nSteps: 2, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64"
    info = PngInfo()
    info.add_text("parameters", text)
    path = tmp_path / "big.png"
    Image.new("RGB", (64, 64)).save(path, pnginfo=info)
    return path


def test_a_closed_stdout_pipe_is_a_normal_end(big_png, studio_home):
    """``info big.png | head -c 10``: the reader took what it wanted, so exit 0 and say nothing."""
    proc = start_cli(
        "info", str(big_png), env_home=studio_home, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert len(proc.stdout.read(10)) == 10
    proc.stdout.close()  # as head does after its 10 bytes
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, stderr
    assert stderr == ""


# --- 3, 7, 8. output folders that cannot be written ---------------------------------------------------------


def _generate_into(tiny_models: Path, home: Path, out: str, *flags: str) -> subprocess.CompletedProcess:
    return run_cli(*tiny_generate(tiny_models / "sd15", "--out", out, *flags), env_home=home)


def test_a_preview_dir_under_a_file_is_refused_and_no_out_folder_is_left(
    tiny_models, tmp_path, studio_home, a_file
):
    out = tmp_path / "out"
    for preview in (a_file, a_file / "previews"):
        run = _generate_into(tiny_models, studio_home, str(out), "--preview-dir", str(preview))
        assert_refused(run, "--preview-dir", str(a_file))
        assert not out.exists()  # checked before any folder was made


def test_a_preview_dir_no_one_may_write_is_refused_before_loading(tiny_models, tmp_path, studio_home):
    previews = _not_writable_by_anyone() / "previews"
    run = _generate_into(tiny_models, studio_home, str(tmp_path / "out"), "--preview-dir", str(previews))
    assert_refused(run, "--preview-dir", "not writable")  # one line: "Loading model…" was never printed
    assert not (tmp_path / "out").exists()


def test_a_read_only_preview_dir_is_refused(tiny_models, tmp_path, studio_home, read_only_folder):
    run = _generate_into(
        tiny_models, studio_home, str(tmp_path / "out"), "--preview-dir", str(read_only_folder)
    )
    assert_refused(run, "--preview-dir", "not writable")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["sys", "under-a-file", "the-file", "dev-null"])
def test_an_out_folder_that_cannot_be_written_is_refused_before_loading(
    tiny_models, studio_home, a_file, where
):
    out = {
        "sys": lambda: _not_writable_by_anyone() / "out",
        "under-a-file": lambda: a_file / "out",
        "the-file": lambda: a_file,
        "dev-null": lambda: Path(os.devnull),
    }[where]()
    run = _generate_into(tiny_models, studio_home, str(out))
    assert_refused(run, "--out", str(out))  # one line: nothing was loaded or generated first
    assert a_file.read_text() == "not a folder"


def test_a_read_only_out_folder_is_refused_before_loading(tiny_models, studio_home, read_only_folder):
    run = _generate_into(tiny_models, studio_home, str(read_only_folder / "pictures"))
    assert_refused(run, "--out", "not writable")
    assert not any(read_only_folder.iterdir())


def test_an_empty_out_is_refused_rather_than_writing_here(tiny_models, studio_home):
    from cli_process import ROOT

    before = set(ROOT.iterdir())
    assert_refused(_generate_into(tiny_models, studio_home, ""), "--out is empty")
    assert set(ROOT.iterdir()) == before


@pytest.mark.parametrize("where", ["the-file", "under-a-file", "dev-null", "sys"])
def test_demo_models_into_a_place_that_cannot_hold_them_is_refused(tmp_path, studio_home, a_file, where):
    target = {
        "the-file": lambda: a_file,
        "under-a-file": lambda: a_file / "demo",
        "dev-null": lambda: Path(os.devnull),
        "sys": lambda: _not_writable_by_anyone() / "demo",
    }[where]()
    assert_refused(run_cli("demo-models", str(target), env_home=studio_home), str(target))
    assert not (studio_home / "settings.json").exists()  # not recorded as a model folder either
    assert a_file.read_text() == "not a folder"


def test_demo_models_into_a_read_only_folder_is_refused(studio_home, read_only_folder):
    assert_refused(run_cli("demo-models", str(read_only_folder), env_home=studio_home), "not writable")
    assert not any(read_only_folder.iterdir())


# --- 4. models --dir ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["missing", "a-file", "dev-null"])
def test_models_dir_that_is_not_a_folder_is_named(tmp_path, studio_home, a_file, where):
    folder = {"missing": tmp_path / "no-such-folder", "a-file": a_file, "dev-null": Path(os.devnull)}[where]
    assert_refused(run_cli("models", "--dir", str(folder), env_home=studio_home), f"--dir '{folder}'")


def test_models_in_a_folder_of_junk_lists_only_possible_checkpoints_with_reasons(tmp_path, studio_home):
    from studio.engine.tiny_addons import write_tiny_lora

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "random.bin").write_bytes(b"\x00" + os.urandom(4095))
    write_tiny_lora(junk / "ink.safetensors", "sd15")
    (junk / "old.ckpt").write_bytes(b"\x00" + os.urandom(4095))
    (junk / "corrupt.safetensors").write_bytes(b"\xff" * 64)

    table = run_cli("models", "--dir", str(junk), env_home=studio_home)
    assert table.returncode == 0 and table.stderr == "", table.stderr
    assert "random" not in table.stdout and "ink" not in table.stdout
    assert table.stdout.count("cannot be used:") == 2

    listed = run_cli("models", "--dir", str(junk), "--json", env_home=studio_home)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"old", "corrupt"}
    assert "not a PyTorch checkpoint" in rows["old"]["problem"]
    assert "corrupt.safetensors" in rows["corrupt"]["problem"]
    assert all(row["family"] is None for row in rows.values())


# --- 5. LoRA paths ------------------------------------------------------------------------------------------


def test_a_missing_lora_file_is_said_to_be_missing(tiny_models, tmp_path, studio_home):
    out = tmp_path / "out"
    run = _generate_into(tiny_models, studio_home, str(out), "--lora", "missing/path.safetensors:0.5")
    assert_refused(run, "'missing/path.safetensors' does not exist")
    assert "library" not in run.stderr
    assert not out.exists()


@pytest.mark.parametrize("where", ["missing", "a-file"])
def test_a_lora_dir_that_is_not_a_folder_is_named(tiny_models, tmp_path, studio_home, a_file, where):
    folder = {"missing": tmp_path / "no-loras-here", "a-file": a_file}[where]
    out = tmp_path / "out"
    run = _generate_into(tiny_models, studio_home, str(out), "--lora-dir", str(folder))
    assert_refused(run, f"--lora-dir '{folder}'")
    assert not out.exists()


# --- 9. the demo set is found by name -----------------------------------------------------------------------


def test_demo_models_are_listed_and_found_by_name_afterwards(tmp_path, studio_home):
    demo, out = tmp_path / "demo", tmp_path / "out"
    made = run_cli("demo-models", str(demo), env_home=studio_home, timeout=300)
    assert made.returncode == 0, made.stderr
    for words in ("model ", "LoRA ", "ControlNet ", "sd15.config", "not a model"):
        assert words in made.stdout

    listed = run_cli("models", "--json", env_home=studio_home)
    families = {(row["name"], row["family"]) for row in json.loads(listed.stdout)}
    assert {("sd15", "sd15"), ("sdxl", "sdxl")} <= families

    flags = ["--lora", "tiny-sd15-lora:0.5", "--out", str(out)]
    run = run_cli(*tiny_generate("sd15", *flags), env_home=studio_home, timeout=300)
    assert run.returncode == 0, run.stderr
    (image,) = out.glob("*.png")
    assert run.stdout.split() == [str(image)]


# --- 10. help -----------------------------------------------------------------------------------------------


def _help_of_each_flag(text: str) -> dict[str, str]:
    """``--help`` output as {flag: its help text on one line}."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.split("options:", 1)[1].splitlines():
        start = re.match(r"^  (-{1,2}[\w-]+)", line)
        if start:
            current = start.group(1)
            blocks[current] = []
        if current:
            blocks[current].append(line.strip())
    return {flag: " ".join(" ".join(lines).split()) for flag, lines in blocks.items()}


def test_every_generate_flag_has_help_with_its_default(studio_home):
    shown = _help_of_each_flag(run_cli("generate", "--help", env_home=studio_home).stdout)
    shown.pop("-h")
    assert {"--steps", "--lora", "--out"} <= set(shown)
    assert [flag for flag, text in shown.items() if "default" not in text and "required" not in text] == []
    new = GenerationRequest()
    for flag, value in [
        ("--steps", new.steps), ("--cfg", new.cfg_scale), ("--seed", new.seed), ("--strength", new.strength),
        ("--size", f"{new.width}x{new.height}"), ("--mask-blur", new.mask_blur),
        ("--hires-steps", HiresSettings().steps), ("--sampler", f'"{new.sampler}"'),
    ]:  # fmt: skip
        assert f"(default: {value})" in shown[flag]


# --- 11. kill -9 during a batch run -------------------------------------------------------------------------


def test_finished_batches_survive_kill_9(tiny_models, tmp_path, studio_home):
    """Each batch is saved as soon as it is decoded, so SIGKILL loses only the batch in progress.

    16 steps (not 2) so that a batch lasts long enough, even on a fast machine, for the kill to land while the
    later batches are still running: a run that ended first would prove nothing, and fails the test."""
    from studio.metadata.reader import read_image_settings

    if sys.platform == "win32":
        pytest.skip("SIGKILL is POSIX")
    out = tmp_path / "out"
    flags = ["--steps", "16", "--seed", "11", "--batch-count", "3", "--out", str(out)]
    proc = start_cli(
        *tiny_generate(tiny_models / "sd15", *flags),
        env_home=studio_home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    while not any(out.glob("*.png")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    saved = sorted(out.glob("*.png"))
    assert 1 <= len(saved) < 3
    for index, path in enumerate(saved):
        with Image.open(path) as image:
            image.verify()  # complete: every chunk and its checksum is there
        settings = read_image_settings(path)
        assert settings.source == "diffusion-studio" and settings.request.seed == 11 + index
    assert sorted(out.iterdir()) == saved  # no temporary files
