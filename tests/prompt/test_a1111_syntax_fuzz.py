"""The A1111 prompt parser under hostile input: anything gives a parse or a PromptLimitError, fast, never a hang."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.errors import RequestError, StudioError
from studio.prompt.a1111_syntax import (
    MAX_BRACKET_DEPTH,
    MAX_PROMPT_CHARS,
    ROUND_MULTIPLIER,
    SQUARE_MULTIPLIER,
    PromptLimitError,
    parse_prompt,
)

# Generous for a busy two-core CI machine: on one, the slowest input here takes about 0.1 s, and under 0.5 s
# with both cores busy elsewhere.
SECONDS = 1.0


def fill(unit: str, prefix: str = "", suffix: str = "") -> str:
    """``prefix`` + as many ``unit`` as fit + ``suffix``, at most ``MAX_PROMPT_CHARS`` long."""
    return prefix + unit * ((MAX_PROMPT_CHARS - len(prefix) - len(suffix)) // len(unit)) + suffix


# --- arbitrary text ---------------------------------------------------------------------------------------

SYNTAX = [*"()[]\\:<>=, .-+19e\n\t\u3000x", "BREAK", "lora", "<lora:a:0.5>", "<b:", "inf", "nan", "9" * 400]
# Long runs of one piece of syntax, up to the length cap: the shapes that used to take quadratic time (runs of
# spaces, '(a' or '<w:' of ten thousand characters took seconds).
runs = st.tuples(
    st.sampled_from([*SYNTAX, "(a", "[a", "a)", " BREAK ", "\\(", "<lora:x>)"]),
    st.integers(0, MAX_PROMPT_CHARS // 2),
).map(lambda run: (run[0] * run[1])[: MAX_PROMPT_CHARS // 2])
hostile = st.lists(st.sampled_from(SYNTAX) | runs, max_size=6).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=2000), hostile))
def test_any_text_parses_or_hits_a_cap_quickly(text):
    start = time.perf_counter()
    try:
        result = parse_prompt(text)
    except PromptLimitError as error:
        assert time.perf_counter() - start < SECONDS
        assert isinstance(error, StudioError) and str(error).endswith(".")
        # Past the length cap, or enough openers to nest past the depth cap.
        assert len(text) > MAX_PROMPT_CHARS or text.count("(") + text.count("[") > MAX_BRACKET_DEPTH
        return
    assert time.perf_counter() - start < SECONDS
    assert len(text) <= MAX_PROMPT_CHARS
    assert result.segments and result.text == text
    assert all(0 <= d.position <= len(text) and d.message for d in result.diagnostics)
    assert all(text.startswith("BREAK", b.position) for b in result.breaks)
    assert all(text.startswith("<", tag.start) and text[tag.end - 1] == ">" for tag in result.extra_networks)


@settings(max_examples=100, deadline=None)
@given(st.integers(MAX_PROMPT_CHARS + 1, 3 * MAX_PROMPT_CHARS), st.sampled_from(["(", "[", "a", " ", "<a:"]))
def test_anything_past_the_length_cap_is_refused(length, unit):
    text = (unit * length)[:length]
    with pytest.raises(PromptLimitError, match=f"{length:,} characters long; the studio reads at most"):
        parse_prompt(text)


# --- pathological inputs, measured ------------------------------------------------------------------------


@pytest.mark.parametrize("bracket", ["(", "["])
@pytest.mark.parametrize("count", [5_000_000, 1_000_000])
def test_megabytes_of_open_brackets_are_refused_at_once(bracket, count):
    text = bracket * count
    start = time.perf_counter()
    with pytest.raises(RequestError) as caught:
        parse_prompt(text)
    assert time.perf_counter() - start < SECONDS
    assert isinstance(caught.value, PromptLimitError)
    assert str(caught.value).startswith(
        f"The prompt is {count:,} characters long; the studio reads at most {MAX_PROMPT_CHARS:,}."
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(fill("("), id="all-open"),
        pytest.param(fill("(a"), id="open-text-open"),
        pytest.param(fill("[a"), id="square-text-square"),
    ],
)
def test_brackets_nested_past_the_cap_are_refused(text):
    start = time.perf_counter()
    with pytest.raises(PromptLimitError, match=f"more than {MAX_BRACKET_DEPTH} brackets inside one another"):
        parse_prompt(text)
    assert time.perf_counter() - start < SECONDS


@pytest.mark.parametrize(
    "text",
    [
        # The depth cap's worst case: every piece of text re-weighted by every enclosing bracket.
        pytest.param(fill("\\(", prefix="(" * MAX_BRACKET_DEPTH), id="deepest-with-escapes"),
        pytest.param(fill("(a)[b]", prefix="(" * (MAX_BRACKET_DEPTH - 1)), id="deepest-alternating"),
        pytest.param(fill(")"), id="stray-closers"),
        pytest.param(fill("a\\b"), id="lone-backslashes"),
        pytest.param(fill(" ", suffix="BREAK x"), id="spaces-then-break"),
        pytest.param(fill(":", prefix="("), id="colons-in-a-bracket"),
        pytest.param(fill(" ", prefix="(:"), id="colon-then-spaces"),
        pytest.param(fill("<a:"), id="tag-openers-never-closed"),
        pytest.param(fill("<lora:a>)"), id="tags-and-stray-closers"),
        pytest.param(fill(" BREAK", prefix="("), id="breaks-in-brackets"),
        pytest.param(fill("(a:1.2.3)"), id="bad-weights"),
        pytest.param("(a:" + "9" * (MAX_PROMPT_CHARS - 4) + ")", id="huge-weight"),
    ],
)
def test_the_worst_text_within_the_caps_parses_in_time(text):
    assert len(text) <= MAX_PROMPT_CHARS
    start = time.perf_counter()
    parsed = parse_prompt(text)
    assert time.perf_counter() - start < SECONDS
    assert parsed.text == text


def test_parsing_at_the_cap_allocates_memory_in_proportion_to_the_text():
    text = fill("<lora:a>)")  # a tag, a segment piece and a diagnostic for every nine characters
    tracemalloc.start()
    try:
        parse_prompt(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1000 * len(text)  # measured: about 100 bytes a character


def test_a_prompt_past_the_cap_is_refused_before_any_work():
    text = "(" * 5_000_000
    tracemalloc.start()
    try:
        with pytest.raises(PromptLimitError):
            parse_prompt(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000


# --- what the caps and the faster paths must not change --------------------------------------------------


def test_the_deepest_allowed_nesting_still_weighs_as_a1111():
    parsed = parse_prompt("(" * MAX_BRACKET_DEPTH + "a")
    weight = 1.0
    for _ in range(MAX_BRACKET_DEPTH):
        weight *= ROUND_MULTIPLIER
    assert parsed.segments == (("a", weight),)
    assert len(parsed.diagnostics) == MAX_BRACKET_DEPTH  # each unclosed '(' is reported


def test_escaped_brackets_do_not_count_towards_the_depth():
    text = "\\(" * 5_000 + "a"
    assert parse_prompt(text).segments == (("(" * 5_000 + "a", 1.0),)


def test_break_after_a_long_run_of_spaces_still_eats_them():
    parsed = parse_prompt("a" + " " * 15_000 + "BREAK" + "\u3000\t " * 1_000 + "b")
    assert parsed.a1111_pairs() == [("a", 1.0), ("BREAK", -1.0), ("b", 1.0)]
    assert [b.position for b in parsed.breaks] == [15_001]


def test_tags_before_a_run_of_unclosed_tag_openers_are_still_found():
    text = "<lora:ink:0.5> x " + "<b:" * 5_000
    parsed = parse_prompt(text)
    assert [(tag.name, tag.weight) for tag in parsed.loras] == [("ink", 0.5)]
    assert parsed.clean_text == " x " + "<b:" * 5_000


def test_diagnostics_after_many_tags_point_at_the_typed_text():
    text = "<lora:a:1>)" * 1_000
    parsed = parse_prompt(text)
    closers = [d.position for d in parsed.diagnostics if "no matching" in d.message]
    assert closers == [index for index, char in enumerate(text) if char == ")"]


# A realistic long prompt: the kind people write, several hundred words. Each block begins and ends with plain
# text, so neighbouring blocks join into one segment at weight 1.
BLOCK = [
    ("portrait of a wandering knight in a misty birch forest at dawn, ", 1.0),
    ("masterpiece", 1.2),
    (", ", 1.0),
    ("best quality", ROUND_MULTIPLIER * ROUND_MULTIPLIER),
    (", intricate engraved silver armour, ", 1.0),
    ("red cloak billowing", 0.8),
    (", soft volumetric light through the trees, ", 1.0),
    ("blurry background", SQUARE_MULTIPLIER),
    (", detailed face, looking at viewer, film grain, ", 1.0),
]
BLOCK_TEXT = (
    "portrait of a wandering knight in a misty birch forest at dawn, (masterpiece:1.2), ((best quality)), "
    "intricate engraved silver armour, (red cloak billowing:0.8), soft volumetric light through the trees, "
    "[blurry background], detailed face, looking at viewer, film grain, "
)


def test_a_long_realistic_prompt_parses_exactly_as_a1111():
    repeats = 12
    text = BLOCK_TEXT * repeats
    assert len(text.split()) > 400
    expected: list[tuple[str, float]] = []
    for segment, weight in BLOCK * repeats:
        if expected and expected[-1][1] == weight:
            expected[-1] = (expected[-1][0] + segment, weight)
        else:
            expected.append((segment, weight))
    start = time.perf_counter()
    parsed = parse_prompt(text)
    assert time.perf_counter() - start < SECONDS
    assert list(parsed.segments) == expected  # exact floats: the multiplication order is A1111's
    assert not parsed.diagnostics and not parsed.breaks


def test_a_long_realistic_prompt_with_breaks_and_loras_keeps_every_chunk():
    chunk = BLOCK_TEXT.rstrip(", ")
    text = " BREAK ".join([chunk] * 8) + " <lora:knight style:0.7>"
    parsed = parse_prompt(text)
    single = parse_prompt(chunk).segments
    chunks = parsed.chunks()
    assert chunks[:-1] == [single] * 7
    assert chunks[-1] == (*single[:-1], (single[-1].text + " ", 1.0))  # the tag leaves its space behind
    assert [(tag.name, tag.weight) for tag in parsed.loras] == [("knight style", 0.7)]
