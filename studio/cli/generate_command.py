"""``diffusion-studio generate``: progress bar, previews, clean cancel on Ctrl+C, PNGs with metadata."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.cli.folders import output_folder
from studio.cli.generate_args import cli_lora_dirs, request_from_args
from studio.cli.parser import EXIT_CANCELLED, EXIT_OK, CliError
from studio.cli.performance_args import performance_overrides
from studio.errors import SaveError
from studio.settings import load_settings

if TYPE_CHECKING:
    from studio.results import GenerationResult


class _ProgressBar:
    """One line on stderr, redrawn in place; silent when stderr is not a terminal except for the last line."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.start = time.perf_counter()
        self.tty = stream.isatty()
        self.drawn = False  # a bar is on screen, so the next line must start below it

    def update(self, step: int, total: int, pass_name: str, image_index: int) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * step / max(total, 1))
        elapsed = time.perf_counter() - self.start
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {step}/{total} {pass_name} batch {image_index + 1}  {elapsed:5.1f}s")
        self.stream.flush()
        self.drawn = True

    def done(self) -> None:
        """End the bar's line, so what is printed next starts on its own line."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


def cmd_generate(args: argparse.Namespace) -> int:
    # Every folder is checked before anything is created or loaded, so bad input leaves nothing behind.
    out_dir = output_folder(args.out, "--out")
    preview_dir = output_folder(args.preview_dir, "--preview-dir") if args.preview_dir is not None else None
    lora_dirs = cli_lora_dirs(args)
    performance = performance_overrides(args)
    request, notes = request_from_args(args)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)

    _log_to_file()
    from studio.backend.events import ImagesReady, JobCancelled, JobFailed, JobFinished, Stage, StepProgress
    from studio.backend.factory import backend_from_settings

    settings, _ = load_settings()  # the same folders and annotators as the window
    from studio.cli.server_args import server_from_args

    server = server_from_args(args, settings)  # None: this computer; a server is checked to answer first
    # In this process (a script's Ctrl+C and exit code stay simple), set up as the window's engine is.
    backend = backend_from_settings(
        settings,
        own_process=False,
        server=server,
        allow_pickle=args.allow_pickle,
        lora_dirs=tuple(lora_dirs),
        torch_threads=None,
        **performance,
    )
    cancelling = threading.Event()
    bar = _ProgressBar()
    save_notes: list[str] = []

    def on_sigint(signum, frame) -> None:
        if cancelling.is_set():  # a second Ctrl+C: the user really wants out
            raise KeyboardInterrupt
        cancelling.set()
        backend.cancel()
        print("\ncancelling… (Ctrl+C again to quit at once)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    backend.start(warm_up=False)
    try:
        job = backend.submit(request)
        while True:
            event = backend.next_event(timeout=0.2)
            if isinstance(event, StepProgress):
                _show_step(event.preview, bar, preview_dir)
            elif isinstance(event, Stage):
                print(event.text, file=sys.stderr)
            elif isinstance(event, ImagesReady):
                # Each batch is saved as soon as it is decoded, so a kill loses at most the batch in progress.
                known = len(event.result.notices)
                _save_batch(event.result, out_dir, bar)
                save_notes.extend(event.result.notices[known:])  # metadata that had to be left out
            elif isinstance(event, JobFailed) and event.job_id == job:
                if event.detail:
                    raise EngineBug(event.detail)
                raise CliError(event.message)
            elif isinstance(event, JobFinished | JobCancelled) and event.job_id == job:
                result = event.result
                break
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.done()
        backend.close()
    notices = result.notices if result is not None else []
    for notice in dict.fromkeys([*notices, *save_notes]):  # each batch may repeat the same one
        print(f"note: {notice}", file=sys.stderr)
    if result is None or result.cancelled:
        print("diffusion-studio: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    print(f"done in {result.elapsed_s:.1f}s, seed {result.request.seed}", file=sys.stderr)
    return EXIT_OK


def _log_to_file() -> None:
    """The engine's log lines go to the studio's log file, never onto the terminal between the progress lines."""
    import logging

    from studio.logging_setup import LOGGER_NAME, setup_logging

    try:
        setup_logging()
    except OSError:  # no writable data folder: the one-line errors still say everything the artist needs
        logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


class EngineBug(Exception):
    """A bug inside the engine, which ran on its own thread: ``detail`` is its traceback, for the log."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail.strip().splitlines()[-1])
        self.detail = detail


def _show_step(preview: Any, bar: _ProgressBar, preview_dir: Path | None) -> None:
    bar.update(preview.step, preview.total, preview.pass_name, preview.image_index)
    if preview_dir is not None:
        name = f"b{preview.image_index:02d}-{preview.pass_name}-{preview.step:03d}.png"
        _write_preview(preview.image, preview_dir / name)


def _save_batch(batch: GenerationResult, out_dir: Path, bar: _ProgressBar) -> None:
    from studio.metadata.saving import save_result

    try:
        written = save_result(batch, out_dir)
    except SaveError as exc:
        # saving.py speaks to the window ("kept in the studio… save again"); here the images are gone.
        cause = exc.__cause__
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else "no free file name"
        raise CliError(
            f"Could not save the images to --out '{out_dir}': {reason}. "
            "Free some disk space or choose another folder, then run the command again."
        ) from exc
    bar.done()
    for path in written:
        print(path, flush=True)  # at once: a script reading the output sees each file as it lands


def _write_preview(pixels: Any, path: Path) -> None:
    import io

    from PIL import Image

    from studio.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())  # a kill never leaves half a preview
    except OSError as exc:
        raise CliError(
            f"Could not write the preview '{path.name}' to --preview-dir '{path.parent}': "
            f"{exc.strerror or exc}. Choose another folder."
        ) from exc
