"""``generate``'s flags turned into one GenerationRequest (``--from-png`` first, flags on top)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from studio.cli.folders import existing_folder
from studio.cli.parser import CliError
from studio.request import ControlInput, GenerationRequest, HiresSettings, LoraRef


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
        from studio.metadata.reader import read_image_settings

        settings = read_image_settings(Path(args.from_png), cli_lora_dirs(args))
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
        "clip_skip": "clip_skip",
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
        for ref in flags:
            check_lora_file(ref.name)
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
    from studio.models.controlnets import CONTROL_TYPES as known

    controls = []
    for spec, model in zip(specs, models, strict=True):
        kind, image, numbers = _split_control(spec)
        if kind not in known:
            raise CliError(
                f"Unknown control type '{kind}' in --control {spec}. Choose one of: {', '.join(known)}."
            )
        model_path = Path(resolve_controlnet_name(model)).expanduser()
        controls.append(
            ControlInput(
                type=kind,
                image=str(Path(image).expanduser().resolve()),
                model=str(model_path.resolve()) if model_path.exists() else str(model_path),
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


def check_lora_file(reference: str) -> None:
    """A ``--lora`` that names a file (a path, or a ``.safetensors`` name) must exist: the library is searched
    by name only, so a mistyped path would otherwise read as an unknown library name."""
    path = Path(reference).expanduser()
    if not ("/" in reference or "\\" in reference or path.suffix.lower() == ".safetensors"):
        return
    if not path.exists():
        raise CliError(f"The LoRA file '{reference}' does not exist. Check the path, or give a LoRA name.")
    if not path.is_file():
        raise CliError(
            f"--lora '{reference}' is a folder; give a LoRA file in it, or the folder with --lora-dir."
        )


def resolve_model_name(reference: str) -> str:
    """A bare name or short hash (as stored in other tools' metadata) is looked up among the discovered models."""
    path = Path(reference).expanduser()
    if path.exists() or "/" in reference or "\\" in reference:
        return str(path) if path.exists() else reference
    from studio.models.discovery import discover_models
    from studio.settings import load_settings

    settings, _ = load_settings()
    for entry in discover_models(settings.model_search_dirs()):
        if reference in (entry.name, Path(entry.reference).stem):
            return entry.reference
    return reference


def resolve_controlnet_name(reference: str) -> str:
    """A bare ControlNet name (``controlnet-sd15``, a file's stem) is looked up in the ControlNet folders the
    window lists from; paths and repo ids are kept as given."""
    if Path(reference).expanduser().exists() or "/" in reference or "\\" in reference:
        return reference
    from studio.models.controlnets import local_controlnets
    from studio.settings import load_settings

    settings, _ = load_settings()
    for path in local_controlnets(settings.controlnet_folders()):
        if reference in (path.name, path.stem):
            return str(path)
    return reference


def cli_lora_dirs(args: argparse.Namespace) -> list[str]:
    """``--lora-dir`` folders first, then the LoRA folders the window knows (from the preferences)."""
    from studio.settings import load_settings

    given = [str(existing_folder(folder, "--lora-dir")) for folder in args.lora_dir]
    settings, _ = load_settings()
    return list(dict.fromkeys([*given, *settings.lora_roots()]))
