"""Edits to a prompt editor that keep the artist's cursor and undo history (``setPlainText`` loses both)."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit


def replace_text(edit: QPlainTextEdit, text: str) -> None:
    """Make ``edit`` hold ``text`` by replacing only the part that differs, as one undoable step."""
    old = edit.toPlainText()
    if old == text:
        return
    start = 0
    limit = min(len(old), len(text))
    while start < limit and old[start] == text[start]:
        start += 1
    end_old, end_new = len(old), len(text)
    while end_old > start and end_new > start and old[end_old - 1] == text[end_new - 1]:
        end_old -= 1
        end_new -= 1
    cursor = QTextCursor(edit.document())
    cursor.setPosition(start)
    cursor.setPosition(end_old, QTextCursor.MoveMode.KeepAnchor)
    cursor.insertText(text[start:end_new])


def insert_phrase(edit: QPlainTextEdit, phrase: str) -> None:
    """Insert ``phrase`` at the cursor as a prompt item, adding ", " where it would run into other words."""
    cursor = edit.textCursor()
    text = edit.toPlainText()
    before = text[: cursor.selectionStart()].rstrip(" ")
    after = text[cursor.selectionEnd() :]
    prefix = ", " if before and before[-1] not in ",(\n[" else (" " if before.endswith(",") else "")
    suffix = ""
    if after.strip() and after.lstrip(" ")[0] not in ",)]\n":
        suffix = "," if after.startswith(" ") else ", "
    cursor.beginEditBlock()
    # Drop the spaces before the cursor that the prefix replaces, so no "word ,  phrase" appears.
    cursor.setPosition(len(before), QTextCursor.MoveMode.MoveAnchor)
    cursor.setPosition(edit.textCursor().selectionEnd(), QTextCursor.MoveMode.KeepAnchor)
    cursor.insertText(prefix + phrase + suffix)
    cursor.endEditBlock()
    edit.setTextCursor(cursor)
    edit.setFocus()
