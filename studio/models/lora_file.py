"""One LoRA file: its safetensors header, format, base family, trigger words, preview and A1111 hash. No torch.

Only the header is read (tensor names, shapes and the ``__metadata__`` strings). The base family is decided from
the tensors, never from the file name: text-encoder-2 keys, a 1280-wide text encoder or a 2048-wide UNet
cross-attention input mean SDXL; a 768-wide cross-attention input means SD 1.x. Kohya's own
``ss_base_model_version`` / ``modelspec.architecture`` decide when the shapes say nothing (the tiny test LoRAs).

The short hash is AUTOMATIC1111's "addnet" hash (modules/hashes.py ``addnet_hash_safetensors``): the SHA-256 of
the file after its header, so editing the metadata does not change it; A1111 writes its first 12 hex digits in
``Lora hashes``. Kohya stores the same digest as ``sshs_model_hash``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SHORT_HASH_LENGTH = 12
PREVIEW_SUFFIXES = (".preview.png", ".png", ".preview.jpg", ".jpg", ".jpeg", ".webp")
_MAX_HEADER = 100 * 1024 * 1024
_CHUNK = 1 << 20


class LoraFileError(ValueError):
    """A file that cannot be read as a safetensors LoRA; the message is a whole sentence."""


@dataclass(frozen=True)
class LoraEntry:
    """One LoRA file. ``problem`` is set (and ``family`` may be None) when it cannot be used."""

    name: str  # the file stem: what <lora:name:w> matches, case-insensitively
    path: Path
    size_bytes: int
    family: str | None = None  # "sd15" or "sdxl"
    format: str = "unknown"  # "kohya", "diffusers", "lycoris", "cloneofsimo", "unknown"
    triggers: tuple[str, ...] = ()
    title: str | None = None  # modelspec.title or ss_output_name
    preview: Path | None = None
    problem: str | None = None
    stored_hash: str | None = field(default=None, repr=False)  # sshs_model_hash as written by kohya

    @property
    def usable(self) -> bool:
        return self.problem is None

    def short_hash(self) -> str:
        """A1111's 12-digit LoRA hash (reads the whole file once per process)."""
        return addnet_hash(self.path)[:SHORT_HASH_LENGTH]


# --- reading one file ---------------------------------------------------------------------------------------


