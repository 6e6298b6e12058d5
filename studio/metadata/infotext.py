"""A1111 "infotext": the settings text A1111, Forge and SD.Next put in the ``parameters`` PNG chunk.

Shape (modules/processing.py ``create_infotext``)::

    a knight in armor
    Negative prompt: blurry
    Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.0, Seed: 1234, Size: 512x512, ...

The prompt may span lines; the "Negative prompt:" line is there only when there is one; the last line is
``Key: value`` pairs, where a value holding ``,``, ``:`` or a newline is JSON-quoted (``infotext_utils.quote``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from studio import __version__
from studio.metadata.control_infotext import control_params, read_control_params
from studio.metadata.sampler_aliases import AUTOMATIC_SCHEDULE, SCHEDULE_SUFFIXES, split_schedule
from studio.prompt.lora_tags import find_extra_networks
from studio.request import GenerationRequest, HiresSettings, LoraRef

if TYPE_CHECKING:
    from studio.results import GenerationResult, ModelInfo

NEGATIVE_PREFIX = "Negative prompt:"
_PARAM = re.compile(r'\s*(\w[\w \-/.()+]*):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")
# A settings line must name at least one of these, so a prompt such as "style: oil, light: soft" stays a prompt.
_CORE_KEYS = {
    "Steps",
    "Sampler",
    "CFG scale",
    "Seed",
    "Size",
    "Model",
    "Model hash",
    "Version",
    "Schedule type",
}
# Read but deliberately not settings: they describe the file, not the picture.
_INFORMATIONAL_KEYS = {"Version", "Model hash", "App"}
LORA_HASHES_KEY = "Lora hashes"


def studio_version() -> str:
    """The studio's version for the ``Version`` key (from the package, so frozen builds know it too)."""
    return __version__


# --- writing --------------------------------------------------------------------------------------------


def quote(value: Any) -> str:
    """A1111's ``quote``: JSON-quote a value that would break the ``Key: value, ...`` line.

    A1111 quotes on ``,``, ``:`` and newlines; a ``"`` is added here so a value that happens to be wrapped in
    quotes reads back unchanged (A1111's reader unquotes such values too).
    """
    text = str(value)
    if any(ch in text for ch in ',:\n"'):
        return json.dumps(text, ensure_ascii=False)
    return text


def format_infotext(
    request: GenerationRequest,
    *,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    model: ModelInfo | None = None,
    loras: Sequence[LoraRef] = (),
    server: str = "",
) -> str:
    """The infotext A1111 would write for ``request``.

    ``prompt``/``negative_prompt`` are the final texts sent to the model (default: the request's own), ``model``
    what the engine loaded (its name and hash), ``loras`` the LoRAs applied with their A1111 short hashes
    (``Lora hashes: "name: 0123456789ab, ..."``). The seed is the request's: for one image of a batch, pass
    ``image_request``.
    """
    prompt = request.prompt if prompt is None else prompt
    negative = request.negative_prompt if negative_prompt is None else negative_prompt
    sampler, schedule = split_schedule(request.sampler)
    if schedule is None and sampler in AUTOMATIC_SCHEDULE:
        schedule = "Uniform"  # A1111's "Automatic" would mean Karras/Exponential for this sampler
    model_name = model.name if model is not None else request.model
    params: dict[str, Any] = {
        "Steps": request.steps,
        "Sampler": sampler,
        "Schedule type": schedule,
        "CFG scale": request.cfg_scale,
        "Seed": request.seed,
        "Size": f"{request.width}x{request.height}",
        "Model hash": model.hash10 if model is not None else None,
        "Model": model_name or None,
        "Denoising strength": None,
    }
    if request.is_img2img:
        params["Denoising strength"] = request.strength
    if request.hires is not None:
        if params["Denoising strength"] is None:
            params["Denoising strength"] = request.hires.strength
        else:
            params["Hires strength"] = request.hires.strength  # not A1111: img2img and hires at once
        params["Hires upscale"] = request.hires.scale
        params["Hires steps"] = request.hires.steps
        params["Hires upscaler"] = request.hires.upscaler
    params.update(control_params(request))
    params[LORA_HASHES_KEY] = format_lora_hashes(loras) or None
    params["Server"] = server or None  # which generation server made it (its name and address, never a token)
    params["Version"] = f"Diffusion Studio {studio_version()}"
    settings = ", ".join(f"{key}: {quote(value)}" for key, value in params.items() if value is not None)
    negative_line = f"\n{NEGATIVE_PREFIX} {negative}" if negative else ""
    return f"{prompt}{negative_line}\n{settings}".strip()


