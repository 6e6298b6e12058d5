"""The small sub-commands: ``models``, ``info``, ``demo-models`` and ``pose render``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from studio.cli.folders import existing_folder, output_folder
from studio.cli.generate_args import parse_size
from studio.cli.parser import EXIT_OK, CliError
from studio.errors import StudioError


def _human_size(size: int | None) -> str:
    if not size:  # a server's models: their size is not told
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def cmd_models(args: argparse.Namespace) -> int:
    given = [existing_folder(folder, "--dir") for folder in args.dir]  # a typo must not read as "no models"
    from studio.backend.factory import backend_from_settings
    from studio.settings import load_settings

    settings, _ = load_settings()
    from studio.cli.server_args import server_from_args

    server = server_from_args(args, settings)
    if server is not None and args.hash:
        raise CliError("--hash reads the model files, which are on the server: leave it out with --server.")
    if server is not None and given:
        raise CliError("--dir lists folders on this computer; with --server the server's models are listed.")
    # The backend's catalogue, as the window's: the same folders, so both list the same models.
    backend = backend_from_settings(
        settings, own_process=False, extra_model_dirs=tuple(str(folder) for folder in given), server=server
    )
    entries = backend.models()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        hash10 = entry.hash() if args.hash else entry.hash10
        rows.append(
            {
                "name": entry.name,
                "family": entry.family,
                "kind": entry.kind,
                "size_bytes": entry.size_bytes,
                "hash10": hash10,
                "reference": entry.reference,
                "problem": entry.problem,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        where = "".join(f"'{folder}' and " for folder in given)
        if server is not None:
            print(f"The ComfyUI server '{server.name}' has no models in its checkpoints folder.")
            return EXIT_OK
        print(
            f"No models found in {where}the studio's model folders. "
            "Try: diffusion-studio demo-models, or --dir with an A1111/ComfyUI folder."
        )
        return EXIT_OK
    for row in rows:
        family = row["family"] or "-"
        print(
            f"{row['name']:<40} {family:<12} {_human_size(row['size_bytes']):>9} "
            f"{row['hash10'] or '-':<10} {row['reference']}"
        )
        if row["problem"]:
            print(f"    cannot be used: {row['problem']}")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from studio.metadata.reader import read_image_settings

    settings = read_image_settings(Path(args.image))
    print(
        json.dumps(
            {"source": settings.source, "request": settings.request.to_dict(), "unmapped": settings.unmapped},
            indent=2,
            ensure_ascii=False,
        )
    )
    return EXIT_OK


def cmd_demo_models(args: argparse.Namespace) -> int:
    from studio import paths

    # Without DIR, where the window's demo button puts them.
    target = args.dir if args.dir is not None else str(paths.models_dir() / "demo")
    folder = output_folder(target, "demo-models DIR").resolve()
    from studio.engine.demo_models import demo_summary, write_demo_models

    written = write_demo_models(folder)
    for line in demo_summary(written):
        print(line)
    print(_remember_model_folder(folder))
    return EXIT_OK


def _remember_model_folder(folder: Path) -> str:
    """Add ``folder`` to the model folders in the preferences, as the window's demo button does, so ``models``
    lists it and ``--model sd15`` finds it; returns a sentence saying so (or why not)."""
    from studio.settings import load_settings, save_settings

    settings, problem = load_settings()
    if problem:
        print(f"note: {problem}", file=sys.stderr)
    if str(folder) not in settings.model_dirs:
        settings.model_dirs.append(str(folder))
        try:
            save_settings(settings)
        except (OSError, StudioError) as exc:
            return (
                f"The folder could not be added to the studio's model folders ({exc}); "
                f"pass --dir {folder} to 'models', and give models by path."
            )
    return (
        f"{folder} is one of the studio's model folders now: 'diffusion-studio models' lists these models "
        "and '--model sd15' finds them (the window lists them too)."
    )


def cmd_pose_render(args: argparse.Namespace) -> int:
    """``pose render POSE.json OUT.png [--size WxH]``: the control image the engine would make of the pose."""
    from studio.atomic import atomic_write_bytes
    from studio.pose.pose_json import load_pose
    from studio.pose.render import render_pose

    pose = load_pose(Path(args.pose_file))
    width, height = parse_size(args.size) if args.size else pose.size
    if not (0 < width <= 16384 and 0 < height <= 16384):
        raise CliError(f"--size must be between 1x1 and 16384x16384, not {width}x{height}.")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise CliError(
            f"The control image is written as PNG; name it '{out.stem}.png' instead of '{out.name}'."
        )
    import io

    buffer = io.BytesIO()
    render_pose(pose, width, height).save(buffer, format="PNG")
    try:
        atomic_write_bytes(out, buffer.getvalue())
    except OSError as exc:
        raise CliError(f"Could not write '{out}': {exc.strerror or exc}. Choose another folder.") from exc
    print(f"{out} ({width}x{height}, {len(pose.people)} {'person' if len(pose.people) == 1 else 'people'})")
    return EXIT_OK