def read_header(path: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """The tensors (name -> {"dtype", "shape", ...}) and metadata of a safetensors file."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(8)
            if len(raw) < 8:
                raise LoraFileError(f"The file '{Path(path).name}' is too short to be a safetensors file.")
            (length,) = struct.unpack("<Q", raw)
            if length > _MAX_HEADER or length + 8 > os.fstat(handle.fileno()).st_size:
                raise LoraFileError(
                    f"The file '{Path(path).name}' is not a safetensors file or is truncated. Download it again."
                )
            header = json.loads(handle.read(length))
    except LoraFileError:
        raise
    except OSError as exc:
        raise LoraFileError(f"The file '{Path(path).name}' could not be read ({exc.strerror}).") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise LoraFileError(
            f"The file '{Path(path).name}' has a damaged safetensors header. Download it again."
        ) from exc
    if not isinstance(header, dict):
        raise LoraFileError(f"The file '{Path(path).name}' has a damaged safetensors header.")
    metadata = header.pop("__metadata__", None) or {}
    tensors = {k: v for k, v in header.items() if isinstance(v, dict) and "shape" in v}
    return tensors, {str(k): str(v) for k, v in metadata.items()}


_hash_cache: dict[tuple[str, int, int], str] = {}


def addnet_hash(path: Path) -> str:
    """The full SHA-256 of the file from the end of its safetensors header (A1111/kohya "addnet" hash)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            handle.seek(length + 8)
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        _hash_cache[key] = digest.hexdigest()
    return _hash_cache[key]


# LyCORIS algorithm -> the start of the key part after the layer name that marks it.
LYCORIS_MARKS = {
    "LoKr": ("lokr_",),
    "LoHa": ("hada_",),
    "LoCon": ("lora_mid.",),  # Tucker LoCon; a plain LoCon has kohya's lora_down/lora_up keys
    "Full": ("diff", "diff_b"),
    "OFT": ("oft_",),
    "IA3": ("on_input",),
    "GLoRA": ("a1.weight", "a2.weight", "b1.weight", "b2.weight"),
    "Norm": ("w_norm", "b_norm"),
}
SUPPORTED_LYCORIS = ("LoKr", "LoHa", "LoCon", "Full")  # what studio/engine/lycoris.py applies


def lycoris_algorithms(keys: Iterable[str]) -> tuple[str, ...]:
    """The LyCORIS algorithms a file's tensor names use, e.g. ``("LoKr",)``; empty for a plain LoRA."""
    suffixes = {key.partition(".")[2] for key in keys}

    def marked(suffix: str, mark: str) -> bool:  # a mark ending in "_" or "." starts the suffix, else is it
        return suffix.startswith(mark) if mark.endswith(("_", ".")) else suffix == mark

    return tuple(
        name
        for name, marks in LYCORIS_MARKS.items()
        if any(marked(suffix, mark) for suffix in suffixes for mark in marks)
    )


def lora_format(keys: Iterable[str]) -> str:
    """Which writer the tensor names come from."""
    keys = list(keys)
    if lycoris_algorithms(keys):
        return "lycoris"
    if any(k.startswith(("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")) for k in keys):
        return "kohya"
    if any(".lora_A." in k or ".lora_B." in k or ".lora.down." in k or "_lora.down." in k for k in keys):
        return "diffusers"
    if any(k.startswith(("unet:", "text_encoder:")) for k in keys):
        return "cloneofsimo"
    return "unknown"


# LoRA formats the engine cannot apply, with what the artist can do about it. This is the one place the studio
# decides it: the library marks such files when it scans (``LoraEntry.problem``), the LoRA tab refuses them with
# this reason and the engine stops on it. Supporting a format is removing it here.
UNSUPPORTED_FORMATS: dict[str, str] = {
    "cloneofsimo": (
        "'{file}' is in the early lora_diffusion format, which the studio cannot apply. Look for a newer release "
        "of it (most were re-published as ordinary LoRAs), or use another LoRA."
    ),
    "unknown": (
        "'{file}' holds no LoRA weights: it may be a checkpoint or an embedding put in the LoRA folder. Move it "
        "out of the LoRA folder (a checkpoint goes with the models)."
    ),
}


def format_problem(kind: str, file_name: str) -> str | None:
    """Why a LoRA of format ``kind`` (``lora_format``) cannot be used, in the artist's words; None: it can."""
    reason = UNSUPPORTED_FORMATS.get(kind)
    return reason.format(file=file_name) if reason else None


def _input_width(name: str, tensors: dict[str, dict]) -> int | None:
    """The input width of the layer a LoRA key adapts (down / A matrix, LoKr factors)."""
    shape = tensors[name]["shape"]
    if name.endswith(("lora_down.weight", "lora_A.weight", ".down.weight", ":down")) and len(shape) >= 2:
        return int(shape[1])
    if name.endswith(".lokr_w1_b") or name.endswith(".lokr_w1"):
        prefix = name.rsplit(".", 1)[0]
        w2 = tensors.get(prefix + ".lokr_w2_b") or tensors.get(prefix + ".lokr_w2")
        if w2 and len(shape) >= 2 and len(w2["shape"]) >= 2:
            return int(shape[1]) * int(w2["shape"][1])
    return None


def detect_family(tensors: dict[str, dict], metadata: dict[str, str]) -> str | None:
    """ "sd15", "sdxl" or None, from tensor names and shapes first, kohya's metadata second."""
    keys = list(tensors)
    if any(k.startswith(("lora_te2_", "lora_te1_", "text_encoder_2.", "te2.")) for k in keys):
        return "sdxl"
    widths: Counter[int | str] = Counter()
    for name in keys:
        width = _input_width(name, tensors)
        if width is None:
            continue
        if name.startswith(("lora_te", "text_encoder", "te.")):
            widths["te1280" if width == 1280 else "te768" if width == 768 else "te"] += 1
        elif width in (768, 1024, 2048):  # only cross-attention reads these widths (UNet channels differ)
            widths[width] += 1
    if widths[2048] or widths["te1280"]:
        return "sdxl"
    if widths[768]:
        return "sd15"
    if widths[1024]:
        return "sd2"
    hint = (
        metadata.get("modelspec.architecture", "") + " " + metadata.get("ss_base_model_version", "")
    ).lower()
    if "xl" in hint:
        return "sdxl"
    if "v1" in hint or "sd_1" in hint:
        return "sd15"
    if widths["te768"]:
        return "sd15"  # a text-encoder-only LoRA with one 768-wide encoder
    return None


def trigger_words(metadata: dict[str, str], limit: int = 8) -> tuple[str, ...]:
    """Trigger words from the metadata: ``modelspec.trigger_phrase`` first, then kohya's most frequent tags."""
    words: list[str] = []
    phrase = metadata.get("modelspec.trigger_phrase", "").strip()
    if phrase:
        words.extend(part.strip() for part in phrase.split(",") if part.strip())
    try:
        frequency = json.loads(metadata.get("ss_tag_frequency", "{}"))
    except ValueError:
        frequency = {}
    counts: Counter[str] = Counter()
    if isinstance(frequency, dict):
        for tags in frequency.values():
            if isinstance(tags, dict):
                for tag, count in tags.items():
                    if isinstance(count, (int, float)) and math.isfinite(count):
                        counts[str(tag).strip()] += int(count)
    for tag, _count in counts.most_common():
        if len(words) >= limit:
            break
        if tag and tag not in words:
            words.append(tag)
    return tuple(words)


def _unsupported_lycoris(tensors: dict[str, dict]) -> list[str]:
    return [name for name in lycoris_algorithms(tensors) if name not in SUPPORTED_LYCORIS]


def find_preview(path: Path) -> Path | None:
    """A preview image beside the LoRA (name.preview.png, name.png, name.jpg, ...)."""
    for suffix in PREVIEW_SUFFIXES:
        candidate = path.with_name(path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def inspect_lora(path: Path) -> LoraEntry:
    """Read one LoRA file's header. Never raises: an unusable file comes back with ``problem`` set."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return LoraEntry(
            path.stem, path, 0, problem=f"The file '{path.name}' could not be read ({exc.strerror})."
        )
    try:
        tensors, metadata = read_header(path)
    except LoraFileError as exc:
        return LoraEntry(path.stem, path, size, problem=str(exc), preview=find_preview(path))
    kind = lora_format(tensors)
    family = detect_family(tensors, metadata)
    problem = format_problem(kind, path.name)
    if problem is None and kind == "lycoris" and (unsupported := _unsupported_lycoris(tensors)):
        problem = (
            f"'{path.name}' uses LyCORIS {' and '.join(unsupported)} layers, which the studio cannot apply "
            f"(it applies {', '.join(SUPPORTED_LYCORIS)}). Use another version of this LoRA."
        )
    elif problem is None and family == "sd2":
        problem = f"'{path.name}' is a LoRA for Stable Diffusion 2.x, which the studio does not run."
        family = None
    title = metadata.get("modelspec.title") or metadata.get("ss_output_name") or None
    return LoraEntry(
        name=path.stem,
        path=path,
        size_bytes=size,
        family=family,
        format=kind,
        triggers=trigger_words(metadata),
        title=title,
        preview=find_preview(path),
        problem=problem,
        stored_hash=metadata.get("sshs_model_hash") or None,
    )
