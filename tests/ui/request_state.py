"""A stand-in for ``AppState``'s request side, for panels tested without the window: it records each update."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.request import GenerationRequest


class RequestState(QObject):
    request_changed = Signal(object)

    def __init__(self, request: GenerationRequest | None = None) -> None:
        super().__init__()
        self.request = request or GenerationRequest()
        self.updates: list[dict[str, Any]] = []  # the ``changes`` of every ``update`` call

    def set_request(self, request: GenerationRequest) -> None:
        if request != self.request:
            self.request = request
            self.request_changed.emit(request)

    def update(self, **changes: Any) -> None:
        self.updates.append(changes)
        self.set_request(self.request.with_changes(**changes))
