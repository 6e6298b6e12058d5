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
    request, notes = request_from_args(args)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)

    from studio.engine.engine import Engine

    cancel = threading.Event()
    bar = _ProgressBar()

    def on_step(preview) -> None:
        bar.update(preview.step, preview.total, preview.pass_name, preview.image_index)
        if preview_dir is not None:
            name = f"b{preview.image_index:02d}-{preview.pass_name}-{preview.step:03d}.png"
            _write_preview(preview.image, preview_dir / name)

    save_notes: list[str] = []

    def on_batch(batch: GenerationResult) -> None:
        known = len(batch.notices)
        _save_batch(batch, out_dir, bar)
        save_notes.extend(batch.notices[known:])  # saving says so when metadata had to be left out

    def on_sigint(signum, frame) -> None:
        if cancel.is_set():  # a second Ctrl+C: the user really wants out
            raise KeyboardInterrupt
        cancel.set()
        print("\ncancelling… (Ctrl+C again to quit at once)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        settings, _ = load_settings()  # the same folders and annotators as the window
        engine = Engine(
            allow_pickle=args.allow_pickle,
            lora_dirs=tuple(lora_dirs),
            annotators_dir=settings.annotators_folder,
            controlnet_dirs=tuple(str(folder) for folder in settings.controlnet_folders()),
        )
        # Each batch is saved as soon as it is decoded, so a kill loses at most the batch in progress.
        result = engine.generate(
            request,
            on_step=on_step,
            cancel=cancel,
            on_stage=lambda text: print(text, file=sys.stderr),
            on_batch=on_batch,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.done()
    for notice in dict.fromkeys([*result.notices, *save_notes]):  # each batch may repeat the same one
        print(f"note: {notice}", file=sys.stderr)
    if result.cancelled:
        print("diffusion-studio: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    print(f"done in {result.elapsed_s:.1f}s, seed {result.request.seed}", file=sys.stderr)
    return EXIT_OK


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
