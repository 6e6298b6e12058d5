"""The argument parser: one clear line for bad flags (exit 2), never the whole usage block."""

from __future__ import annotations

import argparse
from typing import NoReturn

from studio.errors import StudioError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130


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