def image_request(result: GenerationResult, index: int) -> GenerationRequest:
    """The request that makes image ``index`` of ``result`` on its own: the request as run, with that image's seed.
    What both the infotext and the embedded request JSON of the image's PNG record."""
    return result.request.with_changes(seed=result.seeds[index])


def result_infotext(result: GenerationResult, index: int = 0) -> str:
    """The infotext of image ``index`` of ``result``: its final prompts, its own seed, the model used."""
    return format_infotext(
        image_request(result, index),
        prompt=result.prompt,
        negative_prompt=result.negative_prompt,
        model=result.model,
        loras=result.loras,
        server=result.server,
    )


def format_lora_hashes(loras: Sequence[LoraRef]) -> str:
    """A1111's ``Lora hashes`` value: ``name: hash`` pairs, the name without ``:`` or ``,`` as A1111 writes it."""
    pairs = []
    for lora in loras:
        if lora.hash10 and lora.enabled:
            pairs.append(f"{lora.name.replace(':', '').replace(',', '')}: {lora.hash10}")
    return ", ".join(pairs)


def parse_lora_hashes(value: str, prompt: str = "") -> list[LoraRef]:
    """The LoRAs named in a ``Lora hashes`` value, weighted as their ``<lora:...>`` tags in ``prompt`` (else 1)."""
    weights = {tag.name.strip().lower(): tag.weight for tag in find_extra_networks(prompt) if tag.is_lora}
    refs = []
    for item in value.split(","):
        name, _, short_hash = item.strip().rpartition(":")
        name, short_hash = name.strip(), short_hash.strip()
        if name and short_hash:
            weight = weights.get(name.lower())
            refs.append(LoraRef(name, 1.0 if weight is None else weight, True, short_hash))
    return refs


# --- reading --------------------------------------------------------------------------------------------


def parse_infotext(text: str) -> dict[str, str]:
    """Split infotext into ``{"Prompt": ..., "Negative prompt": ..., key: value, ...}``. Never raises.

    Unknown keys are kept. Lines after the settings line (some extensions add them) are kept under
    ``"Trailing text"``. Text without a settings line is all prompt.
    """
    if not isinstance(text, str):
        return {}
    lines = text.strip().replace("\r\n", "\n").replace("\r", "\n").split("\n")
    settings_at = None
    settings: dict[str, str] = {}
    for index in range(len(lines) - 1, -1, -1):
        parsed = _parse_settings_line(lines[index])
        if parsed is not None:
            settings_at, settings = index, parsed
            break
    body = lines if settings_at is None else lines[:settings_at]
    trailing = [] if settings_at is None else lines[settings_at + 1 :]
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in body:
        line = line.strip()
        if not in_negative and line.startswith(NEGATIVE_PREFIX):
            in_negative = True
            line = line[len(NEGATIVE_PREFIX) :].strip()
        (negative_lines if in_negative else prompt_lines).append(line)
    result = {"Prompt": "\n".join(prompt_lines), "Negative prompt": "\n".join(negative_lines)}
    for key, value in settings.items():
        result.setdefault(key, value)
    if any(line.strip() for line in trailing):
        result["Trailing text"] = "\n".join(trailing).strip()
    return result


def _parse_settings_line(line: str) -> dict[str, str] | None:
    """The ``Key: value`` pairs of ``line``, or ``None`` when it is not a settings line."""
    values: dict[str, str] = {}
    last_key = None
    pos = 0
    line = line.strip()
    while pos < len(line):
        match = _PARAM.match(line, pos)
        if match is None or match.end() == pos:
            if last_key is None:
                return None
            # An unquoted value with a comma (old or careless writers): glue the piece to the value before.
            end = line.find(",", pos)
            end = len(line) if end < 0 else end + 1
            values[last_key] += "," + line[pos:end].rstrip(",")
            pos = end
            continue
        key, value = match.group(1).strip(), match.group(2).strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            try:
                value = str(json.loads(value))
            except ValueError:
                pass
        values.setdefault(key, value)
        last_key = key
        pos = match.end()
    if len(values) < 3 or not _CORE_KEYS.intersection(values):
        return None
    return values


