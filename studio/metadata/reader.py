"""Settings read back from an image (ours or another tool's) or from pasted text.

Tried in order: our own ``diffusion_studio`` chunk (restores exactly); A1111/Forge/SD.Next infotext (and
Fooocus, which shares the ``parameters`` key); a ComfyUI ``prompt`` graph; InvokeAI 3.x ``invokeai_metadata``,
2.3 ``sd-metadata`` and legacy ``Dream``; NovelAI ``Description``/``Comment``. What cannot be mapped onto a
``GenerationRequest`` is listed in ``ImageSettings.unmapped`` as readable text and kept in ``request.extras``.
"""

from __future__ import annotations

import ast
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.errors import MetadataError, StudioError
from studio.metadata.comfyui import comfyui_settings
from studio.metadata.field_mapper import FieldMapper, Found, json_object
from studio.metadata.infotext import infotext_to_request, parse_infotext
from studio.metadata.invokeai import dream_settings, invokeai3_settings, sd_metadata_settings
from studio.metadata.png_chunks import (
    MAX_TEXT_BYTES,
    PARAMETERS_KEY,
    STUDIO_KEY,
    TextChunks,
    read_text_chunks,
)
from studio.request import GenerationRequest, LoraRef

log = logging.getLogger(__name__)

SOURCES = ("diffusion-studio", "a1111", "comfyui", "invokeai", "fooocus", "novelai", "sdnext", "none")


@dataclass(frozen=True)
class ImageSettings:
    """What an image says about how it was made.

    ``source`` is one of ``SOURCES``; ``unmapped`` lists, readably, what had no place in the request;
    ``raw`` holds the text chunks as found.
    """

    request: GenerationRequest
    source: str
    unmapped: list[str] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)


def read_image_settings(
    path: str | os.PathLike[str], lora_dirs: Sequence[str | os.PathLike[str]] = ()
) -> ImageSettings:
    """The settings stored in the image at ``path``.

    LoRAs it names (A1111's ``Lora hashes``) are looked up in the LoRA library (the studio's own folder and
    ``lora_dirs``): found ones go into ``request.loras``, missing ones into ``unmapped``. A text too large to
    read is left out and named in ``unmapped``. Raises ``MetadataError`` for a file that is not an image, and
    for one whose only settings are too large to read (saying so beats "holds no settings").
    """
    chunks = read_text_chunks(path)
    settings = settings_from_chunks(chunks, lora_dirs)
    if settings.source == "none" and chunks.left_out:
        raise MetadataError(
            f"The settings in '{os.path.basename(path)}' could not be read: {chunks.left_out[0]}. Choose another "
            "image, or type the settings you need."
        )
    return settings


def read_settings_text(text: str) -> ImageSettings:
    """Settings from pasted text: A1111 infotext, our request JSON, a ComfyUI graph, InvokeAI/Fooocus/NovelAI
    JSON or an InvokeAI ``Dream`` line. Never raises; text over ``MAX_TEXT_BYTES`` is not read (and said)."""
    text = text if isinstance(text, str) else ""
    if len(text) > MAX_TEXT_BYTES:
        note = f"the pasted text ({len(text):,} characters) is larger than the studio reads as settings"
        return ImageSettings(request=GenerationRequest(), source="none", unmapped=[note])
    return settings_from_chunks(_chunks_for_text(text))


def settings_from_chunks(
    raw: Mapping[str, str], lora_dirs: Sequence[str | os.PathLike[str]] = ()
) -> ImageSettings:
    """Pick the dialect from the chunk keys and map it. Never raises.

    The texts a reader left out for their size (``TextChunks.left_out``) lead the ``unmapped`` notes.
    """
    notes: list[str] = list(raw.left_out) if isinstance(raw, TextChunks) else []
    raw = {str(k): str(v) for k, v in raw.items()}
    for what, reader in _READERS:
        try:
            found = reader(raw, notes)
        except Exception as exc:  # noqa: BLE001 - one tool's odd file must not stop the others being tried
            log.warning("Reading the %s failed", what, exc_info=True)
            notes.append(f"The {what} in this image could not be read ({type(exc).__name__}: {exc}).")
            continue
        if found is not None:
            request, source, unmapped = found
            if request.loras and source != "diffusion-studio":
                request = _match_loras(request, lora_dirs, unmapped)
            return ImageSettings(request=request, source=source, unmapped=notes + unmapped, raw=raw)
    return ImageSettings(request=GenerationRequest(), source="none", unmapped=notes, raw=raw)


def _ours(raw: dict[str, str], notes: list[str]) -> Found | None:
    if STUDIO_KEY not in raw:
        return None
    try:
        return GenerationRequest.from_json(raw[STUDIO_KEY]), "diffusion-studio", []
    except StudioError as exc:
        notes.append(f"The studio's own settings in this image could not be used: {exc}")
        return None


def _parameters(raw: dict[str, str], notes: list[str]) -> Found | None:
    text = raw.get(PARAMETERS_KEY, "")
    if not text.strip():
        return None
    data = json_object(text)
    if data is not None:
        if "fooocus_scheme" in raw or "metadata_scheme" in data or "full_prompt" in data:
            return _fooocus(data)
        return None
    request, unmapped = infotext_to_request(parse_infotext(text))
    if "fooocus_scheme" in raw:
        source = "fooocus"
    elif str(request.extras.get("App", "")).lower().startswith("sd.next"):
        source = "sdnext"
    else:
        source = "a1111"
    return request, source, unmapped


