"""The one request type: everything a generation needs.

The GUI, the CLI, the job queue, the autosaved session and the PNG metadata all pass ``GenerationRequest``
around and nothing else. It is frozen so a queued job cannot change under the worker; use
``dataclasses.replace`` (or ``request.with_changes``) to derive a new one.

JSON form: ``{"version": N, ...fields}``. When a field is added, bump ``SCHEMA_VERSION`` and add a migration
from the previous version to ``_MIGRATIONS`` so old sessions and old PNGs still restore.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from studio.errors import RequestError

SCHEMA_VERSION = 3

RANDOM_SEED = -1
"""The ``seed`` that asks for a new random seed at every run (A1111's -1); the result carries the seed used."""
RANDOM_SEED_LIMIT = 2**32
"""Random seeds are drawn below this: 32-bit, as A1111's are, so they are short enough to read and retype."""
SEED_MAX = 2**64 - 1
"""The largest seed a request holds, typed or read from a file. Not 32-bit like random seeds: torch's generators
take 64-bit seeds and ComfyUI and InvokeAI write such seeds into their PNGs, which must reproduce as they are."""


@dataclass(frozen=True)
class HiresSettings:
    """Upscale & refine: a second img2img pass over the upscaled first result ("hires fix")."""

    scale: float = 1.5
    strength: float = 0.5
    steps: int = 15
    upscaler: str = "Lanczos"

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """The refined size, rounded down to a multiple of 8 as the VAE needs."""
        return (int(width * self.scale) // 8 * 8, int(height * self.scale) // 8 * 8)


@dataclass(frozen=True)
class ControlInput:
    """One ControlNet input: what structure to follow, from where, through which ControlNet, how strongly.

    ``type`` is the control kind ("scribble", "lineart", "canny", "openpose", "depth", "softedge", ...).
    ``source`` says where ``image`` comes from: "canvas" (the sketch canvas saved as a PNG), "image" (a photo or a
    ready control map) or "pose" (an OpenPose JSON file). ``preprocessor`` "auto" converts the source the way
    ``type`` needs (invert a black-on-white sketch, run the canny detector...), "none" uses it as it is.
    ``params`` holds the pre-processor's settings (e.g. canny thresholds). ``start``/``end`` are the fractions of
    the denoising steps during which the ControlNet acts. ``enabled`` False keeps a control the artist switched
    off in the request (so it survives restarts) without using it: the engine and the metadata skip it.
    """

    type: str
    image: str
    model: str = ""
    source: str = "image"
    scale: float = 1.0
    start: float = 0.0
    end: float = 1.0
    preprocessor: str = "auto"
    params: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True)
class LoraRef:
    """A LoRA to apply: a library name or a file path, its weight, and whether it is switched on."""

    name: str
    weight: float = 1.0
    enabled: bool = True
    hash10: str | None = None  # A1111's short LoRA hash, recorded so metadata can find it again


@dataclass(frozen=True)
class GenerationRequest:
    """One generation, fully described.

    ``model`` is a reference as the artist gave it: a Hugging Face repo id, a diffusers folder or a single
    checkpoint file. ``sampler`` is an A1111 sampler name ("DPM++ 2M Karras"). ``seed`` ``RANDOM_SEED`` means
    random; the engine's result carries the seed actually used, and image ``i`` uses ``seed + i``.
    ``init_image`` (a file path) turns on img2img with ``strength``.
    """

    model: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    style: str | None = None
    lighting: str | None = None
    composition: str | None = None
    seed: int = RANDOM_SEED
    steps: int = 25
    cfg_scale: float = 7.0
    sampler: str = "DPM++ 2M Karras"
    width: int = 512
    height: int = 512
    batch_size: int = 1
    batch_count: int = 1
    init_image: str | None = None
    strength: float = 0.75
    hires: HiresSettings | None = None
    controls: tuple[ControlInput, ...] = ()
    loras: tuple[LoraRef, ...] = ()
    mask: str | None = None
    """Inpainting mask (white = repaint) over ``init_image``; None means no inpainting."""
    mask_blur: int = 4
    inpaint_area: str = "whole"
    """"whole" repaints with the whole picture as context; "masked" works on the masked area only, upscaled."""
    inpaint_padding: int = 32
    clip_skip: int = 1
    """A1111's "Clip skip": 1 uses the text encoder's last layer, 2 the one before (SD 1.x; SDXL: see prompt_embeds)."""
    extras: Mapping[str, Any] = field(default_factory=dict)
    """Settings from another tool that have no field here yet; kept so nothing read is lost."""

    def with_changes(self, **changes: Any) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    @property
    def is_img2img(self) -> bool:
        return self.init_image is not None

    @property
    def active_controls(self) -> tuple[ControlInput, ...]:
        """The controls switched on: the only ones the engine uses and the metadata records."""
        return tuple(c for c in self.controls if c.enabled)

    @property
    def images_total(self) -> int:
        return self.batch_size * self.batch_count

    def image_seeds(self, batch: int | None = None) -> list[int]:
        """The seed of each image, A1111's way (``seed``, ``seed + 1``, ...); with ``batch``, only the seeds of
        that pipeline call (``batch_size`` images). The seed must be fixed: a random one is picked first."""
        if self.seed == RANDOM_SEED:
            raise ValueError("a random seed has no image seeds until one is picked")
        if batch is None:
            return [self.seed + i for i in range(self.images_total)]
        first = self.seed + batch * self.batch_size
        return list(range(first, first + self.batch_size))

    # --- JSON -------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": SCHEMA_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                value = dataclasses.asdict(value)
            elif isinstance(value, tuple):
                value = [
                    dataclasses.asdict(item)
                    if dataclasses.is_dataclass(item) and not isinstance(item, type)
                    else item
                    for item in value
                ]
            elif isinstance(value, Mapping):
                value = dict(value)
            data[f.name] = value
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationRequest:
        """Build a request from its JSON form, migrating older versions. Unknown keys go to ``extras``."""
        if not isinstance(data, Mapping):
            raise RequestError(f"Request data must be a JSON object, not {type(data).__name__}.")
        data = migrate(dict(data))
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        extras: dict[str, Any] = dict(data.get("extras") or {})
        for key, value in data.items():
            if key in ("version", "extras"):
                continue
            if key not in known:
                extras[key] = value
                continue
            kwargs[key] = _coerce(key, value)
        kwargs["extras"] = extras
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> GenerationRequest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RequestError(
                f"The saved request is not valid JSON ({exc.msg} at line {exc.lineno})."
            ) from exc
        return cls.from_dict(data)


_INT_FIELDS = {
    "seed",
    "steps",
    "width",
    "height",
    "batch_size",
    "batch_count",
    "mask_blur",
    "inpaint_padding",
    "clip_skip",
}
_FLOAT_FIELDS = {"cfg_scale", "strength"}
_STR_FIELDS = {"model", "prompt", "negative_prompt", "sampler", "inpaint_area"}
_OPTIONAL_STR_FIELDS = {"style", "lighting", "composition", "init_image", "mask"}
_LIST_FIELDS = {"controls": ControlInput, "loras": LoraRef}


def _coerce(key: str, value: Any) -> Any:
    """Turn a JSON value into the field's type, or say which field is wrong."""
    try:
        if key in _INT_FIELDS:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if key in _FLOAT_FIELDS:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if key in _STR_FIELDS:
            if not isinstance(value, str):
                raise ValueError
            return value
        if key in _OPTIONAL_STR_FIELDS:
            if value is not None and not isinstance(value, str):
                raise ValueError
            return value or None
        if key == "hires":
            if value is None:
                return None
            if not isinstance(value, Mapping):
                raise ValueError
            names = {f.name for f in fields(HiresSettings)}
            return HiresSettings(**{k: v for k, v in value.items() if k in names})
        if key in _LIST_FIELDS:
            item_type = _LIST_FIELDS[key]
            names = {f.name for f in fields(item_type)}
            if not isinstance(value, (list, tuple)) or not all(isinstance(item, Mapping) for item in value):
                raise ValueError
            return tuple(item_type(**{k: v for k, v in item.items() if k in names}) for item in value)
    # OverflowError: JSON's Infinity read into an int field (int(float("inf"))).
    except (TypeError, ValueError, OverflowError) as exc:
        raise RequestError(f"The request field '{key}' has an unusable value: {value!r}.") from exc
    return value


# --- migrations -------------------------------------------------------------------------------------------

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # Version 2 added ControlNet inputs, LoRAs and inpainting; a version-1 request used none of them.
    return {**data, "controls": [], "loras": [], "mask": None}


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    # Version 3 added clip skip; before it the text encoder's last layer was always used.
    return {**data, "clip_skip": 1}


# _MIGRATIONS[n] turns a version-n dict into a version-(n+1) dict.
_MIGRATIONS: dict[int, Migration] = {1: _v1_to_v2, 2: _v2_to_v3}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a request dict from any older schema version up to ``SCHEMA_VERSION``."""
    version = data.get("version", SCHEMA_VERSION)
    if not isinstance(version, int) or version < 1:
        raise RequestError(f"The saved request has an unknown version {version!r}.")
    if version > SCHEMA_VERSION:
        raise RequestError(
            f"The saved request was written by a newer Diffusion Studio (format {version}, this one reads up to "
            f"{SCHEMA_VERSION}). Update the studio to open it."
        )
    while version < SCHEMA_VERSION:
        data = _MIGRATIONS[version](data)
        version += 1
        data["version"] = version
    return data
