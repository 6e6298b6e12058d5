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
    _add_generate_flags(gen)

    models = sub.add_parser("models", help="list the models the studio can find")
    models.add_argument(
        "--dir",
        action="append",
        default=[],
        metavar="DIR",
        help="an A1111 or ComfyUI folder (or a folder of checkpoints) to look in too; repeatable "
        "(default: the studio's models folder and the folders added in the window)",
    )
    models.add_argument(
        "--hash",
        action="store_true",
        help="compute A1111's short model hashes (slow the first time; default: off)",
    )
    models.add_argument("--json", action="store_true", help="print JSON instead of a table (default: off)")
    from studio.cli.server_args import add_server_flags  # here: it imports this module's CliError

    add_server_flags(models)
    models.add_argument(
        "--find",
        action="store_true",
        help="look for other tools' model folders in their usual places under your home folder (A1111/Forge, "
        "ComfyUI and its extra_model_paths.yaml, InvokeAI, Stability Matrix) and list them; add one with --dir",
    )
    models.add_argument(
        "--embeddings",
        action="store_true",
        help="list the textual-inversion embeddings (embeddings/, models/embeddings) instead, with their family",
    )

    info = sub.add_parser("info", help="print the generation settings stored in an image as JSON")
    info.add_argument(
        "image",
        help="a PNG, JPEG or WebP from this studio, A1111/Forge, ComfyUI, SwarmUI, InvokeAI, Fooocus, NovelAI...",
    )

    export = sub.add_parser(
        "export", help="write an image as JPEG or WebP, keeping its settings (EXIF) and provenance (XMP)"
    )
    export.add_argument("image", nargs="+", metavar="IMAGE", help="the PNG(s) to export")
    export.add_argument("--format", choices=("jpeg", "webp"), default="jpeg", help="(default: jpeg)")
    export.add_argument("--out", required=True, metavar="DIR", help="the folder the files go in (required)")

    demo = sub.add_parser(
        "demo-models",
        help="write the tiny random-weight demo models into DIR and add DIR to the studio's model folders",
    )
    demo.add_argument(
        "dir",
        nargs="?",
        metavar="DIR",
        help="where to write them (default: demo/ in the studio's models folder)",
    )

    pose = sub.add_parser("pose", help="OpenPose files: render one as a ControlNet control image")
    pose_sub = pose.add_subparsers(dest="pose_command", required=True, parser_class=_Parser)
    render = pose_sub.add_parser("render", help="draw POSE.json as the openpose control image OUT.png")
    render.add_argument(
        "pose_file",
        metavar="POSE.json",
        help="an OpenPose JSON file (sd-webui-openpose-editor's, OpenPose's own with BODY_25, or ComfyUI's "
        "POSE_KEYPOINT)",
    )
    render.add_argument("out", metavar="OUT.png", help="the PNG to write")
    render.add_argument(
        "--size", help="WIDTHxHEIGHT of the image (default: the pose's canvas; needed when the file has none)"
    )
    return parser


