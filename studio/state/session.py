"""Nothing lost: the session (current request and queue) is saved on every change and restored at start.

Saves are debounced (~300 ms after the last change) and atomic, as GenerationRequest JSON, so a crash or a
killed process loses at most the last fraction of a second of typing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject

from studio import paths
from studio.atomic import keep_aside
from studio.errors import StudioError
from studio.request import GenerationRequest
from studio.state.debounced_writer import DebouncedWriter

log = logging.getLogger("studio.session")

SESSION_VERSION = 1


@dataclass
class Session:
    request: GenerationRequest = field(default_factory=GenerationRequest)
    queue: list[GenerationRequest] = field(default_factory=list)

    def to_json(self) -> str:
        data = {
            "version": SESSION_VERSION,
            "request": self.request.to_dict(),
            "queue": [r.to_dict() for r in self.queue],
        }
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Session:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("queue", []), list):
            raise ValueError("not a session object")
        if data.get("version", SESSION_VERSION) != SESSION_VERSION:
            raise ValueError(f"unknown session format {data.get('version')!r}")
        request = GenerationRequest.from_dict(data.get("request") or {})
        return cls(
            request=request, queue=[GenerationRequest.from_dict(item) for item in data.get("queue", [])]
        )


def session_file() -> Path:
    return paths.data_dir() / "session.json"


def session_folder(session_path: Path | None = None) -> Path:
    """Where the session's drawn layers, its pose and the queue's frozen inputs live: the ``session`` folder
    beside the session file (``session_path``, else ``session_file()``), so a test's session keeps them too."""
    return (session_path or session_file()).parent / "session"


def load_session(path: Path | None = None) -> tuple[Session, str | None]:
    """The saved session, or a fresh one. An unreadable file is kept aside as ``.bad`` and explained."""
    path = path or session_file()
    if not path.exists():
        return Session(), None
    try:
        return Session.from_json(path.read_text(encoding="utf-8")), None
    except (OSError, ValueError, StudioError) as exc:
        log.warning("unreadable session %s: %s", path, exc)
        backup = keep_aside(path)
        return Session(), (
            f"The last session could not be restored ({exc}), so the studio starts fresh. The old file was kept "
            f"as '{backup}'."
        )


class SessionAutosave(DebouncedWriter):
    """Calls ``snapshot`` and writes it ``DEBOUNCE_MS`` after the last ``schedule()``; ``flush()`` writes now."""

    def __init__(
        self,
        snapshot: Callable[[], Session],
        path: Path | None = None,
        on_error: Callable[[str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        from studio.atomic import atomic_write_text

        path = path or session_file()
        super().__init__(
            lambda: atomic_write_text(path, snapshot().to_json()),
            path,
            "The session could not be saved to '{path}' ({error}). Your work is still open; free some disk "
            "space or check the folder's permissions.",
            on_error,
            parent=parent,
        )
