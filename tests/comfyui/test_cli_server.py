"""``generate --server`` and ``models --server`` through the real command line (``python -m studio``), the
settings' server list and the backend factory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from studio.settings import AppSettings, load_settings, save_settings

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 120):
    environment = {**os.environ, "DIFFUSION_STUDIO_HOME": str(home), "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- against the real server ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_generate_on_a_server_writes_the_image_with_its_metadata(comfy_server, studio_home, tmp_path):
    out = tmp_path / "out"
    run = run_cli(
        "generate", "--server", comfy_server.url, "--model", "tiny-sd15", "--prompt", "a (fox:1.2)", "--steps", "2",
        "--size", "64x64", "--seed", "5", "--sampler", "Euler a", "--lora", "tiny-ink:0.5", "--out", str(out),
        "--preview-dir", str(tmp_path / "previews"), home=studio_home,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    written = [Path(line) for line in run.stdout.split()]
    assert len(written) == 1 and written[0].parent == out
    with Image.open(written[0]) as png:
        assert png.size == (64, 64)
        parameters = png.info["parameters"]
    assert "Seed: 5" in parameters and "Sampler: Euler a" in parameters and "Server: " in parameters
    assert "note: ComfyUI weighs emphasised words its own way" in run.stderr
    assert len(list((tmp_path / "previews").glob("*.png"))) == 2  # a preview per step, as local runs write


@pytest.mark.slow
def test_models_on_a_server_lists_the_servers_models(comfy_server, studio_home):
    run = run_cli("models", "--server", comfy_server.url, "--json", home=studio_home)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [(row["name"], row["family"], row["reference"]) for row in rows] == [
        ("tiny-sd15", "sd15", "tiny-sd15.safetensors")
    ]
    table = run_cli("models", "--server", comfy_server.url, home=studio_home)
    assert table.stdout.split()[:2] == ["tiny-sd15", "sd15"]


@pytest.mark.slow
def test_a_saved_server_is_found_by_name(comfy_server, studio_home):
    save_settings(AppSettings(servers=[{"name": "desk", "url": comfy_server.url}]))
    run = run_cli("models", "--server", "desk", "--json", home=studio_home)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)[0]["name"] == "tiny-sd15"


@pytest.mark.slow
def test_a_model_the_server_lacks_is_one_clear_line(comfy_server, studio_home, tmp_path):
    run = run_cli(
        "generate", "--server", comfy_server.url, "--model", "dreamshaper", "--steps", "2", "--size", "64x64",
        "--out", str(tmp_path / "out"), home=studio_home,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip().endswith("has no model 'dreamshaper'. It has: tiny-sd15.")


# --- bad input, no server needed ---------------------------------------------------------------------------------


def test_an_unreachable_server_is_one_clear_line(studio_home, tmp_path):
    url, out = closed_port_url(), tmp_path / "out"
    for args in (
        ["models", "--server", url],
        ["generate", "--server", url, "--model", "x", "--out", str(out)],
    ):
        run = run_cli(*args, home=studio_home, timeout=60)
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith(
            f"diffusion-studio: error: Could not reach the ComfyUI server '{url[7:]}'"
        )
        assert "Traceback" not in run.stderr
    assert not list(out.glob("*"))  # nothing written


def test_a_server_that_is_no_address_nor_saved_name_says_both(studio_home):
    run = run_cli("models", "--server", "my-gpu-box", home=studio_home)
    assert run.returncode == 2
    assert "'my-gpu-box' is not a server address; write it like http://" in run.stderr
    assert "or the name of a saved server: none saved" in run.stderr


def test_a_token_without_a_server_is_refused(studio_home):
    run = run_cli("models", "--token", "abc", home=studio_home)
    assert run.returncode == 2 and "--token is for a server: give --server URL too." in run.stderr


def test_the_token_never_reaches_the_output(studio_home):
    url = closed_port_url()
    run = run_cli(
        "models", "--server", url, home=studio_home, env={"DIFFUSION_STUDIO_COMFY_TOKEN": "tok-123"}
    )
    assert run.returncode == 2 and "tok-123" not in run.stdout + run.stderr


# --- settings and the factory ---------------------------------------------------------------------------------


def test_servers_are_kept_in_the_settings_without_tokens(studio_home):
    settings = AppSettings(
        servers=[{"name": "desk", "url": "http://192.168.1.20:8188"}], active_server="desk"
    )
    save_settings(settings)
    loaded, problem = load_settings()
    assert problem is None and loaded.servers == settings.servers and loaded.active_server == "desk"


def test_a_broken_server_list_gives_the_defaults_and_says_so(studio_home):
    from studio.settings import settings_file

    settings_file().parent.mkdir(parents=True, exist_ok=True)
    settings_file().write_text(json.dumps({"version": 1, "servers": [{"name": 3}]}), encoding="utf-8")
    loaded, problem = load_settings()
    assert loaded.servers == [] and "unusable server list" in problem


def test_the_factory_makes_a_comfy_backend_for_the_active_server(monkeypatch):
    from studio.backend.comfyui.backend import ComfyBackend
    from studio.backend.factory import backend_from_settings
    from studio.backend.local import LocalBackend

    monkeypatch.setenv("DIFFUSION_STUDIO_COMFY_TOKEN", "tok")
    settings = AppSettings(servers=[{"name": "desk", "url": "http://10.0.0.2:8188"}], active_server="desk")
    backend = backend_from_settings(settings, own_process=True)
    assert isinstance(backend, ComfyBackend) and backend.name == "comfyui"
    assert (backend.server.name, backend.server.url, backend.server.token) == (
        "desk",
        "http://10.0.0.2:8188",
        "tok",
    )
    settings.active_server = ""
    assert isinstance(backend_from_settings(settings, own_process=False), LocalBackend)
