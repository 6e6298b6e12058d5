"""The command line: ``diffusion-studio generate | models | info | demo-models | pose render``.

Bad input exits 2 with one clear line on stderr, Ctrl+C cancels cleanly and exits 130, and nothing prints a
traceback: unexpected failures write it to the log file and say where.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from studio.errors import StudioError
from studio.request import ControlInput, GenerationRequest, HiresSettings, LoraRef

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130

log = logging.getLogger("studio.cli")


class CliError(StudioError):
    """Bad command-line input."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the whole usage block; one line that says what is wrong is kinder.
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="diffusion-studio", description="Diffusion Studio: an AI image studio for artists.")
    parser.add_argument("--self-test", metavar="OUT_DIR", help="run the offscreen self-test and print JSON")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    gen = sub.add_parser("generate", help="generate images from a prompt")
    gen.add_argument(
        "--model", help="Hugging Face repo id, diffusers folder, .safetensors file, or a known model name"
    )
    gen.add_argument("--prompt", help="what to draw")
    gen.add_argument("--negative", help="what to avoid")
    gen.add_argument("--style", help="style preset (name or id)")
    gen.add_argument("--lighting", help="lighting preset (name or id)")
    gen.add_argument("--composition", help="composition preset (name or id)")
    gen.add_argument("--steps", type=int)
    gen.add_argument("--cfg", type=float, help="CFG scale")
    gen.add_argument("--sampler", help='A1111 sampler name, e.g. "DPM++ 2M Karras"')
    gen.add_argument("--seed", type=int, help="-1 for random")
    gen.add_argument("--size", help="WIDTHxHEIGHT, e.g. 512x768")
    gen.add_argument("--batch", type=int, help="images per batch")
    gen.add_argument("--batch-count", type=int, help="number of batches")
    gen.add_argument("--init", help="init image for img2img")
    gen.add_argument("--strength", type=float, help="img2img denoising strength 0..1")
    gen.add_argument("--hires", type=float, metavar="SCALE", help="upscale & refine by SCALE (1.25-2)")
    gen.add_argument("--hires-strength", type=float)
    gen.add_argument("--hires-steps", type=int)
    gen.add_argument(
        "--control",
        action="append",
        default=[],
        metavar="TYPE:IMAGE[:SCALE[:START:END]]",
        help="a ControlNet input (scribble, lineart, canny, openpose, depth...); openpose:POSE.json uses a pose file",
    )
    gen.add_argument(
        "--control-model",
        action="append",
        default=[],
        metavar="REF",
        help="the ControlNet of each --control, in order",
    )
    gen.add_argument("--canny-thresholds", metavar="LOW:HIGH", help="canny edge thresholds (default 100:200)")
    gen.add_argument("--mask", help="inpainting mask over --init (white = repaint)")
    gen.add_argument("--mask-blur", type=int, help="feather the mask by this many pixels (default 4)")
    gen.add_argument(
        "--inpaint-area",
        choices=("whole", "masked"),
        help="repaint with the whole picture or only the masked area",
    )
    gen.add_argument("--inpaint-padding", type=int, help="pixels around the mask for --inpaint-area masked")
    gen.add_argument(
        "--lora",
        action="append",
        default=[],
        metavar="PATH_OR_NAME[:WEIGHT]",
        help="apply a LoRA (a library name or a .safetensors path), weight -2..2, default 1; repeatable",
    )
    gen.add_argument(
        "--lora-dir", action="append", default=[], metavar="DIR", help="an A1111/ComfyUI root or LoRA folder"
    )
    gen.add_argument(
        "--from-png", help="start from the settings stored in an image; other flags override them"
    )
    gen.add_argument("--preview-dir", help="save every step preview as a PNG here")
    gen.add_argument("--allow-pickle", action="store_true", help="allow .ckpt/.pt checkpoints (weights only)")
    gen.add_argument("--out", required=True, help="output folder")

    models = sub.add_parser("models", help="list the models the studio can find")
    models.add_argument(
        "--dir", action="append", default=[], help="an A1111 or ComfyUI folder to look in too"
    )
    models.add_argument(
        "--hash", action="store_true", help="compute short hashes of single files (slow once)"
    )
    models.add_argument("--json", action="store_true", help="print JSON")

    info = sub.add_parser("info", help="print the generation settings stored in an image as JSON")
    info.add_argument("image")

    demo = sub.add_parser("demo-models", help="write the tiny random-weight demo models into DIR")
    demo.add_argument("dir")

    pose = sub.add_parser("pose", help="OpenPose files: render one as a ControlNet control image")
    pose_sub = pose.add_subparsers(dest="pose_command", required=True, parser_class=_Parser)
    render = pose_sub.add_parser("render", help="draw POSE.json as the openpose control image OUT.png")
    render.add_argument("pose_file", metavar="POSE.json")
    render.add_argument("out", metavar="OUT.png")
    render.add_argument("--size", help="WIDTHxHEIGHT of the image (default: the pose's canvas)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
    except Exception as exc:  # a bug: keep the traceback for the log, show one line
        where = _log_exception(exc)
        print(
            f"diffusion-studio: unexpected error: {exc.__class__.__name__}: {exc} (details in {where})",
            file=sys.stderr,
        )
        return EXIT_FAILED


# --- generate -----------------------------------------------------------------------------------------------


def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise CliError(f"--size must look like 512x768, not '{text}'.")
    return int(parts[0]), int(parts[1])


def request_from_args(args: argparse.Namespace) -> tuple[GenerationRequest, list[str]]:
    """Build the request: the image's settings (``--from-png``) first, then every flag given on top."""
    notes: list[str] = []
    base = GenerationRequest()
    if args.from_png:
        from studio.prompt.metadata_read import read_image_settings

        settings = read_image_settings(Path(args.from_png), args.lora_dir)
        if settings.source == "none":
            raise CliError(f"'{args.from_png}' holds no generation settings this studio can read.")
        base = settings.request
        notes += [f"not restored from {Path(args.from_png).name}: {item}" for item in settings.unmapped]
    changes: dict[str, Any] = {}
    simple = {
        "model": "model",
        "prompt": "prompt",
        "negative": "negative_prompt",
        "steps": "steps",
        "cfg": "cfg_scale",
        "sampler": "sampler",
        "seed": "seed",
        "batch": "batch_size",
        "batch_count": "batch_count",
        "strength": "strength",
        "mask_blur": "mask_blur",
        "inpaint_area": "inpaint_area",
        "inpaint_padding": "inpaint_padding",
    }
    for flag, field_name in simple.items():
        value = getattr(args, flag)
        if value is not None:
            changes[field_name] = value
    for kind in ("style", "lighting", "composition"):
        value = getattr(args, kind)
        if value is not None:
            from studio.prompt.presets import find_preset

            changes[kind] = None if value.lower() in ("", "none") else find_preset(kind, value).id
    if args.size:
        changes["width"], changes["height"] = parse_size(args.size)
    if args.init:
        changes["init_image"] = str(Path(args.init).resolve())
    if args.mask:
        changes["mask"] = str(Path(args.mask).resolve())
    if args.control or args.control_model:
        changes["controls"] = parse_controls(args.control, args.control_model, args.canny_thresholds)
    if args.hires is not None or args.hires_strength is not None or args.hires_steps is not None:
        hires = base.hires or HiresSettings()
        if args.hires is not None:
            if not 1.0 <= args.hires <= 4.0:
                raise CliError(
                    f"--hires is an upscale factor between 1.25 and 2 (up to 4), not {args.hires}."
                )
            hires = HiresSettings(args.hires, hires.strength, hires.steps, hires.upscaler)
        if args.hires_strength is not None:
            hires = HiresSettings(hires.scale, args.hires_strength, hires.steps, hires.upscaler)
        if args.hires_steps is not None:
            hires = HiresSettings(hires.scale, hires.strength, args.hires_steps, hires.upscaler)
        changes["hires"] = hires
    if args.lora:
        flags = [parse_lora_arg(text) for text in args.lora]
        named = {ref.name.lower() for ref in flags}
        changes["loras"] = (*(r for r in base.loras if r.name.lower() not in named), *flags)
    request = base.with_changes(**changes)
    if not request.model:
        raise CliError(
            "No model given: pass --model (a Hugging Face repo id, a folder or a .safetensors file)."
        )
    request = request.with_changes(model=resolve_model_name(request.model))
    return request, notes


def parse_controls(specs: list[str], models: list[str], canny: str | None = None) -> tuple[ControlInput, ...]:
    """``--control TYPE:IMAGE[:SCALE[:START:END]]`` flags paired in order with ``--control-model REF`` flags."""
    if len(specs) != len(models):
        raise CliError(
            f"Each --control needs its own --control-model, in the same order ({len(specs)} --control, "
            f"{len(models)} --control-model)."
        )
    params: dict[str, int] = {}
    if canny:
        low, _, high = canny.partition(":")
        if not (low.strip().isdigit() and high.strip().isdigit()):
            raise CliError(f"--canny-thresholds must look like 100:200, not '{canny}'.")
        params = {"low_threshold": int(low), "high_threshold": int(high)}
    controls = []
    for spec, model in zip(specs, models, strict=True):
        kind, image, numbers = _split_control(spec)
        model_path = Path(model).expanduser()
        controls.append(
            ControlInput(
                type=kind,
                image=str(Path(image).expanduser().resolve()),
                model=str(model_path.resolve()) if model_path.exists() else model,
                source="pose" if image.lower().endswith(".json") else "image",
                scale=numbers[0] if numbers else 1.0,
                start=numbers[1] if len(numbers) > 1 else 0.0,
                end=numbers[2] if len(numbers) > 1 else 1.0,
                params=params if kind == "canny" else {},
            )
        )
    return tuple(controls)


def _split_control(spec: str) -> tuple[str, str, list[float]]:
    kind, _, rest = spec.partition(":")
    if not kind or not rest:
        raise CliError(
            f"--control must look like TYPE:IMAGE[:SCALE[:START:END]], e.g. canny:photo.png:0.8, not '{spec}'."
        )
    # Numbers are peeled off the end, so an image path may itself hold a colon (C:\sketch.png).
    for count in (3, 1):
        parts = rest.rsplit(":", count)
        if len(parts) == count + 1:
            try:
                numbers = [float(part) for part in parts[1:]]
            except ValueError:
                continue
            return kind.strip().lower(), parts[0], numbers
    return kind.strip().lower(), rest, []


def parse_lora_arg(text: str) -> LoraRef:
    """``--lora NAME``, ``NAME:0.8`` or ``PATH:0.8`` as a LoraRef (a Windows drive colon is not a weight)."""
    head, colon, tail = text.strip().rpartition(":")
    if not colon or (len(head) == 1 and head.isalpha()):
        name, weight = text.strip(), 1.0
    else:
        try:
            name, weight = head, float(tail)
        except ValueError:
            raise CliError(
                f"--lora takes NAME[:WEIGHT] with a number as the weight, e.g. ink:0.8; not '{text}'."
            ) from None
    if not name:
        raise CliError(f"--lora needs a LoRA name or file before the weight, not '{text}'.")
    return LoraRef(name, weight)


def resolve_model_name(reference: str) -> str:
    """A bare name or short hash (as stored in other tools' metadata) is looked up among the discovered models."""
    path = Path(reference).expanduser()
    if path.exists() or "/" in reference or "\\" in reference:
        return str(path) if path.exists() else reference
    from studio.engine.discovery import discover_models

    for entry in discover_models():
        if reference in (entry.name, Path(entry.reference).stem):
            return entry.reference
    return reference


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
        engine = Engine(allow_pickle=args.allow_pickle, lora_dirs=tuple(args.lora_dir))
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


# --- models, info, demo-models ------------------------------------------------------------------------------


def _human_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def cmd_models(args: argparse.Namespace) -> int:
    from studio.engine.discovery import discover_models

    entries = discover_models([Path(d) for d in args.dir])
    rows = []
    for entry in entries:
        hash10 = entry.hash10 if not args.hash else entry.hash()
        rows.append(
            {
                "name": entry.name,
                "family": entry.family,
                "kind": entry.kind,
                "size_bytes": entry.size_bytes,
                "hash10": hash10,
                "reference": entry.reference,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print(
            "No models found. Try: diffusion-studio demo-models DIR, or --dir with an A1111/ComfyUI folder."
        )
        return EXIT_OK
    for row in rows:
        print(
            f"{row['name']:<40} {row['family'] or '?':<6} {_human_size(row['size_bytes']):>9} "
            f"{row['hash10'] or '-':<10} {row['reference']}"
        )
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    from studio.prompt.metadata_read import read_image_settings

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
    from studio.engine.tiny_models import DEMO_LABEL, write_demo_models

    written = write_demo_models(Path(args.dir))
    for name, path in written.items():
        print(f"{name}: {path}")
    print(f"These are tiny models with {DEMO_LABEL}.", file=sys.stderr)
    return EXIT_OK


def _log_exception(exc: BaseException) -> Path:
    from studio.paths import log_file

    path = log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
        log.addHandler(handler)
        log.error("unexpected error", exc_info=exc)
        log.removeHandler(handler)
        handler.close()
    except OSError:
        pass
    return path


# --- pose -----------------------------------------------------------------------------------------------------


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
        raise CliError(f"The control image is written as PNG; name it '{out.stem}.png' instead of '{out.name}'.")
    import io

    buffer = io.BytesIO()
    render_pose(pose, width, height).save(buffer, format="PNG")
    try:
        atomic_write_bytes(out, buffer.getvalue())
    except OSError as exc:
        raise CliError(f"Could not write '{out}': {exc.strerror or exc}. Choose another folder.") from exc
    print(f"{out} ({width}x{height}, {len(pose.people)} {'person' if len(pose.people) == 1 else 'people'})")
    return EXIT_OK
