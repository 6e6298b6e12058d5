"""Build the installable Diffusion Studio: ``python packaging/build.py [--deb] [--appdir] [--runtime-deb]``.

Linux (the default here): the one-folder app in ``dist/DiffusionStudio/`` (torch left out) and the torch runtime
folder in ``dist/DiffusionStudio/runtime/`` (from the build environment, or with ``--runtime-pip`` from an index:
the CPU build on a release runner), icons from resources/icons/app.svg in ``build/icons/``. ``--deb`` adds
``dist/diffusion-studio_<version>_amd64.deb``, ``--runtime-deb`` the runtime's own .deb, ``--appdir`` the AppDir
for appimagetool. On macOS (``--torch-inside``, the default there) torch goes into the .app. Windows: the same
app and runtime; packaging/windows/diffusion-studio.iss makes the installer. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import icons as icon_maker  # noqa: E402
import linux_packages  # noqa: E402
import locked_env  # noqa: E402
import runtime_folder  # noqa: E402


def project_version() -> str:
    from importlib.metadata import version

    return version("diffusion-studio")  # the spec collects the same metadata: one version everywhere


def run_pyinstaller(dist: Path, work: Path, icon: Path, torch_inside: bool) -> Path:
    env = dict(os.environ, STUDIO_ICON=str(icon), STUDIO_TORCH_INSIDE="1" if torch_inside else "0")
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
               "--distpath", str(dist), "--workpath", str(work), str(HERE / "diffusion_studio.spec")]  # fmt: skip
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    return dist / "DiffusionStudio"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the app and packages go")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder, icons")
    parser.add_argument("--deb", action="store_true", help="also build the app's .deb")
    parser.add_argument("--runtime-deb", metavar="FLAVOUR", choices=("cpu", "cuda"), help="and the runtime's")
    parser.add_argument("--appdir", action="store_true", help="also lay out the AppDir for appimagetool")
    parser.add_argument(
        "--no-runtime", action="store_true", help="build only the app, not the runtime folder"
    )
    parser.add_argument("--runtime-pip", nargs="+", metavar="REQ", help="pip requirements for the runtime")
    parser.add_argument("--index-url", help="pip index for --runtime-pip (e.g. PyTorch's CPU wheel index)")
    parser.add_argument("--copy", action="store_true", help="copy the runtime files instead of hard-linking")
    parser.add_argument("--torch-inside", action="store_true", default=sys.platform == "darwin")
    parser.add_argument("--compression", default="xz", help="dpkg-deb compressor: xz, zstd, gzip, none")
    parser.add_argument(
        "--unlocked", action="store_true", help="build even when the environment differs from the lock"
    )
    args = parser.parse_args(argv)
    drift = locked_env.drift()
    if drift and not args.unlocked:
        # A release is made of the versions the tests passed with, or it may break on artists' machines.
        parser.exit(
            2,
            "build.py: this environment is not the locked one (requirements-lock.txt):\n  "
            + "\n  ".join(drift)
            + "\nSet it up with: python3 dev.py test  (or pass --unlocked)\n",
        )

    figures: dict[str, object] = {}
    started = time.perf_counter()
    made_icons = icon_maker.make_icons(args.work / "icons")
    icon = made_icons["icns" if sys.platform == "darwin" else "ico"]
    app_dir = run_pyinstaller(args.dist, args.work / "pyinstaller", icon, args.torch_inside)
    figures["app_build_s"] = round(time.perf_counter() - started, 1)
    figures["app_dir"] = str(app_dir)
    figures["app_bytes"] = runtime_folder.folder_size(app_dir)

    if not args.torch_inside and not args.no_runtime:
        t0 = time.perf_counter()
        runtime = app_dir / "runtime"
        if args.runtime_pip:
            runtime_folder.from_pip(runtime, args.runtime_pip, args.index_url)
        else:
            figures["runtime_dists"] = runtime_folder.from_environment(runtime, link=not args.copy)
        figures["runtime_dir"] = str(runtime)
        figures["runtime_bytes"] = runtime_folder.folder_size(runtime)
        figures["runtime_build_s"] = round(time.perf_counter() - t0, 1)

    version = project_version()
    if args.deb or args.runtime_deb:
        t0 = time.perf_counter()
        if args.deb:
            deb = linux_packages.build_deb(
                app_dir, made_icons, args.dist, version, compression=args.compression
            )
            figures.update(deb=str(deb), deb_bytes=deb.stat().st_size)
        if args.runtime_deb:
            runtime_deb = linux_packages.build_runtime_deb(
                app_dir / "runtime", args.runtime_deb, args.dist, version, compression=args.compression
            )
            figures.update(runtime_deb=str(runtime_deb), runtime_deb_bytes=runtime_deb.stat().st_size)
        figures["deb_build_s"] = round(time.perf_counter() - t0, 1)
    if args.appdir:
        figures["appdir"] = str(linux_packages.build_appdir(app_dir, made_icons, args.dist))
    figures["total_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
