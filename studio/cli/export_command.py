"""``diffusion-studio export IMAGE... --format jpeg|webp --out DIR``: see ``studio.metadata.export``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.cli.parser import EXIT_BAD_INPUT, EXIT_OK
from studio.errors import StudioError


def cmd_export(args: argparse.Namespace) -> int:
    from studio.metadata.export import export_image
    from studio.metadata.saving import creator_tool

    failed = 0
    for image in args.image:
        try:
            written = export_image(Path(image), args.format, Path(args.out), creator_tool())
        except StudioError as exc:
            print(f"diffusion-studio: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(written)
    return EXIT_BAD_INPUT if failed else EXIT_OK
