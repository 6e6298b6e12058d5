"""Session autosave: debounced, atomic, restorable; unreadable files are kept aside and explained."""

from __future__ import annotations

import json

from studio.request import GenerationRequest, HiresSettings
from studio.state.debounced_writer import DEBOUNCE_MS
from studio.state.session import Session, SessionAutosave, load_session, session_file

REQUEST = GenerationRequest(
    model="m", prompt="a knight in armor", style="digital-art", seed=42, hires=HiresSettings(scale=2.0)
)


def test_session_round_trips_request_and_queue(tmp_path):
    session = Session(request=REQUEST, queue=[REQUEST.with_changes(prompt="two"), REQUEST])
    path = tmp_path / "session.json"
    path.write_text(session.to_json(), encoding="utf-8")
    loaded, problem = load_session(path)
    assert problem is None
    assert loaded == session


def test_missing_session_is_a_fresh_start(studio_home):
    session, problem = load_session()
    assert session == Session() and problem is None
    assert session_file().parent == studio_home


def test_unreadable_session_is_kept_aside_and_explained(tmp_path):
    path = tmp_path / "session.json"
    path.write_text("{not json", encoding="utf-8")
    session, problem = load_session(path)
    assert session == Session()
    assert "could not be restored" in problem and "session.json.bad" in problem
    assert (tmp_path / "session.json.bad").read_text(encoding="utf-8") == "{not json"
    assert not path.exists()


def test_session_from_a_newer_studio_is_not_silently_dropped(tmp_path):
    path = tmp_path / "session.json"
    path.write_text(json.dumps({"version": 99, "request": {}, "queue": []}), encoding="utf-8")
    _session, problem = load_session(path)
    assert problem and "99" in problem


def test_autosave_is_debounced(qtbot, tmp_path):
    current = {"request": REQUEST}
    path = tmp_path / "s" / "session.json"
    autosave = SessionAutosave(lambda: Session(request=current["request"]), path)
    for n in range(5):
        current["request"] = REQUEST.with_changes(prompt=f"typing {n}")
        autosave.schedule()
    assert not path.exists() and autosave.pending()
    qtbot.waitUntil(lambda: path.exists(), timeout=DEBOUNCE_MS * 5)
    assert autosave.saves == 1
    assert load_session(path)[0].request.prompt == "typing 4"


def test_autosave_failure_is_said_once(qtbot, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    errors = []
    autosave = SessionAutosave(lambda: Session(), blocker / "session.json", on_error=errors.append)
    autosave.flush()
    autosave.flush()
    assert len(errors) == 1 and "could not be saved" in errors[0]
