"""A1111 prompt editing and alternation read into step schedules, checked against A1111's own documented example."""

from __future__ import annotations

import pytest

from studio.prompt.prompt_editing import has_edits, prompt_schedule, switch_step, text_at


def test_a1111_documented_example():
    # The example at the top of A1111's modules/prompt_parser.py, with its schedule for 100 steps.
    prompt = (
        "fantasy landscape with a [mountain:lake:0.25] and [an oak:a christmas tree:0.75][ in foreground::0.6]"
        "[: in background:0.25] [shoddy:masterful:0.5]"
    )
    assert prompt_schedule(prompt, 100) == [
        (25, "fantasy landscape with a mountain and an oak in foreground shoddy"),
        (50, "fantasy landscape with a lake and an oak in foreground in background shoddy"),
        (60, "fantasy landscape with a lake and an oak in foreground in background masterful"),
        (75, "fantasy landscape with a lake and an oak in background masterful"),
        (100, "fantasy landscape with a lake and a christmas tree in background masterful"),
    ]


@pytest.mark.parametrize(
    ("prompt", "steps", "schedule"),
    [
        ("a [cat:dog:0.5]", 4, [(2, "a cat"), (4, "a dog")]),
        ("a [cat:dog:3]", 10, [(3, "a cat"), (10, "a dog")]),  # no '.': a step number
        ("a [cat:dog:1.0]", 10, [(10, "a cat")]),  # '.': a fraction, all steps
        ("[dog:5] x", 10, [(5, " x"), (10, "dog x")]),  # [to:when]
        ("[dog::5] x", 10, [(5, "dog x"), (10, " x")]),  # [from::when]
        ("[cat:dog:0.05]", 10, [(10, "dog")]),  # a switch before step 1: 'dog' throughout
        ("a [cat|dog] b", 3, [(1, "a cat b"), (2, "a dog b"), (3, "a cat b")]),
        ("[a|b|]", 3, [(1, "a"), (2, "b"), (3, "")]),
        ("(a [b:c:1] d:1.2) [ugly] (x)", 4, [(1, "(a b d:1.2) [ugly] (x)"), (4, "(a c d:1.2) [ugly] (x)")]),
        ("[[red:blue:0.5]|green]", 4, [(1, "red"), (2, "green"), (3, "blue"), (4, "green")]),
        (
            "keep [a:b] and [unclosed:x:0.5 and : colons",
            4,
            [(4, "keep [a:b] and [unclosed:x:0.5 and : colons")],
        ),
        (r"\[cat:dog:0.5\]", 4, [(4, r"\[cat:dog:0.5\]")]),  # escaped brackets are text
    ],
)
def test_forms(prompt, steps, schedule):
    assert prompt_schedule(prompt, steps) == schedule
    plain_text = prompt.startswith(("keep", "\\"))  # the last two cases: brackets that edit nothing
    assert has_edits(prompt) is not plain_text


def test_a_sampling_step_uses_the_first_entry_ending_at_or_after_it():
    schedule = prompt_schedule("[cat:dog:0.5]", 20)
    assert schedule == [(10, "cat"), (20, "dog")]
    # A1111 compares the 0-based sampler step with each entry's step: 'cat' for steps 0..10, 'dog' after.
    assert [text_at(schedule, s) for s in (0, 10, 11, 19)] == ["cat", "cat", "dog", "dog"]
    assert switch_step("0.5", 20) == 10 and switch_step("30", 20) == 20


def test_and_is_marked_as_unsupported_composable_diffusion():
    from studio.prompt.a1111_syntax import parse_prompt

    parsed = parse_prompt("<lora:ink:1> a cat AND a dog:1.2, ANDROID, sand")
    [diagnostic] = parsed.diagnostics
    assert diagnostic.severity == "error" and "composable diffusion" in diagnostic.message
    assert parsed.text[diagnostic.position :].startswith(
        "AND a dog"
    )  # placed in the typed text, tag included
