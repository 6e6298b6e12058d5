"""Bind one request field (or a few that are one value to the artist) to the widget(s) that edit it.

The widget's edit sends only its own field to the state (``state.update(field=value)``); a request change from
anywhere writes the widget back only where it shows something else, with the widget's signals blocked, so the
widget that sent an edit is never reset (its cursor and undo history stay) and no guard flag is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from typing import Any, Protocol

from PySide6.QtCore import QObject, QSignalBlocker, SignalInstance

from studio.request import GenerationRequest


class RequestState(Protocol):
    """What a binding needs of the state: the request, ``update(**changes)`` and ``request_changed``."""

    request_changed: SignalInstance

    @property
    def request(self) -> GenerationRequest: ...

    def update(self, **changes: Any) -> None: ...


class FieldBinding:
    """``read()`` gives the widget's value of ``fields`` as a dict; ``write(request)`` shows the request's."""

    def __init__(
        self,
        state: RequestState,
        fields: Sequence[str],
        read: Callable[[], dict[str, Any]],
        write: Callable[[GenerationRequest], None],
        edited: Iterable[SignalInstance],
        widgets: Iterable[QObject],
    ) -> None:
        self.state = state
        self.fields = tuple(fields)
        self._read = read
        self._write = write
        self._widgets = tuple(widgets)
        for signal in edited:
            signal.connect(self.commit)
        state.request_changed.connect(self.show)
        self.show()

    def values(self, request: GenerationRequest) -> dict[str, Any]:
        return {field: getattr(request, field) for field in self.fields}

    def commit(self, *_args: Any) -> None:
        """Send the widget's value to the state, if it is not what the request already holds."""
        shown = self._read()
        if shown != self.values(self.state.request):
            self.state.update(**shown)

    def show(self, *_args: Any) -> None:
        """Write the state's request into the widget, only where the widget shows something else.

        The state's current request is used, not a signal's argument: a slot that changes the request again
        from inside ``request_changed`` would otherwise leave this widget showing the older one.
        """
        request = self.state.request
        if self._read() == self.values(request):
            return
        with ExitStack() as stack:
            for widget in self._widgets:
                stack.enter_context(QSignalBlocker(widget))
            self._write(request)