def _fooocus(data: dict[str, Any]) -> Found:
    mapped = FieldMapper(data)
    mapped.text("prompt", "prompt")
    mapped.text("negative_prompt", "negative_prompt")
    mapped.number("steps", "steps", int)
    mapped.number("guidance_scale", "cfg_scale", float)
    mapped.number("seed", "seed", int)
    mapped.text("base_model", "model")
    mapped.sampler("sampler", "scheduler")
    resolution: Any = data.get("resolution")
    mapped.used.add("resolution")
    try:
        width, height = ast.literal_eval(resolution) if isinstance(resolution, str) else resolution
        mapped.fields["width"], mapped.fields["height"] = int(width), int(height)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        if resolution is not None:
            mapped.unmapped.append(f"resolution: {resolution}")
    # The expanded prompts are what Fooocus derived from the prompt and styles; the prompt itself restores.
    mapped.used.update(
        {"full_prompt", "full_negative_prompt", "prompt_expansion", "metadata_scheme", "version"}
    )
    mapped.used.add("base_model_hash")
    mapped.model_hash(data.get("base_model_hash"))
    return mapped.finish("fooocus")


def _novelai(raw: dict[str, str], notes: list[str]) -> Found | None:
    comment = json_object(raw.get("Comment", ""))
    if comment is None and raw.get("Software") != "NovelAI":
        return None
    comment = comment or {}
    if raw.get("Software") != "NovelAI" and not {"uc", "scale", "steps"} <= comment.keys():
        return None
    mapped = FieldMapper(comment)
    mapped.fields["prompt"] = raw.get("Description", "")
    if not mapped.fields["prompt"]:
        mapped.text("prompt", "prompt")
    mapped.used.add("prompt")
    mapped.text("uc", "negative_prompt")
    mapped.number("steps", "steps", int)
    mapped.number("scale", "cfg_scale", float)
    mapped.number("seed", "seed", int)
    mapped.number("width", "width", int)
    mapped.number("height", "height", int)
    mapped.sampler("sampler", None)
    if raw.get("Source"):
        mapped.fields["model"] = raw["Source"]
    return mapped.finish("novelai")


_READERS: list[tuple[str, Callable[[dict[str, str], list[str]], Found | None]]] = [
    ("studio's own settings", _ours),
    ("A1111 settings text", _parameters),
    ("ComfyUI graph", lambda raw, notes: comfyui_settings(raw.get("prompt", ""))),
    ("InvokeAI metadata", lambda raw, notes: invokeai3_settings(raw)),
    ("InvokeAI sd-metadata", lambda raw, notes: sd_metadata_settings(raw)),
    ("InvokeAI Dream text", lambda raw, notes: dream_settings(raw)),
    ("NovelAI settings", _novelai),
]


# --- helpers --------------------------------------------------------------------------------------------


def _match_loras(
    request: GenerationRequest, lora_dirs: Sequence[str | os.PathLike[str]], unmapped: list[str]
) -> GenerationRequest:
    """Swap the LoRAs named in the metadata for the library's files: by hash first, then by name.

    A prompt tag written with another alias is renamed to the library's name (as A1111 does on paste), so the
    tag and the list agree; LoRAs the library lacks are dropped from the list and reported.
    """
    from studio.models.lora_library import LoraLibrary

    library = LoraLibrary.scan([str(d) for d in lora_dirs])
    found: list[LoraRef] = []
    prompt, negative = request.prompt, request.negative_prompt
    for ref in request.loras:
        entry = (library.by_hash(ref.hash10) if ref.hash10 else None) or library.get(ref.name)
        if entry is None:
            hash_note = f", hash {ref.hash10}" if ref.hash10 else ""
            unmapped.append(
                f"LoRA '{ref.name}'{hash_note} (not in the LoRA library; add its folder or download it)"
            )
            continue
        found.append(LoraRef(entry.name, ref.weight, ref.enabled, ref.hash10))
        if entry.name != ref.name:
            pattern = re.compile(r"<lora:" + re.escape(ref.name) + r"(?=[:>])", re.IGNORECASE)
            prompt = pattern.sub(f"<lora:{entry.name}", prompt)
            negative = pattern.sub(f"<lora:{entry.name}", negative)
    return request.with_changes(loras=tuple(found), prompt=prompt, negative_prompt=negative)


def _chunks_for_text(text: str) -> dict[str, str]:
    """Guess which chunk pasted text would have come from."""
    stripped = text.strip()
    if not stripped:
        return {}
    data = json_object(stripped)
    if data is not None:
        if data and all(isinstance(v, dict) and "class_type" in v for v in data.values()):
            return {"prompt": stripped}
        if "positive_prompt" in data or "generation_mode" in data:
            return {"invokeai_metadata": stripped}
        if "model_weights" in data and "image" in data:
            return {"sd-metadata": stripped}
        if "metadata_scheme" in data or "full_prompt" in data:
            return {PARAMETERS_KEY: stripped, "fooocus_scheme": "fooocus"}
        if "uc" in data and "scale" in data:
            return {"Comment": stripped, "Description": str(data.get("prompt", ""))}
        return {STUDIO_KEY: stripped}
    if re.match(r'^"[^"]*"(\s+-{1,2}[A-Za-z]\S*(\s+(?!-{1,2}[A-Za-z])\S+)*)+\s*$', stripped, flags=re.S):
        return {"Dream": stripped}
    return {PARAMETERS_KEY: text}
