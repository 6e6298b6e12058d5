"""Other tools' files through the real command line: ``info`` and ``generate --from-png`` on JPEG/WebP, and
``export`` (good and bad input)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import run_cli, tiny_generate
from PIL import Image

from studio.cli.main import main

SWARM = {
    "sui_image_params": {"prompt": "a koi pond, ink", "negativeprompt": "murky", "seed": 321, "steps": 2,
                         "cfgscale": 5.5, "width": 64, "height": 64, "sampler": "euler", "scheduler": "normal",
                         "model": "Elsewhere/other_model", "refinerupscale": 2, "swarm_version": "0.9.3"},
}  # fmt: skip


def swarm_image(path: Path) -> Path:
    """A SwarmUI JPEG/WebP: its JSON in EXIF UserComment, UTF-16 in the file's (little-endian) byte order."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + json.dumps(SWARM).encode("utf-16-le")
    Image.new("RGB", (16, 16), "navy").save(path, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_info_names_the_source_where_it_was_read_and_what_was_not_mapped(tmp_path, suffix):
    run = run_cli("info", str(swarm_image(tmp_path / f"swarm{suffix}")), env_home=tmp_path / "home")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["source"] == "swarmui"
    assert data["read_from"] == "SwarmUI settings (sui_image_params), from the EXIF UserComment"
    assert data["request"]["prompt"] == "a koi pond, ink" and data["request"]["seed"] == 321
    assert "refinerupscale: 2" in data["unmapped"]


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_generate_from_a_jpeg_or_webp_restores_its_settings(tiny_models, tmp_path, capsys, suffix):
    source = swarm_image(tmp_path / f"swarm{suffix}")
    out = tmp_path / "out"
    assert (
        main(["generate", "--from-png", str(source), "--model", str(tiny_models / "sd15"), "--out", str(out)])
        == 0
    )
    streams = capsys.readouterr()
    made = Path(streams.out.split()[0])
    assert "refinerupscale" in streams.err  # what could not be restored is said

    from studio.metadata.reader import read_image_settings

    restored = read_image_settings(made).request
    assert (restored.prompt, restored.negative_prompt, restored.seed, restored.cfg_scale) == (
        "a koi pond, ink", "murky", 321, 5.5,
    )  # fmt: skip


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_export_writes_the_file_and_info_reads_it_back(tiny_models, tmp_path, capsys, fmt):
    out = tmp_path / "out"
    assert (
        main(tiny_generate(tiny_models / "sd15", "--seed", "5", "--out", str(out), prompt="a lantern")) == 0
    )
    source = capsys.readouterr().out.split()[0]
    run = run_cli(
        "export", source, "--format", fmt, "--out", str(tmp_path / "exports"), env_home=tmp_path / "h"
    )
    assert run.returncode == 0, run.stderr
    written = Path(run.stdout.strip())
    assert written.parent == tmp_path / "exports" and written.suffix == {"jpeg": ".jpg", "webp": ".webp"}[fmt]
    info = json.loads(run_cli("info", str(written), env_home=tmp_path / "h").stdout)
    assert (
        info["source"] == "a1111"
        and info["request"]["prompt"] == "a lantern"
        and info["request"]["seed"] == 5
    )


def test_export_refuses_bad_input_in_one_line(tmp_path):
    home = tmp_path / "home"
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    for args, expected in (
        ([str(not_image), "--out", str(tmp_path)], "'notes.png' is not an image"),
        ([str(tmp_path / "missing.png"), "--out", str(tmp_path)], "Could not read 'missing.png'"),
        ([str(not_image), "--format", "gif", "--out", str(tmp_path)], "invalid choice: 'gif'"),
    ):
        run = run_cli("export", *args, env_home=home)
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and expected in lines[0], run.stderr
        assert "Traceback" not in run.stderr
    good = tmp_path / "good.png"
    Image.new("RGB", (8, 8)).save(good)
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    run = run_cli("export", str(good), "--out", str(blocked / "sub"), env_home=home)
    assert run.returncode == 2 and "Could not export to" in run.stderr and "Traceback" not in run.stderr
