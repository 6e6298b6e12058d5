"""``generate``'s performance flags: the VRAM tier, fast mode and TAESD previews (the settings' defaults)."""

from __future__ import annotations

import argparse
from typing import Any

from studio.cli.folders import existing_folder
from studio.cli.parser import CliError
from studio.settings import VRAM_CHOICES


def add_performance_flags(gen: argparse.ArgumentParser) -> None:
    gen.add_argument(
        "--vram",
        choices=VRAM_CHOICES,
        help="how much of the model stays on the GPU: high (all, fastest), medium (parts moved in when needed), "
        "low (streamed layer by layer, for 4-6 GB cards), auto (chosen from the free memory) "
        "(default: the window's setting, auto)",
    )
    gen.add_argument(
        "--fast",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compile the model for speed; each new size compiles once, about a minute, then is cached on disk "
        "(default: the window's setting, off)",
    )
    gen.add_argument(
        "--taesd",
        metavar="DIR",
        help="a TAESD folder (or one holding taesd and taesdxl) for full previews with --preview-dir "
        "(default: the window's setting, or the downloaded ones)",
    )


def performance_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``EngineConfig`` fields the flags set; a flag left out keeps the preferences' value."""
    from studio.models.taesd import taesd_problem

    overrides: dict[str, Any] = {}
    if args.vram is not None:
        overrides["vram"] = args.vram
    if args.fast is not None:
        overrides["fast"] = args.fast
    if args.taesd is not None:
        folder = existing_folder(args.taesd, "--taesd")
        problem = taesd_problem(folder)
        if problem:
            raise CliError(f"--taesd: {problem}")
        overrides["taesd_path"] = str(folder)
    return overrides
