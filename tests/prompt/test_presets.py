"""The shipped preset data and the functions that read, find and search it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from studio.errors import RequestError, StudioError
from studio.prompt.compose import split_terms
from studio.prompt.presets import (
    PLACEHOLDER,
    PRESET_KINDS,
    find_preset,
    load_presets,
    presets_dir,
    search_presets,
)

MINIMUM_COUNTS = {"style": 40, "lighting": 15, "composition": 15}
FILE_NAMES = {"style": "styles.json", "lighting": "lighting.json", "composition": "composition.json"}


def _term_keys(text: str) -> list[str]:
    return [" ".join(term.casefold().split()) for term in split_terms(text)]


@pytest.mark.parametrize("kind", PRESET_KINDS)
def test_enough_presets_of_each_kind(kind):
    assert len(load_presets(kind)) >= MINIMUM_COUNTS[kind]


@pytest.mark.parametrize("kind", PRESET_KINDS)
def test_every_shipped_preset_is_well_formed(kind):
    presets = load_presets(kind)
    ids = [p.id for p in presets]
    names = [p.name.casefold() for p in presets]
    assert len(set(ids)) == len(ids)
    assert len(set(names)) == len(names)
    for preset in presets:
        assert preset.kind == kind
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", preset.id), preset.id
        assert preset.name.strip() and preset.description.strip(), preset.id
        # One short sentence for a hover tip.
        assert preset.description.endswith(".") and len(preset.description) <= 100, preset.id
        assert preset.prompt.count(PLACEHOLDER) <= 1, preset.id
        own_text = preset.prompt.replace(PLACEHOLDER, "")
        assert "{" not in own_text + preset.negative and "}" not in own_text + preset.negative, preset.id
        # Clean term lists: nothing repeated, and no term both asked for and excluded by the same preset.
        prompt_terms, negative_terms = _term_keys(own_text), _term_keys(preset.negative)
        assert len(set(negative_terms)) == len(negative_terms), preset.id
        assert len(set(prompt_terms)) == len(prompt_terms), preset.id
        assert not set(prompt_terms) & set(negative_terms), preset.id


def test_only_styles_wrap_and_lighting_and_composition_append():
    assert sum(p.wraps_subject for p in load_presets("style")) >= 30
    assert not any(p.wraps_subject for kind in ("lighting", "composition") for p in load_presets(kind))


def test_no_preset_borrows_an_artists_name():
    # Artists' names enter prompts as "by X" or "in the style of X"; the presets describe styles in words.
    for kind in PRESET_KINDS:
        for preset in load_presets(kind):
            text = preset.prompt.casefold()
            assert " by " not in text and "style of" not in text, preset.id


def test_required_styles_are_present():
    for name in (
        "photorealistic",
        "oil painting",
        "watercolor",
        "anime",
        "cyberpunk",
        "pixel art",
        "ukiyo-e",
    ):
        assert find_preset("style", name).kind == "style"
    for name in ("golden hour", "moonlight", "rim light", "volumetric fog", "candlelight"):
        find_preset("lighting", name)
    for name in ("low angle", "macro", "full body", "dutch angle", "rule of thirds"):
        find_preset("composition", name)


def test_the_returned_list_is_a_copy_of_the_cache():
    first = load_presets("style")
    first.clear()
    assert len(load_presets("style")) >= MINIMUM_COUNTS["style"]


@pytest.mark.parametrize("kind", PRESET_KINDS)
def test_find_preset_by_id_or_name_ignoring_case_and_spacing(kind):
    for preset in load_presets(kind):
        assert find_preset(kind, preset.id.upper()) == preset
        assert find_preset(kind, "  " + preset.name.swapcase().replace(" ", "   ") + " ") == preset


@pytest.mark.parametrize(
    ("kind", "typo", "expected"),
    [
        ("style", "anmie", "Anime"),
        ("style", "watercolour", "Watercolor"),
        ("lighting", "golden hr", "Golden hour"),
    ],
)
def test_unknown_preset_suggests_the_closest(kind, typo, expected):
    with pytest.raises(RequestError) as caught:
        find_preset(kind, typo)
    message = str(caught.value)
    assert f"'{typo}'" in message and f"'{expected}'" in message and "Did you mean" in message


def test_unknown_preset_with_nothing_close_still_says_what_to_do():
    with pytest.raises(RequestError, match="Pick one from the composition preset list"):
        find_preset("composition", "qqqqqqqq")


def test_unknown_kind_is_a_request_error():
    with pytest.raises(RequestError, match="not a kind of preset"):
        load_presets("mood")  # type: ignore[arg-type]


def test_search_matches_name_id_and_description_words():
    everything = load_presets("style")
    assert search_presets("style", "  ") == everything
    hits = search_presets("style", "PAINT")
    assert hits and all("paint" in f"{p.name} {p.id} {p.description}".casefold() for p in hits)
    # Names that start with or contain the query come before description-only matches.
    in_name = ["paint" in p.name.casefold() for p in hits]
    assert in_name == sorted(in_name, reverse=True) and in_name[0]
    both = search_presets("lighting", "warm glow")
    assert both and all("warm" in p.description.casefold() + p.name.casefold() for p in both)
    assert search_presets("composition", "no such words here") == []


def test_search_ranks_names_starting_with_the_query_first():
    hits = search_presets("style", "pi")
    assert hits[0].name.casefold().startswith("pi")


# --- malformed files --------------------------------------------------------------------------------------

GOOD = {
    "id": "digital-art",
    "name": "Digital art",
    "description": "A test.",
    "prompt": "digital art of {prompt}",
}


def _write(folder: Path, content: object, kind: str = "style") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAMES[kind]
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def _file(*presets: dict, **top: object) -> dict:
    return {"version": 1, "kind": "style", "presets": list(presets), **top}


def test_swatch_and_frame_are_optional_and_loaded(tmp_path):
    _write(tmp_path, _file(GOOD, {**GOOD, "id": "b", "name": "B", "swatch": ["#112233", "#AABBCC"]},
                           {**GOOD, "id": "c", "name": "C", "frame": [0.25, 0, 0.5, 1]}))  # fmt: skip
    plain, coloured, framed = load_presets("style", tmp_path)
    assert (plain.swatch, plain.frame) == ((), None)  # a file without them loads as before
    assert coloured.swatch == ("#112233", "#AABBCC")
    assert framed.frame == (0.25, 0.0, 0.5, 1.0)


@pytest.mark.parametrize("kind", ["style", "lighting", "composition"])
def test_every_shipped_preset_has_a_picture(kind):
    for preset in load_presets(kind):
        assert preset.swatch if kind != "composition" else preset.frame is not None, preset.id


def test_a_custom_folder_loads(tmp_path):
    _write(tmp_path, _file(GOOD, {**GOOD, "id": "b", "name": "B", "negative": "photo"}))
    presets = load_presets("style", tmp_path)
    assert [p.id for p in presets] == ["digital-art", "b"]
    assert presets[0].negative == "" and presets[1].negative == "photo"
    assert find_preset("style", "b", tmp_path).name == "B"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ([1, 2], "must be a JSON object"),
        (_file(GOOD, version=0), "'version' must be 1"),
        (_file(GOOD, kind="lighting"), "'kind' must be 'style'"),
        (_file(), "non-empty list"),
        (_file("digital-art"), "preset 1 is not a JSON object"),
        (_file({**GOOD, "name": " "}), "needs a non-empty text 'name'"),
        (_file({k: v for k, v in GOOD.items() if k != "description"}), "'description'"),
        (_file({**GOOD, "negativ": "photo"}), "unknown field 'negativ'"),
        (_file({**GOOD, "negative": ["photo"]}), "'negative' that is not text"),
        (_file({**GOOD, "id": "Digital Art"}), "lowercase words"),
        (_file({**GOOD, "prompt": "{prompt} and {prompt}"}), "more than once"),
        (_file({**GOOD, "prompt": "art of {subject}"}), "brace"),
        (_file({**GOOD, "negative": "photo}"}), "brace"),
        (_file(GOOD, {**GOOD, "name": "Other"}), "reuses the id or name 'digital-art'"),
        (_file(GOOD, {**GOOD, "id": "other", "name": "DIGITAL ART"}), "reuses the id or name 'digital art'"),
        (_file({**GOOD, "swatch": ["#ff0000"]}), "'swatch' that is not a list of 2 to 5 colours"),
        (_file({**GOOD, "swatch": ["red", "#00ff00"]}), "'swatch'"),
        (_file({**GOOD, "swatch": "#ff0000"}), "'swatch'"),
        (_file({**GOOD, "frame": [0.1, 0.1, 0.5]}), "'frame' that is not [x, y, width, height]"),
        (_file({**GOOD, "frame": [0.1, 0.1, 1.5, 0.5]}), "'frame'"),
        (_file({**GOOD, "frame": [0, 0, 0, 1]}), "'frame'"),
    ],
)
def test_a_malformed_file_names_the_file_and_the_problem(tmp_path, content, problem):
    path = _write(tmp_path, content)
    with pytest.raises(StudioError) as caught:
        load_presets("style", tmp_path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_a_newer_format_asks_for_an_update(tmp_path):
    _write(tmp_path, _file(GOOD, version=2))
    with pytest.raises(StudioError, match="Update the studio"):
        load_presets("style", tmp_path)


def test_a_missing_file_says_to_reinstall(tmp_path):
    with pytest.raises(StudioError, match="missing. Reinstall"):
        load_presets("lighting", tmp_path)


def test_shipped_files_live_in_resources():
    for kind, name in FILE_NAMES.items():
        data = json.loads((presets_dir() / name).read_text(encoding="utf-8"))
        assert data["version"] == 1 and data["kind"] == kind
