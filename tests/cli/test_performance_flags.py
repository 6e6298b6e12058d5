"""``generate --vram/--fast/--taesd``: bad values are one clear line; good ones reach the engine, not the PNG."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_process import run_cli, tiny_generate
from PIL import Image

from studio.cli import main


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--vram", "huge"], "argument --vram: invalid choice: 'huge'"),
        (["--taesd", "/no/such/taesd"], "--taesd '/no/such/taesd' does not exist"),
        (["--fast=yes"], "ignored explicit argument 'yes'"),
    ],
)
def test_bad_performance_flags_exit_2_with_one_line(flags, expected, studio_home, tmp_path):
    run = run_cli(*tiny_generate("m", *flags, "--out", str(tmp_path / "out")), env_home=studio_home)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert expected in lines[0]


def test_a_folder_without_taesd_is_refused_before_loading(studio_home, tmp_path):
    empty = tmp_path / "not-taesd"
    empty.mkdir()
    run = run_cli(
        *tiny_generate("m", "--taesd", str(empty), "--out", str(tmp_path / "out")), env_home=studio_home
    )
    assert run.returncode == 2
    assert "holds no TAESD preview decoder" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_vram_tier_and_taesd_reach_the_engine_but_not_the_metadata(tiny_models, tmp_path, capsys):
    from studio.engine.tiny_addons import write_tiny_taesd

    # A folder holding a decoder per family, as the download dialog leaves them: the SD 1.5 one is picked.
    taesd = tmp_path / "taesd"
    write_tiny_taesd(taesd / "madebyollin--taesd")
    out, previews = tmp_path / "out", tmp_path / "previews"
    flags = ["--vram", "medium", "--taesd", str(taesd), "--preview-dir", str(previews), "--out", str(out)]
    code = main(tiny_generate(tiny_models / "sd15", *flags))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "VRAM tier: Medium" in captured.err  # the tier is said (and logged)
    assert all(Image.open(p).size == (64, 64) for p in previews.glob("*.png"))  # TAESD: full-size previews
    written = Path(captured.out.split()[0])
    parameters = Image.open(written).info["parameters"]
    assert "VRAM" not in parameters and "Medium" not in parameters and "tier" not in parameters.lower()


@pytest.mark.slow
def test_fast_flag_names_the_first_compile(tiny_models, tmp_path, capsys, monkeypatch):
    # Dynamo traces the model but generates no kernels: the plumbing in seconds instead of a minute of C++.
    monkeypatch.setenv("DIFFUSION_STUDIO_COMPILE_BACKEND", "eager")
    code = main(
        tiny_generate(tiny_models / "sd15", "--fast", "--vram", "high", "--out", str(tmp_path / "out"))
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Preparing fast mode for 64×64 — first time only" in captured.err
