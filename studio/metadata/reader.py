"""Settings read back from an image (ours or another tool's) or from pasted text.

Tried in order: our own ``diffusion_studio`` chunk (restores exactly); Stability Matrix's ``parameters-json``;
the ``parameters`` text: SwarmUI, RuinedFooocus and Fooocus JSON, else A1111/Forge/SD.Next infotext (checked
against a ComfyUI graph in the same file: when they disagree, the graph is the truth); a ComfyUI ``prompt``
graph (with Civitai's additions); InvokeAI 3.x ``invokeai_metadata``, 2.3 ``sd-metadata`` and legacy ``Dream``;
NovelAI ``Description``/``Comment`` (V4 included); Draw Things' XMP. Where each text was found (PNG chunk, EXIF
tag, XMP, hidden pixels) does not matter to the dialects: ``png_chunks`` and ``exif_texts`` put each under the
key its PNG form has. What cannot be mapped onto a ``GenerationRequest`` is listed in ``ImageSettings.unmapped``
as readable text and kept in ``request.extras``; ``ImageSettings.read_from`` says which text was used.
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
from studio.metadata.civitai import civitai_resource_notes, comfy_graph_settings
from studio.metadata.drawthings import drawthings_settings
from studio.metadata.field_mapper import FieldMapper, Found, json_object
from studio.metadata.infotext import infotext_to_request, parse_infotext
from studio.metadata.invokeai import dream_settings, invokeai3_settings, sd_metadata_settings
from studio.metadata.novelai import novelai_settings
from studio.metadata.png_chunks import (
    MAX_TEXT_BYTES,
    PARAMETERS_KEY,
    STUDIO_KEY,
    XMP_KEY,
    TextChunks,
    read_text_chunks,
)
from studio.metadata.ruined_fooocus import ruined_fooocus_data, ruined_fooocus_settings
from studio.metadata.stability_matrix import STABILITY_MATRIX_KEY, stability_matrix_settings
from studio.metadata.swarmui import is_swarmui, swarmui_settings
from studio.request import GenerationRequest, LoraRef

log = logging.getLogger(__name__)

SOURCES = (
    "diffusion-studio",
    "a1111",
    "comfyui",
    "invokeai",
    "fooocus",
    "novelai",
    "sdnext",
    "swarmui",
    "ruinedfooocus",
    "stability-matrix",
    "drawthings",
    "none",
)
# Each source's tool, and the text key its settings are read from (for ``ImageSettings.read_from``).
_TOOLS = {
    "diffusion-studio": ("Diffusion Studio's own settings", STUDIO_KEY),
    "a1111": ("A1111 settings text", PARAMETERS_KEY),
    "sdnext": ("SD.Next settings text", PARAMETERS_KEY),
    "fooocus": ("Fooocus settings", PARAMETERS_KEY),
    "comfyui": ("ComfyUI graph", "prompt"),
    "invokeai": ("InvokeAI metadata", ""),
    "novelai": ("NovelAI settings", "Comment"),
    "swarmui": ("SwarmUI settings (sui_image_params)", PARAMETERS_KEY),
    "ruinedfooocus": ("RuinedFooocus settings", PARAMETERS_KEY),
    "stability-matrix": ("Stability Matrix settings", STABILITY_MATRIX_KEY),
    "drawthings": ("Draw Things settings (XMP)", XMP_KEY),
}
# Fields compared when an A1111 text and a ComfyUI graph describe the same picture.
_COMPARED = ("prompt", "negative_prompt", "seed", "steps", "cfg_scale", "width", "height", "sampler")


@dataclass(frozen=True)
class ImageSettings:
    """What an image says about how it was made.

    ``source`` is one of ``SOURCES``; ``unmapped`` lists, readably, what had no place in the request;
    ``raw`` holds the text chunks as found; ``read_from`` says which text the settings came from and where it
    was ("ComfyUI graph, from the EXIF UserComment").
    """

    request: GenerationRequest
    source: str
    unmapped: list[str] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    read_from: str = ""


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
    origins = dict(raw.origins) if isinstance(raw, TextChunks) else {}
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
            return ImageSettings(
                request=request,
                source=source,
                unmapped=notes + unmapped,
                raw=raw,
                read_from=_read_from(source, raw, origins),
            )
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
    rf_data = ruined_fooocus_data(text)
    if rf_data is not None:
        return ruined_fooocus_settings(rf_data)
    data = json_object(text)
    if data is not None:
        if is_swarmui(data):
            return swarmui_settings(data)
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
    graph = _graph_instead(raw, request)
    if graph is not None:
        return graph
    if "Civitai resources" in request.extras:
        resources = str(request.extras["Civitai resources"])
        unmapped = [n for n in unmapped if not n.startswith("Civitai resources:")] + civitai_resource_notes(
            resources
        )
    return request, source, unmapped


def _graph_instead(raw: dict[str, str], request: GenerationRequest) -> Found | None:
    """The file's ComfyUI graph when it disagrees with the A1111 text beside it (some ComfyUI savers write
    placeholder text such as "unknown"): the graph is what ran. ``None`` when there is no graph or they agree."""
    try:
        found = comfy_graph_settings(raw)
    except Exception:  # noqa: BLE001 - a broken graph leaves the text as the only settings
        log.warning("Reading the ComfyUI graph beside the A1111 text failed", exc_info=True)
        return None
    if found is None or any("no sampler node" in note for note in found[2]):
        return None
    graph_request, source, unmapped = found
    differ = [
        name
        for name in _COMPARED
        if str(getattr(request, name)).strip() != str(getattr(graph_request, name)).strip()
    ]
    if not differ:
        return None
    details = ", ".join(
        f"{name.replace('_', ' ')} {_short(getattr(request, name))!r} in the text, "
        f"{_short(getattr(graph_request, name))!r} in the graph"
        for name in differ[:4]
    )
    note = (
        "The A1111 settings text in this image disagrees with its ComfyUI graph "
        f"({details}); the graph was used, as it is what ran."
    )
    return graph_request, source, [note, *unmapped]


def _short(value: object, limit: int = 40) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read_from(source: str, raw: dict[str, str], origins: dict[str, str]) -> str:
    """A sentence naming the text used and where it was: "ComfyUI graph, from the EXIF UserComment"."""
    if source == "none":
        return ""
    tool, key = _TOOLS.get(source, (source, ""))
    if not key:
        key = next((k for k in ("invokeai_metadata", "sd-metadata", "Dream") if k in raw), "")
    if source == "comfyui" and (
        "extraMetadata" in raw.get("prompt", "") or "urn:air:" in raw.get("prompt", "")
    ):
        tool = "ComfyUI graph (generated on Civitai)"
    where = origins.get(key)
    if where:
        return f"{tool}, from {where}"
    return f"{tool}, from the '{key}' text" if key else tool


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


_READERS: list[tuple[str, Callable[[dict[str, str], list[str]], Found | None]]] = [
    ("studio's own settings", _ours),
    ("Stability Matrix settings", lambda raw, notes: stability_matrix_settings(raw)),
    ("A1111 settings text", _parameters),
    ("ComfyUI graph", lambda raw, notes: comfy_graph_settings(raw)),
    ("InvokeAI metadata", lambda raw, notes: invokeai3_settings(raw)),
    ("InvokeAI sd-metadata", lambda raw, notes: sd_metadata_settings(raw)),
    ("InvokeAI Dream text", lambda raw, notes: dream_settings(raw)),
    ("NovelAI settings", novelai_settings),
    ("Draw Things settings", drawthings_settings),
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
        if is_swarmui(data) or str(data.get("software", "")).lower() == "ruinedfooocus":
            return {PARAMETERS_KEY: stripped}
        if "PositivePrompt" in data:
            return {STABILITY_MATRIX_KEY: stripped}
        if "uc" in data and "scale" in data:
            return {"Comment": stripped, "Description": str(data.get("prompt", ""))}
        return {STUDIO_KEY: stripped}
    if re.match(r'^"[^"]*"(\s+-{1,2}[A-Za-z]\S*(\s+(?!-{1,2}[A-Za-z])\S+)*)+\s*$', stripped, flags=re.S):
        return {"Dream": stripped}
    return {PARAMETERS_KEY: text}