def infotext_to_request(params: Mapping[str, str]) -> tuple[GenerationRequest, list[str]]:
    """Map parsed infotext onto a request; every key that found no field is listed as ``"Key: value"``.

    Keys with no field are also kept in ``request.extras`` so nothing read is lost.
    """
    unmapped: list[str] = []
    extras: dict[str, str] = {}
    fields: dict[str, Any] = {}
    rest = {k: v for k, v in params.items() if k not in ("Prompt", "Negative prompt")}

    def take(key: str, convert: Any, field: str) -> None:
        if key not in rest:
            return
        raw = rest.pop(key)
        try:
            fields[field] = convert(raw)
        except (TypeError, ValueError):
            unmapped.append(f"{key}: {raw} (not a usable value)")

    fields["prompt"] = str(params.get("Prompt", ""))
    fields["negative_prompt"] = str(params.get("Negative prompt", ""))
    take("Steps", _to_int, "steps")
    take("CFG scale", float, "cfg_scale")
    take("Seed", _to_int, "seed")
    take("Model", str, "model")
    if "Size" in rest:
        size = rest.pop("Size")
        match = _SIZE.match(size)
        if match:
            fields["width"], fields["height"] = int(match.group(1)), int(match.group(2))
        else:
            unmapped.append(f"Size: {size} (not WIDTHxHEIGHT)")
    if LORA_HASHES_KEY in rest:
        fields["loras"] = tuple(parse_lora_hashes(rest.pop(LORA_HASHES_KEY), fields["prompt"]))
    sampler = _sampler(rest, unmapped)
    if sampler:
        fields["sampler"] = sampler
    hires = _hires(rest, fields, unmapped)
    if hires is not None:
        fields["hires"] = hires
    elif "Denoising strength" in rest:
        take("Denoising strength", float, "strength")
        if "strength" in fields:
            unmapped.append(
                f"Denoising strength: {fields['strength']} (an img2img setting; the source image is not in the file)"
            )
    read_control_params(rest, fields, unmapped)
    for key, value in rest.items():
        extras[key] = value
        if key not in _INFORMATIONAL_KEYS:
            unmapped.append(f"{key}: {_short(value)}")
    fields["extras"] = extras
    return GenerationRequest(**fields), unmapped


def _sampler(rest: dict[str, str], unmapped: list[str]) -> str | None:
    sampler = rest.pop("Sampler", "").strip()
    schedule = rest.pop("Schedule type", None)
    if not sampler:
        if schedule:
            unmapped.append(f"Schedule type: {schedule}")
        return None
    if schedule is None or split_schedule(sampler)[1] is not None:
        return sampler  # before A1111 1.9 the schedule was part of the sampler name
    schedule = schedule.strip()
    if schedule == "Automatic":
        schedule = AUTOMATIC_SCHEDULE.get(sampler, "Uniform")
    if schedule in SCHEDULE_SUFFIXES:
        return f"{sampler} {schedule}"
    if schedule != "Uniform":
        unmapped.append(f"Schedule type: {schedule} (the studio has no such schedule; '{sampler}' is used)")
    return sampler


def _hires(rest: dict[str, str], fields: dict[str, Any], unmapped: list[str]) -> HiresSettings | None:
    keys = ("Hires upscale", "Hires resize", "Hires steps", "Hires upscaler")
    if not any(key in rest for key in keys):
        return None
    changes: dict[str, Any] = {}
    try:
        if "Hires upscale" in rest:
            changes["scale"] = float(rest.pop("Hires upscale"))
        elif "Hires resize" in rest and fields.get("width"):
            size = _SIZE.match(rest["Hires resize"])
            if size:
                rest.pop("Hires resize")
                changes["scale"] = int(size.group(1)) / fields["width"]
        steps = _to_int(rest.pop("Hires steps", "0"))
        # A1111 writes no (or 0) hires steps when the second pass reuses the first pass's count.
        changes["steps"] = steps or fields.get("steps", GenerationRequest.steps)
        if "Hires upscaler" in rest:
            changes["upscaler"] = rest.pop("Hires upscaler")
        if "Denoising strength" in rest:
            changes["strength"] = float(rest.pop("Denoising strength"))
        if "Hires strength" in rest:
            fields["strength"] = fields.get("strength", changes.get("strength", HiresSettings.strength))
            changes["strength"] = float(rest.pop("Hires strength"))
    except (TypeError, ValueError):
        unmapped.append("Hires settings (not usable values)")
        return None
    return HiresSettings(**changes)


def _to_int(value: str) -> int:
    number = float(value) if not str(value).strip().lstrip("-").isdigit() else int(value)
    if isinstance(number, float) and not number.is_integer():
        raise ValueError(value)
    return int(number)


def _short(value: object, limit: int = 120) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
