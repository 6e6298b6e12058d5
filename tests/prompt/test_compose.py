"""compose(): subject + style + lighting + composition, and the merged negative prompt."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.errors import RequestError
from studio.prompt.compose import apply_template, compose, merge_terms, split_terms, tidy_prompt
from studio.prompt.presets import PLACEHOLDER, find_preset, load_presets
from studio.request import GenerationRequest


def test_without_presets_the_subject_is_only_stripped():
    request = GenerationRequest(prompt="  a red fox,\n(snow:1.2)  ", negative_prompt=" blurry ,lowres ")
    assert compose(request) == ("a red fox,\n(snow:1.2)", "blurry, lowres")


def test_a_wrapping_style_puts_the_subject_in_its_placeholder():
    style = find_preset("style", "digital-art")
    assert style.wraps_subject
    prompt, negative = compose(GenerationRequest(prompt=" a red fox ", style="Digital art"))
    assert prompt == style.prompt.replace(PLACEHOLDER, "a red fox")
    assert negative == ", ".join(split_terms(style.negative))


def test_style_lighting_and_composition_come_in_that_order():
    style = find_preset("style", "ukiyo-e")
    lighting = find_preset("lighting", "golden-hour")
    composition = find_preset("composition", "low-angle")
    request = GenerationRequest(
        prompt="a lighthouse", style="Ukiyo-e", lighting="Golden hour", composition="LOW ANGLE"
    )
    prompt, _ = compose(request)
    assert (
        prompt
        == f"{style.prompt.replace(PLACEHOLDER, 'a lighthouse')}, {lighting.prompt}, {composition.prompt}"
    )


def test_an_appending_preset_follows_the_subject():
    lighting = find_preset("lighting", "moonlight")
    prompt, negative = compose(
        GenerationRequest(prompt="a cat,, ", negative_prompt="text", lighting="moonlight")
    )
    assert prompt == f"a cat, {lighting.prompt}"
    assert negative == f"text, {lighting.negative}"


def test_the_negative_keeps_the_request_terms_first_and_drops_repeats():
    style = find_preset("style", "oil-painting")
    lighting = find_preset("lighting", "neon-lit")
    user_terms = ["PHOTO", "lowres", "(worst quality, low quality:1.4)"]
    request = GenerationRequest(
        prompt="x", negative_prompt=", ".join(user_terms), style=style.id, lighting=lighting.id
    )
    _, negative = compose(request)
    terms = split_terms(negative)
    assert terms[: len(user_terms)] == user_terms
    keys = [t.casefold() for t in terms]
    assert len(keys) == len(set(keys))
    assert "photo" in split_terms(style.negative) and "photo" not in terms  # "PHOTO" came first and won
    every_source_term = {
        t.casefold() for text in (style.negative, lighting.negative) for t in split_terms(text)
    }
    assert every_source_term <= set(keys)


def test_merge_terms_dedupes_case_and_spacing_insensitively():
    assert merge_terms("blurry, Photo", " photo,cartoon,,  blurry ", "CARTOON", "bad  hands, bad hands") == (
        "blurry, Photo, cartoon, bad  hands"
    )
    assert merge_terms("", " , ", ",") == ""


def test_split_terms_keeps_a1111_groups_whole():
    assert split_terms("(worst quality, low quality:1.4), [a, b], \\(x, y\\)") == [
        "(worst quality, low quality:1.4)",
        "[a, b]",
        "\\(x",
        "y\\)",
    ]
    assert split_terms("a)), b") == ["a))", "b"]


def test_an_empty_subject_leaves_no_dangling_words():
    style = find_preset("style", "digital-art")
    assert style.prompt.startswith("digital art of {prompt}, ")
    prompt, _ = compose(GenerationRequest(prompt="   ", style="digital-art"))
    assert prompt == style.prompt.replace(" of {prompt}", "")


@pytest.mark.parametrize("style", [p.id for p in load_presets("style") if p.wraps_subject])
def test_no_wrapping_style_dangles_without_a_subject(style):
    prompt, _ = compose(GenerationRequest(prompt="", style=style, lighting="overcast"))
    assert PLACEHOLDER not in prompt and prompt
    assert not re.search(r"\b(of|depicting|featuring|with|a|an|the)\s*(,|$)", prompt), prompt
    assert not re.search(r"\s,|,,|^,", prompt), prompt


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("a portrait of a {prompt} in a garden", "a portrait in a garden"),
        ("masterpiece, {prompt}, detailed", "masterpiece, detailed"),
        ("{prompt}, oil painting", "oil painting"),
        ("chibi {prompt}, cute", "chibi, cute"),
        ("{prompt}", ""),
        ("window depicting {prompt}", "window"),
    ],
)
def test_apply_template_with_an_empty_subject(template, expected):
    assert apply_template("", template) == expected


def test_apply_template_with_a_subject_and_without_a_placeholder():
    assert (
        apply_template("a cat", "a portrait of a {prompt} in a garden") == "a portrait of a a cat in a garden"
    )
    assert apply_template("a cat", " , soft light, ") == "a cat, soft light"
    assert apply_template("", "soft light") == "soft light"


def test_unicode_and_emoji_subjects_are_kept_exactly():
    subject = "猫 🐱 café, naïve — «Ωmega» 🦊‍🔥"
    for style in ("chibi", "anime", "minimalist"):
        prompt, _ = compose(GenerationRequest(prompt=subject, style=style, composition="macro"))
        assert subject in prompt


def test_blank_preset_fields_mean_none():
    request = GenerationRequest(prompt="a cat", style="  ", lighting="", composition=None)
    assert compose(request) == ("a cat", "")


def test_an_unknown_preset_is_a_request_error_with_suggestions():
    with pytest.raises(RequestError, match="Did you mean 'Moonlight'"):
        compose(GenerationRequest(prompt="a cat", lighting="moonlite"))


def test_tidy_prompt_only_touches_empty_terms_and_edges():
    assert tidy_prompt(" ,a,b , ,c,\n") == "a,b, c"
    assert tidy_prompt("(red:1.2) BREAK <lora:x:0.5>") == "(red:1.2) BREAK <lora:x:0.5>"


def _choices(kind: str) -> st.SearchStrategy[str | None]:
    presets = load_presets(kind)  # type: ignore[arg-type]
    return st.sampled_from([None, "", *(p.id for p in presets), *(p.name for p in presets)])


@settings(max_examples=300, deadline=None)
@given(
    subject=st.text(),
    negative=st.text(),
    style=_choices("style"),
    lighting=_choices("lighting"),
    composition=_choices("composition"),
)
def test_compose_never_raises_and_never_leaves_empty_terms(subject, negative, style, lighting, composition):
    request = GenerationRequest(
        prompt=subject, negative_prompt=negative, style=style, lighting=lighting, composition=composition
    )
    prompt, final_negative = compose(request)
    for text in (prompt, final_negative):
        assert ", ," not in text and ",," not in text
        assert text == text.strip() and not text.startswith(",") and not text.endswith(",")
    if PLACEHOLDER not in subject:
        assert PLACEHOLDER not in prompt
    assert tidy_prompt(subject) in prompt
    assert compose(request) == (prompt, final_negative)
