"""What can be checked here of the installers that are built elsewhere: the paths the Inno Setup script and the
dmgbuild settings reference, the .desktop file, the AppStream metainfo, AppRun, the icons, the .deb layout
(with a stand-in app folder) and the split between the frozen base and the torch runtime."""

from __future__ import annotations

import configparser
import plistlib
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

import bundle_plan  # noqa: E402
import linux_packages  # noqa: E402

# What build.py, icons.py and runtime_folder.py make: the only build outputs an installer script may name.
BUILD_OUTPUTS = {
    "dist/DiffusionStudio", "dist/runtime-cuda", "dist/runtime-cpu", "dist/Diffusion Studio.app",
    "build/icons/app.ico", "build/icons/app.icns",
}  # fmt: skip


def _spec_exe_name() -> str:
    return re.search(r'EXE\([^)]*?name="([^"]+)"', (PACKAGING / "diffusion_studio.spec").read_text(), re.S)[1]


def _iss() -> str:
    return (PACKAGING / "windows" / "diffusion-studio.iss").read_text()


def _iss_path(raw: str) -> str:
    """A path of the .iss with {#Root} resolved, relative to the repository, forward slashes, no wildcard."""
    path = raw.replace("{#Root}", "ROOT").replace("\\", "/")
    assert path.startswith("ROOT/"), f"{raw} is not under the repository"
    return path.removeprefix("ROOT/").removesuffix("/*")


def test_inno_setup_references_only_repository_files_or_build_outputs():
    text = _iss()
    root_define = re.search(r'#define Root "([^"]+)"', text)[1].replace("\\", "/")
    assert (PACKAGING / "windows" / root_define).resolve() == ROOT
    raws = re.findall(r'Source: "([^"]+)"', text) + re.findall(r"^SetupIconFile=(.+)$", text, re.M)
    assert len(raws) >= 4
    for raw in raws:
        path = _iss_path(raw)
        assert (ROOT / path).exists() or path in BUILD_OUTPUTS, f"{raw}: neither in the repository nor built"


def test_inno_setup_components_types_and_exe_agree():
    text = _iss()
    types = set(re.findall(r'^Name: "(\w+)"; Description: "[^"]+"$', text.split("[Components]")[0], re.M))
    assert types == {"nvidia", "cpu"}
    components = re.findall(r'^Name: "(\w+)"; Description: "[^"]+"; Types: ([\w ]+)', text, re.M)
    assert {name for name, _ in components} == {"app", "runtime_cuda", "runtime_cpu"}
    for _, used in components:
        assert set(used.split()) <= types
    for used in re.findall(r"Components: (\w+)", text):
        assert used in {name for name, _ in components}
    assert re.search(r'#define AppExe "([^"]+)"', text)[1] == _spec_exe_name() + ".exe"
    assert "DiskSpanning=yes" in text and "{uninstallexe}" in text and "{group}" in text


def test_dmgbuild_settings_and_entitlements():
    settings: dict = {"defines": {}}
    exec(compile((PACKAGING / "macos" / "dmg_settings.py").read_text(), "dmg_settings.py", "exec"), settings)
    assert settings["format"] in {"UDZO", "UDBZ", "ULFO", "ULMO"}
    assert settings["files"] == [settings["application"]]
    assert settings["application"] in BUILD_OUTPUTS and settings["badge_icon"] in BUILD_OUTPUTS
    assert set(settings["icon_locations"]) == {Path(settings["application"]).name, "Applications"}
    spec = (PACKAGING / "diffusion_studio.spec").read_text()
    assert f'name="{Path(settings["application"]).name}"' in spec
    entitlements = plistlib.loads((PACKAGING / "macos" / "entitlements.plist").read_bytes())
    assert entitlements["com.apple.security.cs.allow-jit"] is True
    assert all(isinstance(value, bool) for value in entitlements.values())


def _desktop_file() -> Path:
    return PACKAGING / "linux" / f"{linux_packages.APP_ID}.desktop"


