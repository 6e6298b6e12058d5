"""``diffusion-studio generate``: progress bar, previews, clean cancel on Ctrl+C, PNGs with metadata."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

from studio.cli.generate_args import cli_lora_dirs, request_from_args
from studio.cli.parser import EXIT_CANCELLED, EXIT_OK, CliError
from studio.settings import load_settings


class _ProgressBar:
    """One line on stderr, redrawn in place; silent when stderr is not a terminal except for the last line."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.start = time.perf_counter()
        self.tty = stream.isatty()

    def update(self, step: int, total: int, pass_name: str, image_index: int) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * step / max(total, 1))
        elapsed = time.perf_counter() - self.start
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {step}/{total} {pass_name} batch {image_index + 1}  {elapsed:5.1f}s")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def cmd_generate(args: argparse.Namespace) -> int:
    request, notes = request_from_args(args)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    out_dir = Path(args.out)
    preview_dir = Path(args.preview_dir) if args.preview_dir else None
    for folder in (out_dir, preview_dir):
        if folder is not None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CliError(f"Cannot create the folder '{folder}': {exc.strerror}.") from exc

    from studio.engine.engine import Engine
    from studio.prompt.saving import save_result

    cancel = threading.Event()
    bar = _ProgressBar()

    def on_step(preview) -> None:
        bar.update(preview.step, preview.total, preview.pass_name, preview.image_index)
        if preview_dir is not None:
            from PIL import Image

            name = f"b{preview.image_index:02d}-{preview.pass_name}-{preview.step:03d}.png"
            Image.fromarray(preview.image).save(preview_dir / name)

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
            lora_dirs=tuple(cli_lora_dirs(args)),
            annotators_dir=settings.annotators_folder,
            controlnet_dirs=tuple(str(folder) for folder in settings.controlnet_folders()),
        )
        result = engine.generate(
            request, on_step=on_step, cancel=cancel, on_stage=lambda text: print(text, file=sys.stderr)
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.done()
    for notice in result.notices:
        print(f"note: {notice}", file=sys.stderr)
    if result.images:
        for path in save_result(result, out_dir):
            print(path)
    if result.cancelled:
        print("diffusion-studio: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    print(f"done in {result.elapsed_s:.1f}s, seed {result.request.seed}", file=sys.stderr)
    return EXIT_OK
