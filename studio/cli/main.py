"""Dispatch to the sub-commands; bad input exits 2 with one line, Ctrl+C 130, bugs 1 with the log path."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from studio.cli.commands import cmd_demo_models, cmd_info, cmd_models, cmd_pose_render
from studio.cli.export_command import cmd_export
from studio.cli.generate_command import cmd_generate
from studio.cli.parser import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, build_parser
from studio.errors import StudioError

log = logging.getLogger("studio.cli")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit status.

    A reader that closes the pipe early (``info image.png | head``) has taken all it wanted: that is a normal
    end, so it exits 0, not 1 with an error, and not 141 (128 + SIGPIPE) as a shell would report a killed
    writer, which would fail scripts run with ``set -o pipefail`` for an ordinary ``| head``."""
    try:
        try:
            return _run(argv)
        finally:
            # Output still buffered meets a closed pipe here, not at interpreter exit. A windowed build on
            # Windows has no stdout at all (None).
            if sys.stdout is not None:
                sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_OK


def _stdout_to_devnull() -> None:
    """Python flushes stdout once more when it exits; pointing it at devnull keeps that flush from failing
    with a second BrokenPipeError (the way the Python docs' note on SIGPIPE recommends)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (an embedding host, a test's capture): nothing left to flush


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from studio.self_test import run_self_test

        result = run_self_test(Path(args.self_test))
        print(json.dumps(result), flush=True)
        return EXIT_OK if result.get("ok", True) else EXIT_FAILED
    if args.command is None:
        from studio.app import run_app

        return run_app(sys.argv[:1])
    commands = {
        "generate": cmd_generate,
        "models": cmd_models,
        "info": cmd_info,
        "export": cmd_export,
        "demo-models": cmd_demo_models,
        "pose": cmd_pose_render,
    }
    try:
        return commands[args.command](args)
    except StudioError as exc:
        print(f"diffusion-studio: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("diffusion-studio: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except BrokenPipeError:
        raise  # the reader went away: a normal end, see main()
    except Exception as exc:  # a bug: keep the traceback for the log, show one line
        where = _log_exception(exc)
        print(
            f"diffusion-studio: unexpected error: {exc.__class__.__name__}: {exc} (details in {where})",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _log_exception(exc: BaseException) -> Path:
    from studio.paths import log_file

    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        log.addHandler(handler)
        log.error("unexpected error", exc_info=exc)
        detail = getattr(exc, "detail", "")
        if detail:  # a bug on the engine's thread: its own traceback
            log.error("where it happened:\n%s", detail)
        log.removeHandler(handler)
        handler.close()
    except OSError:
        pass
    return path


# --- pose -----------------------------------------------------------------------------------------------------
