"""Offers a few-step model's or LoRA's settings when the artist chooses one: a suggestion to apply, never a
silent change (``studio.models.few_step`` reads the signs from the files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from studio.models.few_step import FewStepHint, few_step_hint
from studio.request import GenerationRequest

if TYPE_CHECKING:
    from studio.state.app_state import AppState


def _chosen(request: GenerationRequest) -> tuple[str, frozenset[str]]:
    return request.model, frozenset(lora.name for lora in request.loras if lora.enabled)


def already_set(request: GenerationRequest, hint: FewStepHint) -> bool:
    """True when the request already runs the way the hint says (nothing to offer)."""
    return request.sampler == hint.sampler and request.steps <= 8 and request.cfg_scale <= 2.5


class FewStepAdvisor(QObject):
    """``suggestion`` carries the hint and its sentence when a few-step file is chosen, (None, "") when the
    suggestion no longer applies."""

    suggestion = Signal(object, str)

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.current: tuple[str, FewStepHint] | None = None
        self._chosen = _chosen(state.request)  # a restored session's model is not "just chosen"
        self._dismissed: set[str] = set()
        state.request_changed.connect(self._check)

    def hint_for_model(self, reference: str) -> FewStepHint | None:
        entry = self.state.models.find(reference)
        path = (getattr(entry, "extra_path", None) or getattr(entry, "reference", None)) if entry else None
        hint = few_step_hint(Path(str(path))) if path else None
        return hint or few_step_hint(Path(reference))

    def hint_for_lora(self, name: str) -> FewStepHint | None:
        entry: Any = self.state.loras.get(Path(name).stem) or None
        if entry is not None:
            return few_step_hint(entry.path, getattr(entry, "title", None))
        return few_step_hint(Path(name))

    def _check(self, request: GenerationRequest) -> None:
        model, loras = chosen = _chosen(request)
        before_model, before_loras = self._chosen
        if chosen == self._chosen:
            self._drop_if_done(request)
            return
        self._chosen = chosen
        found: tuple[str, FewStepHint] | None = None
        candidates: list[tuple[str, Callable[[str], FewStepHint | None]]] = [
            (name, self.hint_for_lora) for name in sorted(loras - before_loras)
        ]
        if model != before_model and model:
            candidates.append((model, self.hint_for_model))
        for name, read in candidates:
            if name in self._dismissed:
                continue
            hint = read(name)
            if hint is not None and not already_set(request, hint):
                found = (name, hint)
                break
        if found is not None:
            self.current = found
            self.suggestion.emit(found[1], found[1].sentence(Path(found[0]).name))
            return
        if self.current is not None and self.current[0] not in (model, *loras):
            self._clear()  # the file the suggestion was about is no longer chosen

    def _drop_if_done(self, request: GenerationRequest) -> None:
        if self.current is not None and already_set(request, self.current[1]):
            self._clear()  # the artist set it up by hand

    def apply(self) -> None:
        if self.current is None:
            return
        hint = self.current[1]
        self._clear()
        self.state.update(steps=hint.steps, cfg_scale=hint.cfg_scale, sampler=hint.sampler)
        self.state.info(
            f"Set to {hint.steps} steps, CFG {hint.cfg_scale:g}, {hint.sampler} for the {hint.kind} file."
        )

    def dismiss(self) -> None:
        if self.current is not None:
            self._dismissed.add(self.current[0])
        self._clear()

    def _clear(self) -> None:
        self.current = None
        self.suggestion.emit(None, "")
