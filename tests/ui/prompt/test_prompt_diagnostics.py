"""Live prompt-syntax feedback: wavy underlines at the problem, a message line with the column, never blocking."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fake_engine import FakeEngine, fake_backend
from PySide6.QtGui import QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from studio.prompt.diagnostics import PromptDiagnostic
from studio.ui.prompt.prompt_diagnostics import MAX_LINES, PromptDiagnostics, span, where


@pytest.fixture
def checked(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    edit = QPlainTextEdit(host)
    yield edit, PromptDiagnostics(edit, host, delay_ms=50)  # yield: the host must outlive the test


def shown(check: PromptDiagnostics) -> str:
    document = QTextDocument()
    document.setHtml(check.line.text())
    return document.toPlainText()


def underlines(edit: QPlainTextEdit) -> list[tuple[int, int, QTextCharFormat.UnderlineStyle]]:
    return [
        (s.cursor.selectionStart(), s.cursor.selectionEnd(), s.format.underlineStyle())
        for s in edit.extraSelections()
    ]


def test_an_unclosed_bracket_is_underlined_and_described_after_a_pause(qtbot, checked):
    edit, check = checked
    text = "a castle, (misty:1.2), (sunset"
    qtbot.keyClicks(edit, text)
    assert check.pending() and check.diagnostics() == []  # nothing while the artist is still typing
    qtbot.waitUntil(lambda: not check.pending(), timeout=2000)
    position = text.index("(sunset")
    assert [d.position for d in check.diagnostics()] == [position]
    assert underlines(edit) == [(position, position + 1, QTextCharFormat.UnderlineStyle.WaveUnderline)]
    assert shown(check).startswith(f"⚠ Column {position + 1}: This '(' is never closed")
    assert not check.line.isHidden()
    qtbot.keyClicks(edit, ")")
    qtbot.waitUntil(lambda: not check.pending(), timeout=2000)
    assert check.diagnostics() == [] and edit.extraSelections() == [] and check.line.isHidden()


def test_a_bad_lora_weight_underlines_the_weight_as_an_error(checked):
    edit, check = checked
    text = "cat <lora:ink:heavy> dog"
    edit.setPlainText(text)
    check.check_now()
    (problem,) = check.diagnostics()
    assert problem.severity == "error"
    start, end, _style = underlines(edit)[0]
    assert text[start:end] == "heavy"
    assert shown(check).startswith(f"✖ Column {text.index('heavy') + 1}: The weight 'heavy'")


def test_a_prompt_past_the_length_cap_is_one_error_not_a_crash(qtbot, checked):
    """Pasting megabytes (a whole file's metadata) into the prompt: said once, at the start, within a second."""
    from studio.prompt.a1111_syntax import MAX_PROMPT_CHARS

    edit, check = checked
    edit.setPlainText("(castle " * (MAX_PROMPT_CHARS // 4))
    qtbot.waitUntil(lambda: not check.pending(), timeout=2000)
    (problem,) = check.diagnostics()
    assert problem.severity == "error" and problem.position == 0
    assert shown(check).startswith("✖ Column 1: The prompt is")
    assert f"at most {MAX_PROMPT_CHARS:,}" in shown(check)


def test_lines_and_columns_on_a_multi_line_prompt_and_the_link_selects_the_problem(checked):
    edit, check = checked
    text = "first line\nab ]cd"
    edit.setPlainText(text)
    check.check_now()
    assert shown(check).startswith("⚠ Line 2, column 4:")
    check.line.linkActivated.emit(str(text.index("]")))
    assert edit.textCursor().selectedText() == "]"


def test_many_problems_are_counted_not_all_listed(checked):
    edit, check = checked
    edit.setPlainText("a) b] c) d] e)")
    check.check_now()
    assert len(check.diagnostics()) == 5
    assert shown(check).count("\n") == MAX_LINES  # three problems, then the count
    assert shown(check).endswith("…and 2 more (hover the underlines).")


def test_an_extra_check_adds_its_problems(checked):
    edit, check = checked
    edit.setPlainText("cat <lora:nobody:1>")
    check.set_extra_check(lambda parsed: [PromptDiagnostic(parsed.loras[0].start, "Unknown LoRA.", "error")])
    assert [d.message for d in check.diagnostics()] == ["Unknown LoRA."]
    assert edit.toPlainText()[slice(*underlines(edit)[0][:2])] == "<lora:nobody:1>"


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("x <lora:a:1> y", 2, "<lora:a:1>"),
        ("(word", 0, "("),
        ("(word:1.x)", 5, ":1.x"),
        ("a BREAK b", 1, " BREAK"),
        ("end", 3, "d"),
    ],
)
def test_span_covers_the_whole_offending_piece(text, position, expected):
    start, end = span(text, position)
    assert text[start:end] == expected


def test_where_counts_from_one():
    assert where("abc", 0) == "Column 1"
    assert where("ab\ncd", 4) == "Line 2, column 2"


def test_a_faulty_prompt_still_generates_unchanged(qtbot, qapp):
    from studio.app import build_studio

    model = SimpleNamespace(name="tiny", reference="/models/tiny", family="sd15")
    studio = build_studio(qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: [model])
    qtbot.addWidget(studio.window)
    studio.start_background(warm_up=False)
    try:
        qtbot.waitUntil(lambda: studio.state.models.loaded, timeout=5000)
        prompt = studio.window.prompt_panel.prompt
        qtbot.keyClicks(prompt, "a (castle at dusk")
        check = studio.window.prompt_panel.prompt_check
        qtbot.waitUntil(lambda: not check.pending() and bool(check.diagnostics()), timeout=2000)
        with qtbot.waitSignal(studio.state.result_ready, timeout=10000):
            studio.window.generate()
        assert studio.state.request.prompt == "a (castle at dusk" == prompt.toPlainText()
    finally:
        studio.state.shutdown(2.0)
