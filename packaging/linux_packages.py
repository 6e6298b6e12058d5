"""Linux packages of the one-folder app: the .deb (app; and the runtime as its own package) and the AppDir
that appimagetool turns into an AppImage on a release runner.

The app installs to /opt/diffusion-studio with /usr/bin/diffusion-studio, the .desktop file, AppStream
metainfo and hicolor icons. The torch runtime is a second package (diffusion-studio-runtime-cuda or -cpu) that
installs /opt/diffusion-studio/runtime, so an update of the app never downloads gigabytes of torch again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_ID = "io.github.diffusionstudio.DiffusionStudio"
PACKAGE = "diffusion-studio"
INSTALL_DIR = Path("opt") / PACKAGE
# What Qt's xcb platform plugin and the offscreen/EGL paths load from the system (PySide6 wheels do not ship them).
# The bundle leaves these out on purpose (bundle_plan.SYSTEM_LIBRARY_PREFIXES).
DEPENDS = (
    "libc6 (>= 2.28)", "libegl1", "libgl1", "libfontconfig1", "libfreetype6", "libdbus-1-3", "libxkbcommon0",
    "libxkbcommon-x11-0", "libxcb1", "libx11-6", "libx11-xcb1", "libxcb-cursor0", "libxcb-icccm4",
    "libxcb-keysyms1", "libxcb-image0", "libxcb-render-util0", "libxcb-render0", "libxcb-xkb1", "libxcb-shape0",
    "libxcb-randr0", "libxcb-xinerama0", "libxcb-shm0", "libxcb-sync1", "libxcb-xfixes0", "libxcb-glx0",
    "libxcb-util1",
)  # fmt: skip
SUMMARY = "desktop AI image studio for Stable Diffusion"
DESCRIPTION = (
    "Make images with Stable Diffusion 1.5 and SDXL models on your own computer: a prompt builder with\n"
    "presets, live previews, a queue, ControlNet poses, inpainting and LoRA styles."
)


def stage_app(app_dir: Path, icons: dict[str, Path], root: Path, install_dir: Path = INSTALL_DIR) -> Path:
    """Lay the app out under ``root`` as it is installed (``install_dir`` relative to ``root``)."""
    target = root / install_dir
    shutil.copytree(app_dir, target, symlinks=True, ignore=shutil.ignore_patterns("runtime"))
    share = root / "usr" / "share"
    for folder, name in (("applications", f"{APP_ID}.desktop"), ("metainfo", f"{APP_ID}.metainfo.xml")):
        (share / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy2(HERE / "linux" / name, share / folder / name)
    for png in sorted(icons["png"].glob("*.png")):
        size = int(png.stem)
        if size > 512:
            continue  # hicolor stops at 512
        apps = share / "icons" / "hicolor" / f"{size}x{size}" / "apps"
        apps.mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, apps / f"{APP_ID}.png")
    scalable = share / "icons" / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copy2(icons["svg"], scalable / f"{APP_ID}.svg")
    return target


def build_deb(
    app_dir: Path,
    icons: dict[str, Path],
    out_dir: Path,
    version: str,
    arch: str = "amd64",
    compression: str = "xz",
) -> Path:
    """The app's .deb; depends on the system libraries Qt needs, recommends a runtime package."""
    root = out_dir / f"{PACKAGE}_deb_root"
    shutil.rmtree(root, ignore_errors=True)
    stage_app(app_dir, icons, root)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / PACKAGE).symlink_to(Path("/") / INSTALL_DIR / "DiffusionStudio")
    recommends = f"{PACKAGE}-runtime-cuda | {PACKAGE}-runtime-cpu"
    deb = _pack(root, out_dir / f"{PACKAGE}_{version}_{arch}.deb", PACKAGE, version, arch, ", ".join(DEPENDS),
                recommends, SUMMARY, DESCRIPTION, compression)  # fmt: skip
    shutil.rmtree(root, ignore_errors=True)
    return deb


def build_runtime_deb(
    runtime_dir: Path, flavour: str, out_dir: Path, version: str, arch: str = "amd64", compression: str = "xz"
) -> Path:
    """The torch runtime as ``diffusion-studio-runtime-<flavour>`` (cpu or cuda), installed beside the app."""
    name = f"{PACKAGE}-runtime-{flavour}"
    root = out_dir / f"{name}_deb_root"
    shutil.rmtree(root, ignore_errors=True)
    (root / INSTALL_DIR).mkdir(parents=True)
    shutil.copytree(runtime_dir, root / INSTALL_DIR / "runtime", symlinks=True)
    other = "cpu" if flavour == "cuda" else "cuda"
    summary = f"PyTorch runtime ({flavour.upper()}) for Diffusion Studio"
    text = f"PyTorch and torchvision ({flavour.upper()} build) for Diffusion Studio, kept apart from the app."
    deb = _pack(root, out_dir / f"{name}_{version}_{arch}.deb", name, version, arch, "libc6 (>= 2.28)", "",
                summary, text, compression, extra=f"Provides: {PACKAGE}-runtime\nConflicts: {PACKAGE}-runtime-{other}\n")  # fmt: skip
    shutil.rmtree(root, ignore_errors=True)
    return deb


def _pack(
    root: Path, deb: Path, package: str, version: str, arch: str, depends: str, recommends: str,
    summary: str, description: str, compression: str, extra: str = "",
) -> Path:  # fmt: skip
    size_kb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()) // 1024
    fields = {
        "@PACKAGE@": package, "@VERSION@": version, "@ARCH@": arch, "@SIZE_KB@": str(size_kb),
        "@DEPENDS@": depends, "@RECOMMENDS@": recommends, "@SUMMARY@": summary,
        "@DESCRIPTION@": "\n".join(" " + (line or ".") for line in description.splitlines()),
    }  # fmt: skip
    control = (HERE / "deb" / "control.in").read_text()
    for key, value in fields.items():
        control = control.replace(key, value)
    if not recommends:
        control = "".join(line for line in control.splitlines(True) if not line.startswith("Recommends:"))
    control = control.replace("Description:", extra + "Description:", 1)
    (root / "DEBIAN").mkdir(exist_ok=True)
    (root / "DEBIAN" / "control").write_text(control)
    for path in [root, *root.rglob("*")]:  # dpkg wants 0755 folders and readable files whatever the umask
        if not path.is_symlink():
            mode = 0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644
            path.chmod(mode)
    deb.unlink(missing_ok=True)
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(root), str(deb)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return deb


def build_appdir(app_dir: Path, icons: dict[str, Path], out_dir: Path) -> Path:
    """``DiffusionStudio.AppDir``: AppRun, the .desktop file and icon at its top, metainfo, the app in usr/lib."""
    appdir = out_dir / "DiffusionStudio.AppDir"
    shutil.rmtree(appdir, ignore_errors=True)
    stage_app(app_dir, icons, appdir, Path("usr") / "lib" / PACKAGE)
    shutil.copy2(HERE / "appdir" / "AppRun", appdir / "AppRun")
    (appdir / "AppRun").chmod(0o755)
    desktop = appdir / "usr" / "share" / "applications" / f"{APP_ID}.desktop"
    # appimagetool wants the .desktop file and the icon at the top; Exec is relative to AppRun there.
    text = desktop.read_text().replace("Exec=diffusion-studio", "Exec=AppRun")
    (appdir / f"{APP_ID}.desktop").write_text(text)
    shutil.copy2(icons["png"] / "256.png", appdir / f"{APP_ID}.png")
    (appdir / ".DirIcon").symlink_to(f"{APP_ID}.png")
    return appdir
