"""AUTOMATIC1111 prompt syntax: weights, escapes, BREAK, extra-network tags and the diagnostics for each."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.errors import RequestError
from studio.prompt.a1111_syntax import ROUND_MULTIPLIER, SQUARE_MULTIPLIER, parse_prompt
from studio.prompt.lora_tags import (
    extra_network_diagnostics,
    find_extra_networks,
    format_lora_tag,
    remove_lora_from_prompt,
    set_lora_weight_in_prompt,
    strip_extra_networks,
)

# The examples in the docstring of AUTOMATIC1111's modules/prompt_parser.py::parse_prompt_attention.
A1111_DOC_EXAMPLES = [
    ("normal text", [["normal text", 1.0]]),
    ("an (important) word", [["an ", 1.0], ["important", 1.1], [" word", 1.0]]),
    ("(unbalanced", [["unbalanced", 1.1]]),
    ("\\(literal\\]", [["(literal]", 1.0]]),
    ("(unnecessary)(parens)", [["unnecessaryparens", 1.1]]),
    (
        "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
        [
            ["a ", 1.0],
            ["house", 1.5730000000000004],
            [" ", 1.1],
            ["on", 1.0],
            [" a ", 1.1],
            ["hill", 0.55],
            [", sun, ", 1.1],
            ["sky", 1.4641000000000006],
            [".", 1.1],
        ],
    ),
]


def pairs(text: str) -> list[list]:
    return [[segment_text, weight] for segment_text, weight in parse_prompt(text).a1111_pairs()]


@pytest.mark.parametrize(("text", "expected"), A1111_DOC_EXAMPLES)
def test_a1111_docstring_examples(text, expected):
    # Exact float equality on purpose: the multiplication order must be AUTOMATIC1111's.
    assert pairs(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("((word))", [["word", 1.0 * ROUND_MULTIPLIER * ROUND_MULTIPLIER]]),
        ("[word]", [["word", SQUARE_MULTIPLIER]]),
        ("[[word]]", [["word", SQUARE_MULTIPLIER * SQUARE_MULTIPLIER]]),
        ("(word:1.3)", [["word", 1.3]]),
        ("(word: 1.3 )", [["word", 1.3]]),
        ("(word:-0.5)", [["word", -0.5]]),
        ("(word:.5)", [["word", 0.5]]),
        # (1/1.1)*1.1 is exactly 1.0 in floats, so "b" merges with "a " as it does in AUTOMATIC1111.
        ("a ([b] c)", [["a b", 1.0], [" c", ROUND_MULTIPLIER]]),
        ("a ([b] c:2)", [["a ", 1.0], ["b", SQUARE_MULTIPLIER * 2.0], [" c", 2.0]]),
        ("[(b:2) c]", [["b", 2.0 * SQUARE_MULTIPLIER], [" c", SQUARE_MULTIPLIER]]),
        # Interleaved brackets close independently, each scaling everything since its own opener.
        (
            "(a[b)c]",
            [["a", ROUND_MULTIPLIER], ["b", ROUND_MULTIPLIER * SQUARE_MULTIPLIER], ["c", SQUARE_MULTIPLIER]],
        ),
        ("x:y", [["x:y", 1.0]]),
        ("(a:b:2)", [["a:b", 2.0]]),
        ("()", [["", 1.0]]),
        ("", [["", 1.0]]),
    ],
)
def test_weights(text, expected):
    assert pairs(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\(a\\)", "(a)"),
        ("\\[a\\]", "[a]"),
        ("back\\\\slash", "back\\slash"),
        ("\\\\(a)", "\\"),  # an escaped backslash does not escape the bracket after it
    ],
)
def test_escapes_are_literal_characters(text, expected):
    assert parse_prompt(text).segments[0] == (expected, 1.0)
    assert not parse_prompt(text).diagnostics


def test_a_lone_backslash_is_dropped_with_a_warning():
    parsed = parse_prompt("a\\b")
    assert parsed.segments == (("ab", 1.0),)
    assert [(d.position, d.severity) for d in parsed.diagnostics] == [(1, "warning")]


def test_break_splits_chunks_and_reports_positions():
    text = "a cat BREAK\n(red) hat BREAK"
    parsed = parse_prompt(text)
    assert parsed.a1111_pairs() == [
        ("a cat", 1.0),
        ("BREAK", -1.0),
        ("", 1.0),
        ("red", 1.1),
        (" hat", 1.0),
        ("BREAK", -1.0),
        ("", 1.0),
    ]
    assert [b.position for b in parsed.breaks] == [m.start() for m in re.finditer("BREAK", text)]
    assert parsed.chunks() == [(("a cat", 1.0),), (("", 1.0), ("red", 1.1), (" hat", 1.0)), (("", 1.0),)]
    assert not parsed.diagnostics


@pytest.mark.parametrize("text", ["xBREAK y", "BREAKS", "break", "a_BREAK"])
def test_break_only_as_a_whole_word(text):
    parsed = parse_prompt(text)
    assert parsed.breaks == () and parsed.segments == ((text, 1.0),)


def test_break_inside_brackets_still_breaks_but_warns():
    parsed = parse_prompt("(a BREAK b)")
    assert parsed.chunks() == [(("a", 1.1),), (("b", 1.1),)]
    assert [(d.position, d.severity) for d in parsed.diagnostics] == [(3, "warning")]
    assert "BREAK" in parsed.diagnostics[0].message


@pytest.mark.parametrize(
    ("text", "positions"),
    [
        ("a (b", [2]),
        ("a [b", [2]),
        ("((a) [b", [0, 5]),
        ("a) b", [1]),
        ("a] b", [1]),
        ("a:2) b", [3]),
        ("(a]", [2, 0]),
    ],
)
def test_unbalanced_brackets_are_reported_where_they_are(text, positions):
    diagnostics = parse_prompt(text).diagnostics
    assert sorted(d.position for d in diagnostics) == sorted(positions)
    assert all(d.severity == "warning" and d.message.endswith(".") for d in diagnostics)


def test_unbalanced_brackets_keep_a1111_results():
    assert pairs("a) b") == [["a) b", 1.0]]
    assert pairs("a:2) b") == [["a:2) b", 1.0]]
    assert pairs("[a (b") == [["a ", SQUARE_MULTIPLIER], ["b", 1.0 * ROUND_MULTIPLIER * SQUARE_MULTIPLIER]]


@pytest.mark.parametrize(
    ("text", "expected", "position", "severity"),
    [
        ("(word:abc)", [["word:abc", 1.1]], 5, "warning"),
        ("(word:)", [["word:", 1.1]], 5, "warning"),
        ("x (word:1,5)", [["x ", 1.0], ["word:1,5", 1.1]], 7, "warning"),
        ("(word:1.2.3)", [["word:1.2.3", 1.1]], 6, "error"),
    ],
)
def test_bad_weights(text, expected, position, severity):
    parsed = parse_prompt(text)
    assert pairs(text) == expected
    assert [(d.position, d.severity) for d in parsed.diagnostics] == [(position, severity)]


def test_colon_inside_nested_square_is_not_a_bad_weight():
    assert not parse_prompt("([a:b])").diagnostics


@pytest.mark.parametrize("name", ["my lora", "style.v1.5", "стиль_水彩", "detail tweaker (v2)"])
def test_lora_names_with_spaces_dots_and_unicode(name):
    text = f"a cat <lora:{name}:0.7> hat"
    parsed = parse_prompt(text)
    (tag,) = parsed.loras
    assert (tag.kind, tag.name, tag.weight) == ("lora", name, 0.7)
    assert text[tag.start : tag.end] == f"<lora:{name}:0.7>"
    assert parsed.clean_text == "a cat  hat"
    assert parsed.segments == (("a cat  hat", 1.0),)
    assert not parsed.diagnostics


def test_extra_network_tags():
    text = "<lora:a> x <lyco:b:0.3> <hypernet:c:0.5> <lora:d:0.2:0.9>"
    clean, tags = strip_extra_networks(text)
    assert clean == " x   "
    assert [(t.kind, t.name, t.weight) for t in tags] == [
        ("lora", "a", 1.0),
        ("lyco", "b", 0.3),
        ("hypernet", "c", 0.5),
        ("lora", "d", 0.2),
    ]
    assert [text[t.start : t.end] for t in tags] == re.findall(r"<[^>]+>", text)
    parsed = parse_prompt(text)
    assert [t.name for t in parsed.loras] == ["a", "d"]
    # The two kinds the studio cannot apply are named in a warning, at their own positions.
    assert [(d.position, d.severity) for d in parsed.diagnostics] == [(11, "warning"), (24, "warning")]


def test_not_a_tag_stays_text():
    assert strip_extra_networks("a <b> <:x> <lora x>") == ("a <b> <:x> <lora x>", [])


@pytest.mark.parametrize(
    ("text", "positions"),
    [
        ("<lora::0.5>", [6]),
        ("<lora: :0.5>", [6]),
        ("<lora:x:abc>", [8]),
        ("<lora:x:te=abc>", [8]),
        ("<lora::abc>", [6, 7]),
    ],
)
def test_lora_tag_problems_are_errors_at_their_position(text, positions):
    diagnostics = extra_network_diagnostics(find_extra_networks(text)[0])
    assert [d.position for d in diagnostics] == positions
    assert all(d.severity == "error" for d in diagnostics)


def test_diagnostic_positions_index_the_typed_text_after_tags():
    text = "<lora:a:1>(x <lora:b:2> y"
    parsed = parse_prompt(text)
    assert parsed.segments == (("x  y", 1.1),)
    (diagnostic,) = parsed.diagnostics
    assert text[diagnostic.position] == "("


def test_break_positions_index_the_typed_text_after_tags():
    text = "<lora:a:1> x BREAK y"
    assert [b.position for b in parse_prompt(text).breaks] == [text.index("BREAK")]


@pytest.mark.parametrize(
    ("name", "weight", "expected"),
    [("ink", 0.75, "<lora:ink:0.75>"), ("ink", 1.0, "<lora:ink:1>"), ("a b.c", -0.00001, "<lora:a b.c:0>")],
)
def test_format_lora_tag(name, weight, expected):
    tag = format_lora_tag(name, weight)
    assert tag == expected
    assert find_extra_networks(tag)[0].name == name


@pytest.mark.parametrize(("name", "weight"), [("", 1.0), ("a:b", 1.0), ("a>b", 1.0), ("ok", float("nan"))])
def test_format_lora_tag_refuses_what_cannot_be_written(name, weight):
    with pytest.raises(RequestError):
        format_lora_tag(name, weight)


def test_set_lora_weight_in_prompt():
    assert (
        set_lora_weight_in_prompt("cat <lora:x:0.5> <lora:y:0.5>", "x", 0.8)
        == "cat <lora:x:0.8> <lora:y:0.5>"
    )
    assert set_lora_weight_in_prompt("<lora:x>", "x", 0.3) == "<lora:x:0.3>"
    assert set_lora_weight_in_prompt("<lora:x:0.5:0.2>", "x", 1.5) == "<lora:x:1.5:0.2>"
    assert set_lora_weight_in_prompt("<lora:x:te=0.5:dyn=4>", "x", 2) == "<lora:x:te=2:dyn=4>"
    assert set_lora_weight_in_prompt("cat", "new one", 0.6) == "cat <lora:new one:0.6>"
    assert set_lora_weight_in_prompt("cat ", "n", 1) == "cat <lora:n:1>"
    assert set_lora_weight_in_prompt("", "n", 1) == "<lora:n:1>"
    # Only lora tags of that exact name are touched.
    assert (
        set_lora_weight_in_prompt("<lyco:x:1> <lora:xy:1>", "x", 0.5) == "<lyco:x:1> <lora:xy:1> <lora:x:0.5>"
    )


def test_set_then_parse_round_trips_the_weight():
    text = set_lora_weight_in_prompt("a (cat) <lora:ink:0.2>", "ink", 0.45)
    assert [(t.name, t.weight) for t in parse_prompt(text).loras] == [("ink", 0.45)]


def test_remove_lora_from_prompt():
    assert remove_lora_from_prompt("a <lora:x:1> b", "x") == "a b"
    assert remove_lora_from_prompt("<lora:x:1> a", "x") == "a"
    assert remove_lora_from_prompt("a, <lora:x:1>", "x") == "a,"
    assert remove_lora_from_prompt("<lora:x:1><lora:y:1> <lora:x:0.5>", "x") == "<lora:y:1>"
    assert remove_lora_from_prompt("<lora:xy:1> <hypernet:x:1>", "x") == "<lora:xy:1> <hypernet:x:1>"


SPECIAL = "()[]\\<>"


def escape(text: str) -> str:
    return re.sub(r"([\\()\[\]])", r"\\\1", text)


# Arbitrary text, and text dense in syntax so that brackets, weights, tags and BREAK meet in odd ways.
SYNTAX_HEAVY = st.lists(st.sampled_from([*"()[]\\:<>=, .-+1x\n", "BREAK", "lora"]), max_size=40).map("".join)


@given(st.one_of(st.text(), SYNTAX_HEAVY))
def test_parse_never_raises_and_positions_stay_in_the_text(text):
    parsed = parse_prompt(text)
    assert parsed.segments
    assert all(0 <= d.position <= len(text) and d.message for d in parsed.diagnostics)
    assert all(text.startswith("BREAK", b.position) for b in parsed.breaks)
    assert all(0 <= b.segment_index <= len(parsed.segments) for b in parsed.breaks)


@given(st.text(alphabet=st.characters(blacklist_characters=SPECIAL)).filter(lambda t: "BREAK" not in t))
def test_plain_text_parses_to_itself(text):
    parsed = parse_prompt(text)
    assert parsed.segments == ((text, 1.0),)
    assert parsed.diagnostics == () and parsed.breaks == () and parsed.extra_networks == ()


@given(
    st.text(alphabet=st.characters(blacklist_characters="<>"), min_size=1).filter(lambda t: "BREAK" not in t),
    st.decimals(min_value=-5, max_value=5, places=2),
)
def test_escaped_text_in_a_weighted_bracket_keeps_text_and_weight(text, weight):
    parsed = parse_prompt(f"({escape(text)}:{weight})")
    assert parsed.segments == ((text, float(weight)),)
    assert not parsed.diagnostics
