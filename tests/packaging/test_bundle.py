"""The Linux release, end to end: build the frozen app, the torch runtime folder, the .deb and the AppDir with
packaging/build.py, then run the bundled app's self-test offscreen and in a real X server (Xvfb, Qt's xcb
plugin) and check what it reports. Minutes, not seconds: marked slow, and run by CI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SELF_TEST_TIMEOUT_S = 600

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle is built on Linux"),
]


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> dict:
    pytest.importorskip("PyInstaller", reason="the packaging extra: pip install -e '.[packaging]'")
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is Debian's")
    work = tmp_path_factory.mktemp("bundle")
    # zstd: the same .deb contents in a quarter of xz's time (the release keeps xz, for older dpkg).
    command = [sys.executable, str(ROOT / "packaging" / "build.py"), "--deb", "--appdir", "--compression", "zstd",
               "--dist", str(work / "dist"), "--work", str(work / "build")]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-8000:]
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"\nbuild: {json.dumps(figures)}")
    return figures


def _self_test(build: dict, out: Path, env_extra: dict[str, str], wrapper: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(env_extra)
    exe = Path(build["app_dir"]) / "DiffusionStudio"
    started = time.perf_counter()
    run = subprocess.run(
        [*wrapper, str(exe), "--self-test", str(out)],
        capture_output=True, text=True, env=env, timeout=SELF_TEST_TIMEOUT_S, cwd=out.parent,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    figures = _last_json_line(run.stdout)
    # What broke inside the frozen app (type, message, last frames) leads the failure, not a bare exit code.
    assert run.returncode == 0, _failure_report(figures) + run.stdout[-4000:] + run.stderr[-8000:]
    figures["wall_s"] = round(elapsed, 1)
    print(f"\nself-test ({env_extra}): {json.dumps(figures)}")
    return figures


def _last_json_line(stdout: str) -> dict:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {}


def _failure_report(figures: dict) -> str:
    parts = []
    if figures.get("crash"):
        crash = figures["crash"]
        parts.append(f"self-test crashed: {crash['type']}: {crash['message']}\n{crash['traceback']}")
    for text, detail in zip(figures.get("errors", []), figures.get("error_details", []), strict=False):
        parts.append(f"error shown in the window: {text}\n{detail}")
    return "\n\n".join(parts) + "\n\n" if parts else ""


def _check_self_test(figures: dict, out: Path) -> None:
    assert figures["ok"] is True and figures["errors"] == [], _failure_report(figures)
    assert figures["previews_received"] > 0
    assert figures["torch_imported_before_window"] is False
    assert figures["torch_in_window"] is None  # the engine, torch and all, runs in its own process
    result = Path(figures["result_path"])
    assert result.is_file() and result.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    screenshot = out / "window.png"
    assert screenshot.is_file() and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000  # a whole window, not an empty picture


def test_app_leaves_torch_to_the_runtime_folder(build):
    app, runtime = Path(build["app_dir"]), Path(build["runtime_dir"])
    assert runtime == app / "runtime"
    assert (runtime / "torch" / "__init__.py").is_file() and (runtime / "torchvision").is_dir()
    assert not (app / "_internal" / "torch").exists()
    assert not (runtime / "numpy").exists()  # the base's copy serves both
    assert (app / "_internal" / "resources" / "presets").is_dir()
    assert (app / "_internal" / "diffusers").is_dir()  # sources: the hook's pyz+py


def test_bundle_leaves_the_desktop_libraries_to_the_system(build):
    """libxcb-cursor & co. come from the artist's system (the .deb declares them), so the Xvfb run below
    proves the declared libraries are the ones Qt's xcb plugin needs."""
    internal = Path(build["app_dir"]) / "_internal"
    assert (internal / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so").is_file()
    # The theme draws its spin-box arrows and check marks from SVG files: without this plugin they vanish.
    assert (internal / "PySide6" / "Qt" / "plugins" / "imageformats" / "libqsvg.so").is_file()
    for name in ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon.so.0"):
        assert not (internal / name).exists(), name


def test_bundled_self_test_offscreen(build, tmp_path):
    figures = _self_test(build, tmp_path / "out", {"QT_QPA_PLATFORM": "offscreen"}, [])
    _check_self_test(figures, tmp_path / "out")
    assert Path(figures["torch_path"]).is_relative_to(build["runtime_dir"])


def test_bundled_self_test_under_xvfb_with_xcb(build, tmp_path):
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.skip("xvfb-run is not installed (apt-get install xvfb xauth)")
    wrapper = [xvfb_run, "-a", "-s", "-screen 0 1600x1000x24"]
    figures = _self_test(build, tmp_path / "out", {"QT_QPA_PLATFORM": "xcb"}, wrapper)
    _check_self_test(figures, tmp_path / "out")
    assert figures["qt_platform"] == "xcb"


def test_deb_holds_the_app_desktop_entry_icons_and_declares_the_xcb_libraries(build):
    deb = Path(build["deb"])
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    depends = next(line for line in fields.splitlines() if line.startswith("Depends:"))
    for library in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libegl1", "libfontconfig1"):
        assert library in depends
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    assert "/opt/diffusion-studio/DiffusionStudio" in paths
    assert "/opt/diffusion-studio/_internal/resources/presets/" in paths or any(
        p.startswith("/opt/diffusion-studio/_internal/resources/presets/") for p in paths
    )
    assert "/usr/bin/diffusion-studio" in paths
    assert "/usr/share/applications/io.github.diffusionstudio.DiffusionStudio.desktop" in paths
    assert "/usr/share/icons/hicolor/scalable/apps/io.github.diffusionstudio.DiffusionStudio.svg" in paths
    assert not [p for p in paths if p.startswith("/opt/diffusion-studio/runtime")]
    assert not [p for p in paths if "/torch/" in p]
    print(f"\n.deb: {deb.stat().st_size / 2**20:.0f} MiB, {len(paths)} entries")


def test_appdir_is_ready_for_appimagetool(build):
    appdir = Path(build["appdir"])
    assert os.access(appdir / "AppRun", os.X_OK)
    assert (appdir / "io.github.diffusionstudio.DiffusionStudio.desktop").is_file()
    assert (appdir / "io.github.diffusionstudio.DiffusionStudio.png").is_file()
    assert (appdir / "usr" / "lib" / "diffusion-studio" / "DiffusionStudio").is_file()
    assert (
        appdir / "usr" / "share" / "metainfo" / "io.github.diffusionstudio.DiffusionStudio.metainfo.xml"
    ).is_file()
