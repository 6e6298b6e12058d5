"""Queued jobs read frozen copies of the sketch, mask and pose, so later edits never reach them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fake_engine import FakeEngine, Script, fake_backend

from studio.metadata.saving import embedded_pose_json
from studio.pose.pose import Pose, default_pose
from studio.pose.pose_json import load_pose, save_pose
from studio.pose.skeleton import Point
from studio.request import ControlInput, GenerationRequest
from studio.settings import AppSettings
from studio.state.app_state import AppState
from studio.state.input_snapshot import snapshot_inputs
from studio.state.model_list import ModelList
from studio.state.worker import GenerationWorker


def _session(tmp_path: Path) -> Path:
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "sketch.png").write_bytes(b"sketch v1")
    (folder / "mask.png").write_bytes(b"mask v1")
    (folder / "inpaint_source.png").write_bytes(b"picture")
    save_pose(default_pose(), folder / "pose.json")
    return folder


def _request(folder: Path, photo: Path) -> GenerationRequest:
    return GenerationRequest(
        model="fake-model",
        prompt="a knight",
        init_image=str(folder / "inpaint_source.png"),
        mask=str(folder / "mask.png"),
        controls=(
            ControlInput(type="scribble", image=str(folder / "sketch.png"), source="canvas"),
            ControlInput(type="openpose", image=str(folder / "pose.json"), source="pose"),
            ControlInput(type="canny", image=str(photo), source="image"),
        ),
    )


def test_live_files_are_copied_by_content_and_other_files_left(tmp_path):
    folder = _session(tmp_path)
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"the artist's photo")
    request = _request(folder, photo)
    frozen = snapshot_inputs(request, folder)
    inputs = folder / "inputs"
    sketch = Path(frozen.controls[0].image)
    assert sketch.parent == inputs and sketch.suffix == ".png"
    assert sketch.stem == hashlib.sha256(b"sketch v1").hexdigest()[:12]
    assert Path(frozen.controls[1].image).suffix == ".json"
    assert load_pose(frozen.controls[1].image) == default_pose()
    assert Path(frozen.mask).read_bytes() == b"mask v1" and Path(frozen.init_image).parent == inputs
    assert frozen.controls[2] == request.controls[2]  # a photo outside the session is not the studio's
    assert frozen.with_changes(
        controls=request.controls, mask=request.mask, init_image=request.init_image
    ) == (request)
    # Same content, same copy: queueing twice adds no file; an edit makes a new one and keeps the old.
    assert snapshot_inputs(request, folder) == frozen
    assert snapshot_inputs(frozen, folder) == frozen
    (folder / "sketch.png").write_bytes(b"sketch v2")
    later = snapshot_inputs(request, folder)
    assert later.controls[0].image != frozen.controls[0].image
    assert sketch.read_bytes() == b"sketch v1"
    assert len(list(inputs.iterdir())) == 5  # sketch v1 and v2, pose, mask, picture; no temporary files


def test_switched_off_and_missing_inputs_are_not_copied(tmp_path):
    folder = _session(tmp_path)
    off = ControlInput(type="scribble", image=str(folder / "sketch.png"), source="canvas", enabled=False)
    gone = ControlInput(type="lineart", image=str(folder / "deleted.png"), source="canvas")
    request = GenerationRequest(controls=(off, gone))
    assert snapshot_inputs(request, folder) == request
    assert not (folder / "inputs").exists()


@pytest.fixture
def state(qtbot, tmp_path):
    engine = FakeEngine(scripts=[Script(steps=3, pause_at_step=1)])
    worker = GenerationWorker(fake_backend(engine), saver=lambda result, out: [])
    state = AppState(
        AppSettings(output_folder=str(tmp_path / "out")),
        worker,
        ModelList(lambda dirs: []),
        session_path=tmp_path / "session.json",
    )
    state.engine = engine
    worker.start(warm_up=False)
    yield state
    engine.resume.set()
    assert state.shutdown(2.0)


def test_a_queued_job_does_not_see_later_edits(qtbot, state, tmp_path):
    folder = state.session_folder()
    assert folder == tmp_path / "session"
    _session(tmp_path)
    state.pose.set_pose(default_pose())
    live = _request(folder, tmp_path / "photo.png")
    state.set_request(live)
    state.generate()  # runs at once and pauses
    assert state.engine.reached_pause.wait(5)
    waiting = state.generate()  # waits in the queue while the artist keeps drawing
    (folder / "sketch.png").write_bytes(b"drawn after Generate")
    moved = default_pose().people[0].map_points(lambda p: Point(p.x + 40, p.y))
    state.pose.set_pose(Pose(512, 512, (moved,)))
    state.pose.flush()
    queued = waiting.request
    assert Path(queued.controls[0].image).read_bytes() == b"sketch v1"
    assert load_pose(queued.controls[1].image) == default_pose()
    assert embedded_pose_json(queued) != embedded_pose_json(live)  # the metadata embeds the pose as queued
    assert state.request == live  # the artist's request still follows the live files
    state.engine.resume.set()
    qtbot.waitUntil(lambda: len(state.engine.calls) == 2, timeout=5000)
    assert state.engine.calls[1].controls[0].image == queued.controls[0].image
    assert state.snapshot().request == live


def test_a_failed_copy_is_explained_and_nothing_is_queued(qtbot, state, tmp_path, monkeypatch):
    _session(tmp_path)
    state.set_request(_request(state.session_folder(), tmp_path / "photo.png"))
    messages = []
    state.message.connect(lambda *m: messages.append(m))

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("studio.state.input_snapshot.atomic_write_bytes", full)
    assert state.generate() is None
    assert len(state.queue) == 0 and not state.is_running
    assert messages[0][0] == "error" and "No space left on device" in messages[0][1]
