"""The prompt side: what to draw, what to avoid, three preset pickers and the exact final prompt."""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFormLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from studio.errors import StudioError
from studio.prompt.compose import compose
from studio.request import GenerationRequest
from studio.ui.binding import FieldBinding, RequestState
from studio.ui.prompt.preset_picker import PresetPicker
from studio.ui.prompt.prompt_diagnostics import PromptDiagnostics
from studio.ui.prompt.prompt_editing import insert_phrase, replace_text
from studio.ui.prompt.text_height import GrowWithText

PRESET_KINDS = (("style", "Style"), ("lighting", "Lighting"), ("composition", "Composition"))


class PromptPanel(QWidget):
    """Edits the prompt fields of the state's request: ``bind(state)`` ties each field to its widget once."""

    generate_requested = Signal()  # Ctrl+Enter in a text field

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bindings: list[FieldBinding] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        self.prompt = self._text_edit(
            "Prompt",
            "Describe the picture: a knight in armor, castle at dusk…",
            "What to draw. Ctrl+Enter generates. (word:1.2) gives a word more weight.",
            90,
        )
        self.negative = self._text_edit(
            "Negative prompt",
            "What to avoid: blurry, extra fingers…",
            "What the picture should not contain. Ctrl+Enter generates.",
            50,
        )
        # Syntax problems are underlined as the artist types, with a line saying where (never blocking).
        self.prompt_check = PromptDiagnostics(self.prompt, self)
        self.negative_check = PromptDiagnostics(self.negative, self)
        layout.addWidget(self._caption("Prompt", self.prompt))
        layout.addWidget(self.prompt)
        layout.addWidget(self.prompt_check.line)
        layout.addWidget(self._caption("Negative prompt", self.negative))
        layout.addWidget(self.negative)
        layout.addWidget(self.negative_check.line)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.pickers: dict[str, PresetPicker] = {}
        for kind, label in PRESET_KINDS:
            picker = PresetPicker(kind, self)
            self.pickers[kind] = picker
            form.addRow(label, picker)
        layout.addLayout(form)

        self.final = QPlainTextEdit(self)
        self.final.setReadOnly(True)
        self.final.setObjectName("finalPrompt")
        self.final.setAccessibleName("Final prompt")
        self.final.setToolTip("Exactly what is sent to the model: your prompt with the presets' words added.")
        self.final.setMinimumHeight(80)  # the room the prompts leave is the final prompt's, to read it whole
        self.final.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        layout.addWidget(self._caption("Final prompt (sent to the model)", self.final))
        layout.addWidget(self.final, 1)

        # The prompts are as tall as their text, within limits; the final prompt takes what is left.
        self.prompt_height = GrowWithText(self.prompt, min_lines=3, max_lines=12)
        self.negative_height = GrowWithText(self.negative, min_lines=2, max_lines=6)
        self.update_final(GenerationRequest())

    def _text_edit(self, name: str, placeholder: str, tip: str, min_height: int) -> QPlainTextEdit:
        edit = QPlainTextEdit(self)
        edit.setPlaceholderText(placeholder)
        edit.setToolTip(tip)
        edit.setAccessibleName(name)
        edit.setMinimumHeight(min_height)
        edit.setTabChangesFocus(True)
        edit.installEventFilter(self)
        return edit

    def _caption(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setObjectName("caption")
        label.setBuddy(buddy)
        return label

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
            ):
                self.generate_requested.emit()
                return True
        return super().eventFilter(watched, event)

    # --- request <-> widgets --------------------------------------------------------------------------------

    def bind(self, state: RequestState) -> None:
        """Tie each prompt field of ``state.request`` to its widget, once."""
        fields = [
            (name, edit, edit.textChanged, edit.toPlainText, partial(self._write_text, edit))
            for name, edit in (("prompt", self.prompt), ("negative_prompt", self.negative))
        ]
        fields += [
            (kind, picker, picker.preset_changed, picker.preset_id, picker.set_preset_id)
            for kind, picker in self.pickers.items()
        ]
        for name, widget, edited, value, show in fields:
            self.bindings.append(
                FieldBinding(
                    state,
                    (name,),
                    read=lambda name=name, value=value: {name: value()},
                    write=lambda request, name=name, show=show: show(getattr(request, name)),
                    edited=(edited,),
                    widgets=(widget,),
                )
            )
        state.request_changed.connect(lambda _request: self.update_final(state.request))
        self.update_final(state.request)

    def _write_text(self, edit: QPlainTextEdit, text: str) -> None:
        # Only the changed part is replaced: the cursor stays and Ctrl+Z undoes e.g. a LoRA slider's edit.
        replace_text(edit, text)
        # Written with the edit's signals blocked, so its syntax check is asked for here.
        (self.prompt_check if edit is self.prompt else self.negative_check).check_now()

    def insert_at_cursor(self, phrase: str) -> None:
        """Put ``phrase`` (a trigger word) into the prompt at the cursor, as the artist's own edit."""
        insert_phrase(self.prompt, phrase)

    def update_final(self, request: GenerationRequest) -> None:
        try:
            final_prompt, final_negative = compose(request)
        except StudioError as exc:  # e.g. a preset that no longer exists: say so where the prompt would be
            text = str(exc)
        else:
            text = final_prompt or "(empty)"
            if final_negative:
                text += f"\n\nNegative: {final_negative}"
        if self.final.toPlainText() != text:
            self.final.setPlainText(text)
