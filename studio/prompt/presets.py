"""Style, lighting and composition presets: data in ``resources/presets/``, read once and checked on load.

File format (``styles.json``, ``lighting.json``, ``composition.json``)::

    {"version": 1, "kind": "style", "presets": [{"id": "digital-art", "name": "Digital art",
     "description": "...", "prompt": "digital art of {prompt}, highly detailed", "negative": "photo"}]}

``prompt`` may hold one ``{prompt}`` placeholder where the preset wraps the subject; without it the text is
appended after the subject (see ``studio.prompt.compose``). ``negative`` (optional) adds to the negative prompt.

Two optional fields give the pickers a picture of the preset, beside its name: ``swatch``, two to five colours
(``"#rrggbb"``) of its palette (styles, lighting), and ``frame``, the subject's box in the picture as fractions
``[x, y, width, height]`` (composition). Files without them load as before.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from studio import paths
from studio.errors import RequestError, StudioError

PresetKind = Literal["style", "lighting", "composition"]
PRESET_KINDS: tuple[PresetKind, ...] = get_args(PresetKind)
FORMAT_VERSION = 1
PLACEHOLDER = "{prompt}"

_FILE_NAMES: dict[str, str] = {
    "style": "styles.json",
    "lighting": "lighting.json",
    "composition": "composition.json",
}
# How an error message names one preset of each kind.
_NOUNS: dict[str, str] = {
    "style": "style",
    "lighting": "lighting preset",
    "composition": "composition preset",
}
_ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TEXT_FIELDS = ("id", "name", "description", "prompt")
_ALL_FIELDS = (*_TEXT_FIELDS, "negative", "swatch", "frame")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
SWATCH_COLOURS = (2, 5)  # how many colours a swatch may have, fewest and most


@dataclass(frozen=True)
class Preset:
    """One named piece of prompt text. ``prompt`` wraps the subject when it holds ``{prompt}``."""

    id: str
    name: str
    description: str
    prompt: str
    negative: str
    kind: PresetKind
    swatch: tuple[str, ...] = ()  # "#rrggbb" colours of the preset's palette, for the picker
    frame: tuple[float, float, float, float] | None = None  # the subject's box (fractions), for the picker

    @property
    def wraps_subject(self) -> bool:
        return PLACEHOLDER in self.prompt


_cache: dict[Path, tuple[Preset, ...]] = {}


def presets_dir() -> Path:
    return paths.resources_dir() / "presets"


def load_presets(kind: PresetKind, folder: Path | None = None) -> list[Preset]:
    """All presets of ``kind`` in file order, read from ``folder`` (default: the bundled presets) once.

    Raises ``StudioError`` naming the file and the problem when the file is missing or malformed.
    """
    path = (folder or presets_dir()) / _FILE_NAMES[_check_kind(kind)]
    if path not in _cache:
        _cache[path] = _read_file(path, kind)
    return list(_cache[path])


def find_preset(kind: PresetKind, name_or_id: str, folder: Path | None = None) -> Preset:
    """The preset whose id or name equals ``name_or_id`` ignoring case and extra spaces.

    An unknown name raises ``RequestError`` listing the closest matches.
    """
    presets = load_presets(kind, folder)
    key = _normal(name_or_id)
    for preset in presets:
        if key in (preset.id, _normal(preset.name)):
            return preset
    suggestions = _suggest(presets, key)
    noun = _NOUNS[kind]
    if suggestions:
        hint = "Did you mean " + _or_list([f"'{p.name}'" for p in suggestions]) + "?"
    else:
        hint = (
            f"Pick one from the {noun} list, for example "
            + _or_list([f"'{p.name}'" for p in presets[:3]])
            + "."
        )
    raise RequestError(f"There is no {noun} called '{name_or_id.strip()}'. {hint}")


def search_presets(kind: PresetKind, query: str, folder: Path | None = None) -> list[Preset]:
    """Presets whose name, id or description holds every word of ``query`` (case-insensitive).

    Names that start with the query come first, then other name matches, then the rest, each in file
    order. An empty query returns every preset.
    """
    words = query.casefold().split()
    phrase = " ".join(words)

    def rank(preset: Preset) -> int:
        name = _normal(preset.name)
        return 0 if name.startswith(phrase) else 1 if phrase in name else 2

    hits = [p for p in load_presets(kind, folder) if all(w in _haystack(p) for w in words)]
    return sorted(hits, key=rank)


# --- reading and checking --------------------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in _FILE_NAMES:
        raise RequestError(f"'{kind}' is not a kind of preset; use one of {', '.join(PRESET_KINDS)}.")
    return kind


def _read_file(path: Path, kind: PresetKind) -> tuple[Preset, ...]:
    def fail(problem: str) -> StudioError:
        return StudioError(
            f"The preset file '{path}' is malformed: {problem}. Fix the file or reinstall Diffusion Studio."
        )

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudioError(f"The preset file '{path}' is missing. Reinstall Diffusion Studio.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudioError(f"The preset file '{path}' cannot be read ({exc}). Check the file.") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
    if not isinstance(data, dict):
        raise fail("the top level must be a JSON object")
    version = data.get("version")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise StudioError(
                f"The preset file '{path}' is format {version}, newer than this Diffusion Studio reads "
                f"({FORMAT_VERSION}). Update the studio."
            )
        raise fail(f"'version' must be {FORMAT_VERSION}, not {version!r}")
    if data.get("kind") != kind:
        raise fail(f"'kind' must be '{kind}', not {data.get('kind')!r}")
    entries = data.get("presets")
    if not isinstance(entries, list) or not entries:
        raise fail("'presets' must be a non-empty list")

    presets: list[Preset] = []
    taken: dict[str, str] = {}  # normalised id or name -> id of the preset that has it
    for number, entry in enumerate(entries, start=1):
        problem = _entry_problem(entry)
        if problem:
            label = entry.get("id") if isinstance(entry, dict) else None
            raise fail(f"preset {number}{f' ({label!r})' if isinstance(label, str) else ''} {problem}")
        frame = entry.get("frame")
        preset = Preset(
            kind=kind,
            negative=entry.get("negative", ""),
            swatch=tuple(entry.get("swatch", ())),
            frame=tuple(float(n) for n in frame) if frame is not None else None,  # type: ignore[arg-type]
            **{f: entry[f] for f in _TEXT_FIELDS},
        )
        for key in {preset.id, _normal(preset.name)}:
            if key in taken:
                raise fail(f"preset {number} ('{preset.id}') reuses the id or name '{key}' of '{taken[key]}'")
            taken[key] = preset.id
        presets.append(preset)
    return tuple(presets)


def _entry_problem(entry: Any) -> str | None:
    """What is wrong with one preset entry, as the end of a sentence; ``None`` when it is fine."""
    if not isinstance(entry, dict):
        return "is not a JSON object"
    unknown = sorted(set(entry) - set(_ALL_FIELDS))
    if unknown:
        return f"has unknown field '{unknown[0]}' (allowed: {', '.join(_ALL_FIELDS)})"
    for name in _TEXT_FIELDS:
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"needs a non-empty text '{name}'"
    if not isinstance(entry.get("negative", ""), str):
        return "has a 'negative' that is not text"
    look = _look_problem(entry)
    if look:
        return look
    if not _ID_PATTERN.fullmatch(entry["id"]):
        return "has an id that is not lowercase words joined by '-'"
    prompt = entry["prompt"]
    if prompt.count(PLACEHOLDER) > 1:
        return f"uses {PLACEHOLDER} more than once in 'prompt'"
    if _has_brace(prompt.replace(PLACEHOLDER, "")) or _has_brace(entry.get("negative", "")):
        return f"has a brace that is not the {PLACEHOLDER} placeholder"
    return None


def _look_problem(entry: dict[str, Any]) -> str | None:
    """What is wrong with the optional ``swatch`` and ``frame`` fields, or ``None``."""
    swatch = entry.get("swatch", [])
    fewest, most = SWATCH_COLOURS
    if (
        not isinstance(swatch, list)
        or not all(isinstance(c, str) and _COLOUR.fullmatch(c) for c in swatch)
        or (swatch and not fewest <= len(swatch) <= most)
    ):
        return f"has a 'swatch' that is not a list of {fewest} to {most} colours written \"#rrggbb\""
    frame = entry.get("frame")
    if frame is not None:
        numbers = isinstance(frame, list) and all(
            isinstance(n, int | float) and not isinstance(n, bool) for n in frame
        )
        if (
            not numbers
            or len(frame) != 4
            or not all(0 <= n <= 1 for n in frame)
            or frame[2] <= 0
            or frame[3] <= 0
        ):
            return "has a 'frame' that is not [x, y, width, height] as fractions of the picture (0 to 1)"
    return None


def _has_brace(text: str) -> bool:
    return "{" in text or "}" in text


# --- matching ----------------------------------------------------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _haystack(preset: Preset) -> str:
    return " ".join((_normal(preset.name), preset.id, _normal(preset.description)))


def _suggest(presets: list[Preset], key: str, limit: int = 3) -> list[Preset]:
    """Closest presets by spelling, then by words in common: for 'Did you mean ...?'."""
    by_key: dict[str, Preset] = {}
    for preset in presets:
        by_key.setdefault(preset.id, preset)
        by_key.setdefault(_normal(preset.name), preset)
    found = [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=limit * 2, cutoff=0.6)]
    found += [p for p in presets if key and all(w in _haystack(p) for w in key.split())]
    unique = list(dict.fromkeys(found))  # Preset is frozen, so hashable; keeps first-seen order
    return unique[:limit]


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