def _add_generate_flags(gen: argparse.ArgumentParser) -> None:
    # Flags default to None ("not given") so --from-png settings show through; the defaults in the help are
    # those a new request starts from, read from the request itself.
    from studio.models.annotators import CANNY_DEFAULTS
    from studio.models.controlnets import CONTROL_TYPES
    from studio.request import ControlInput, GenerationRequest, HiresSettings, LoraRef

    new, hires, control = GenerationRequest(), HiresSettings(), ControlInput("", "")
    gen.add_argument(
        "--model",
        help="Hugging Face repo id, diffusers folder, .safetensors file, or a model name as listed by "
        "'diffusion-studio models' (required unless --from-png names one)",
    )
    gen.add_argument("--prompt", help="what to draw (default: empty)")
    gen.add_argument("--negative", help="what to avoid (default: empty)")
    gen.add_argument("--style", help="style preset, name or id (default: none)")
    gen.add_argument("--lighting", help="lighting preset, name or id (default: none)")
    gen.add_argument("--composition", help="composition preset, name or id (default: none)")
    gen.add_argument("--steps", type=int, help=f"denoising steps (default: {new.steps})")
    gen.add_argument(
        "--cfg", type=float, help=f"CFG scale: how closely to follow the prompt (default: {new.cfg_scale})"
    )
    gen.add_argument("--sampler", help=f'A1111 sampler name (default: "{new.sampler}")')
    gen.add_argument(
        "--clip-skip",
        type=int,
        help=f"A1111's Clip skip: 2 reads the text encoder's second-to-last layer (default: {new.clip_skip})",
    )
    gen.add_argument("--seed", type=int, help=f"seed; {new.seed} picks a random one (default: {new.seed})")
    gen.add_argument("--size", help=f"WIDTHxHEIGHT, e.g. 512x768 (default: {new.width}x{new.height})")
    gen.add_argument("--batch", type=int, help=f"images per batch (default: {new.batch_size})")
    gen.add_argument(
        "--batch-count",
        type=int,
        help=f"number of batches, run one after another (default: {new.batch_count})",
    )
    gen.add_argument("--init", help="init image for img2img (default: none, text to image)")
    gen.add_argument(
        "--strength", type=float, help=f"img2img denoising strength 0..1 (default: {new.strength})"
    )
    gen.add_argument(
        "--hires",
        type=float,
        metavar="SCALE",
        help=f"upscale & refine by SCALE, 1.25-2 (default: off; {hires.scale} "
        "when only --hires-strength or --hires-steps is given)",
    )
    gen.add_argument(
        "--hires-strength",
        type=float,
        help=f"denoising strength of the refine pass (default: {hires.strength})",
    )
    gen.add_argument("--hires-steps", type=int, help=f"steps of the refine pass (default: {hires.steps})")
    gen.add_argument(
        "--control",
        action="append",
        default=[],
        metavar="TYPE:IMAGE[:SCALE[:START:END]]",
        help=f"a ControlNet input, TYPE one of {', '.join(CONTROL_TYPES)}; "
        "openpose:POSE.json uses a pose file; "
        f"SCALE defaults to {control.scale:g}, START:END to {control.start:g}:{control.end:g}; repeatable "
        "(default: none)",
    )
    gen.add_argument(
        "--control-model",
        action="append",
        default=[],
        metavar="REF",
        help="the ControlNet of each --control, in order (default: none)",
    )
    low, high = CANNY_DEFAULTS
    gen.add_argument(
        "--canny-thresholds", metavar="LOW:HIGH", help=f"canny edge thresholds (default: {low}:{high})"
    )
    gen.add_argument("--mask", help="inpainting mask over --init, white = repaint (default: none)")
    gen.add_argument(
        "--mask-blur", type=int, help=f"feather the mask by this many pixels (default: {new.mask_blur})"
    )
    gen.add_argument(
        "--inpaint-area",
        choices=("whole", "masked"),
        help=f"repaint with the whole picture or only the masked area (default: {new.inpaint_area})",
    )
    gen.add_argument(
        "--inpaint-padding",
        type=int,
        help=f"pixels around the mask for --inpaint-area masked (default: {new.inpaint_padding})",
    )
    gen.add_argument(
        "--lora",
        action="append",
        default=[],
        metavar="PATH_OR_NAME[:WEIGHT]",
        help=f"apply a LoRA (a library name or a .safetensors path), weight -2..2 (default weight: "
        f"{LoraRef('').weight:g}); repeatable (default: none)",
    )
    gen.add_argument(
        "--lora-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="an A1111/ComfyUI root or LoRA folder to look in too; repeatable "
        "(default: the studio's LoRA folders)",
    )
    gen.add_argument(
        "--from-png",
        help="start from the settings stored in an image; other flags override them (default: none)",
    )
    gen.add_argument(
        "--preview-dir", metavar="DIR", help="save every step preview as a PNG here (default: none)"
    )
    gen.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow .ckpt/.pt checkpoints, read as weights only (default: off)",
    )
    gen.add_argument("--out", required=True, metavar="DIR", help="the folder the images go in (required)")
    from studio.cli.server_args import add_server_flags

    add_server_flags(gen)
    from studio.cli.performance_args import add_performance_flags

    add_performance_flags(gen)
