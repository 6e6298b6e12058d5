"""Live prompt-syntax feedback: a wavy underline under each problem and a line below the editor saying where.

The check runs ``DELAY_MS`` after the last keystroke (typing must never stutter) and only shows; it never
changes the prompt and never blocks Generate: AUTOMATIC1111's reading of a faulty prompt is still what runs.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QWidget

from studio.prompt.a1111_syntax import ParsedPrompt, PromptLimitError, parse_prompt
from studio.prompt.diagnostics import PromptDiagnostic
from studio.ui.shell.theme import colour

DELAY_MS = 300
MAX_LINES = 3  # more than this and the editor would be pushed around; the rest are counted

ExtraCheck = Callable[[ParsedPrompt], list[PromptDiagnostic]]

_STOP = set(" \t\n,:>()[]<")


def span(text: str, position: int) -> tuple[int, int]:
    """The characters to underline for a problem at ``position``: a whole tag, a bracket, a weight or a word."""
    if position >= len(text):
        return max(0, len(text) - 1), len(text)
    char = text[position]
    if char == "<":
        end = text.find(">", position)
        return position, (end + 1 if end >= 0 else len(text))
    if char in "()[]\\":
        return position, position + 1
    start = position + 1 if char == ":" else position
    while start < len(text) and text[start] in " \t\n":
        start += 1
    end = start
    while end < len(text) and text[end] not in _STOP:
        end += 1
    return (position, end) if end > position else (position, position + 1)


def where(text: str, position: int) -> str:
    """ "Column 14" (1-based) on a one-line prompt, "Line 2, column 3" otherwise."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return f"Column {column}" if "\n" not in text else f"Line {line}, column {column}"


class PromptDiagnostics(QObject):
    """Watches ``edit``; ``line`` is the label to place under it (hidden while the prompt is fine)."""

    def __init__(self, edit: QPlainTextEdit, parent: QWidget | None = None, delay_ms: int = DELAY_MS) -> None:
        super().__init__(parent or edit)
        self.edit = edit
        self.extra_check: ExtraCheck | None = None
        self._found: list[PromptDiagnostic] = []
        self.line = QLabel(parent)
        self.line.setObjectName("promptDiagnostics")
        self.line.setWordWrap(True)
        self.line.setTextFormat(Qt.TextFormat.RichText)
        self.line.setAccessibleName(f"{edit.accessibleName() or 'Prompt'} problems")
        self.line.linkActivated.connect(self._go_to)
        self.line.hide()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.check_now)
        edit.textChanged.connect(self._timer.start)
        edit.installEventFilter(self)  # a theme switch must recolour the underlines

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.edit and event.type() == QEvent.Type.PaletteChange and self._found:
            self.check_now()
        return super().eventFilter(watched, event)

    def set_extra_check(self, check: ExtraCheck | None) -> None:
        """Problems only the window can know (a LoRA name not in the library); checked with the syntax."""
        self.extra_check = check
        self.check_now()

    def diagnostics(self) -> list[PromptDiagnostic]:
        return list(self._found)

    def pending(self) -> bool:
        return self._timer.isActive()

    def check_now(self) -> None:
        self._timer.stop()
        text = self.edit.toPlainText()
        try:
            parsed = parse_prompt(text)
        except PromptLimitError as error:  # past the caps nothing else is worth saying: say that, at the start
            found = [PromptDiagnostic(0, str(error), "error")]
        else:
            found = list(parsed.diagnostics)
            if self.extra_check is not None:
                found.extend(self.extra_check(parsed))
        found.sort(key=lambda d: (d.position, d.severity != "error"))
        self._found = found
        self._underline(text, found)
        self._describe(text, found)

    def _underline(self, text: str, found: list[PromptDiagnostic]) -> None:
        selections = []
        for problem in found:
            start, end = span(text, problem.position)
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            error = problem.severity == "error"
            fmt.setUnderlineColor(colour("error" if error else "notice"))
            # A wave under one bracket is easy to miss; the tint makes the spot findable at a glance.
            fmt.setBackground(colour("error_bg" if error else "notice_bg"))
            fmt.setToolTip(problem.message)
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.edit.document())
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            selection.format = fmt
            selections.append(selection)
        self.edit.setExtraSelections(selections)

    def _describe(self, text: str, found: list[PromptDiagnostic]) -> None:
        if not found:
            self.line.clear()
            self.line.hide()
            return
        rows = []
        for problem in found[:MAX_LINES]:
            error = problem.severity == "error"
            tint = colour("error" if error else "notice").name()
            rows.append(
                f'<span style="color:{tint}">{"✖" if error else "⚠"} <a href="{problem.position}" '
                f'style="color:{tint}">{where(text, problem.position)}</a>: '
                f"{html.escape(problem.message, quote=False)}</span>"
            )
        if len(found) > MAX_LINES:
            rows.append(f"…and {len(found) - MAX_LINES} more (hover the underlines).")
        self.line.setText("<br>".join(rows))
        self.line.show()

    def _go_to(self, link: str) -> None:
        start, end = span(self.edit.toPlainText(), int(link))
        cursor = self.edit.textCursor()
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        self.edit.setTextCursor(cursor)
        self.edit.setFocus()