def test_desktop_file_names_the_command_and_icon_the_packages_install():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(_desktop_file())
    section = entry["Desktop Entry"]
    assert section["Exec"].split()[0] == linux_packages.PACKAGE
    assert section["Icon"] == linux_packages.APP_ID
    assert section["StartupWMClass"] == _spec_exe_name()
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    run = subprocess.run([validator, str(_desktop_file())], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_appstream_metainfo_is_valid_and_launches_the_desktop_file():
    path = PACKAGING / "linux" / f"{linux_packages.APP_ID}.metainfo.xml"
    component = ET.parse(path).getroot()
    assert component.findtext("id") == linux_packages.APP_ID
    assert component.findtext("launchable") == _desktop_file().name
    assert component.findtext("provides/binary") == linux_packages.PACKAGE
    validator = shutil.which("appstreamcli")
    if validator is None:
        pytest.skip("appstreamcli is not installed (apt-get install appstream)")
    run = subprocess.run([validator, "validate", "--no-net", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_apprun_is_an_executable_posix_script_that_starts_the_staged_app():
    apprun = PACKAGING / "appdir" / "AppRun"
    assert apprun.stat().st_mode & 0o111
    assert subprocess.run(["sh", "-n", str(apprun)]).returncode == 0
    assert f'"$HERE/usr/lib/{linux_packages.PACKAGE}/{_spec_exe_name()}"' in apprun.read_text()


def test_icons_in_every_format_from_the_one_svg(tmp_path, qapp):  # qapp: a QApplication, not the bare
    # QGuiApplication icons.py would make, so later widget tests in this process still work
    import icons
    from PIL import Image

    made = icons.make_icons(tmp_path)
    for size in icons.PNG_SIZES:
        assert Image.open(made["png"] / f"{size}.png").size == (size, size)
    with Image.open(made["ico"]) as ico:
        assert {s for s, _ in ico.info["sizes"]} == set(icons.ICO_SIZES)
    with Image.open(made["icns"]) as icns:
        assert icns.size == (1024, 1024)
    # Drawn, not blank: the logo's blue-violet square covers the middle.
    r, g, b, a = Image.open(made["png"] / "64.png").getpixel((32, 32))
    assert a == 255 and b > r


def test_the_runtime_holds_torch_and_the_base_holds_its_pure_python_dependencies():
    runtime = bundle_plan.runtime_dists()
    assert {"torch", "torchvision"} <= runtime
    assert all(re.match(r"(torch|torchvision|triton|nvidia-|cuda-)", name) for name in runtime)
    base = bundle_plan.torch_base_dists()
    assert {"numpy", "sympy", "jinja2", "filelock"} <= base and not base & runtime
    stdlib = bundle_plan.stdlib_modules()
    assert {"asyncio", "unittest.mock", "email.mime.text", "ctypes", "sqlite3"} <= set(stdlib)
    assert not [name for name in stdlib if name.split(".")[0] in {"tkinter", "test", "idlelib"}]


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is Debian's")
def test_deb_layout_and_control_with_a_stand_in_app(tmp_path):
    import icons

    app = tmp_path / "DiffusionStudio"
    (app / "_internal").mkdir(parents=True)
    (app / "DiffusionStudio").write_text("#!/bin/sh\n")
    (app / "DiffusionStudio").chmod(0o755)
    (app / "runtime" / "torch").mkdir(parents=True)  # never in the app's package: the runtime has its own
    deb = linux_packages.build_deb(
        app, icons.make_icons(tmp_path / "icons"), tmp_path, "1.2.3", compression="gzip"
    )
    assert deb.name == "diffusion-studio_1.2.3_amd64.deb"
    fields = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: diffusion-studio\n" in fields and "Version: 1.2.3\n" in fields
    for library in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1"):
        assert library in fields
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "./opt/diffusion-studio/DiffusionStudio" in listing
    assert "./usr/bin/diffusion-studio -> /opt/diffusion-studio/DiffusionStudio" in listing
    assert f"./usr/share/applications/{linux_packages.APP_ID}.desktop" in listing
    assert f"./usr/share/metainfo/{linux_packages.APP_ID}.metainfo.xml" in listing
    assert f"./usr/share/icons/hicolor/256x256/apps/{linux_packages.APP_ID}.png" in listing
    assert f"./usr/share/icons/hicolor/scalable/apps/{linux_packages.APP_ID}.svg" in listing
    assert "runtime" not in listing
