"""PoseStore: debounced atomic autosave and restore, fitting to the generation size, the pose control in the
request, and the pose embedded in a saved PNG coming back on "reuse settings"."""

from __future__ import annotations

import json

import pytest
from fake_engine import FakeEngine, fake_backend
from PIL import Image

from studio.metadata.png_chunks import POSE_KEY, read_text_chunks
from studio.metadata.reader import read_image_settings
from studio.metadata.saving import save_result
from studio.pose.pose import default_pose
from studio.pose.pose_json import load_pose, save_pose
from studio.pose.presets import load_pose_preset
from studio.request import ControlInput, GenerationRequest
from studio.results import GenerationResult, ModelInfo
from studio.settings import AppSettings
from studio.state.app_state import AppState
from studio.state.pose_store import (
    PoseStore,
    fit_pose,
    pose_control,
    pose_file,
    with_pose_control,
    without_pose_control,
)
from studio.state.worker import GenerationWorker


def test_a_change_is_saved_after_the_debounce_and_restored_by_a_new_store(qtbot, studio_home):
    store = PoseStore()
    assert store.path == pose_file() and str(store.path).startswith(str(studio_home))
    waving = load_pose_preset("waving")
    seen = []
    store.changed.connect(seen.append)
    store.set_pose(waving)
    assert seen == [waving] and store.pending() and not store.path.exists()
    qtbot.waitUntil(lambda: store.path.exists(), timeout=2000)
    assert not store.pending()
    assert load_pose(store.path) == waving
    assert PoseStore().pose == waving  # what the next start shows


def test_without_a_file_the_store_starts_with_the_default_figure():
    store = PoseStore()
    assert store.pose == default_pose() and store.load_problem is None


def test_an_unreadable_pose_file_is_kept_aside_and_explained(studio_home):
    pose_file().parent.mkdir(parents=True)
    pose_file().write_text("{ not json", encoding="utf-8")
    store = PoseStore()
    assert store.pose == default_pose()
    assert "could not be restored" in store.load_problem
    assert pose_file().with_suffix(".json.bad").read_text(encoding="utf-8") == "{ not json"


def test_a_failed_save_is_reported_once_and_the_pose_is_kept(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    errors = []
    store = PoseStore(blocker / "session" / "pose.json", on_error=errors.append)
    pose = load_pose_preset("sitting")
    store.set_pose(pose)
    store.flush()
    store.flush()
    assert len(errors) == 1 and "could not be saved" in errors[0]
    assert store.pose == pose


def test_fit_to_keeps_proportions_and_going_back_restores_the_pose():
    store = PoseStore()
    original = store.pose
    nose = original.people[0].body[0]
    store.fit_to(768, 512)  # wider: the same figure, centred, room at the sides
    assert store.pose.size == (768, 512)
    assert store.pose.people[0].body[0] == pytest.approx((nose.x + 128, nose.y))
    store.fit_to(512, 768)  # taller: scaled with the height about the centre line
    assert store.pose.people[0].body[0] == pytest.approx((256 + (nose.x - 256) * 1.5, nose.y * 1.5))
    for width, height in ((640, 640), (1024, 576), (512, 512)):
        store.fit_to(width, height)
    for before, after in zip(original.people[0].points(), store.pose.people[0].points(), strict=True):
        assert after.x == pytest.approx(before.x) and after.y == pytest.approx(before.y)
    assert fit_pose(original, 512, 512) is original


def test_the_pose_control_is_added_updated_in_place_and_removed(tmp_path):
    scribble = ControlInput(type="scribble", image="sketch.png", model="cn-scribble", source="canvas")
    request = GenerationRequest(controls=(scribble,))
    assert pose_control(request) is None
    added = with_pose_control(request, tmp_path / "pose.json", "cn-openpose")
    control = pose_control(added)
    assert added.controls[0] == scribble
    assert (control.type, control.source, control.image, control.model) == (
        "openpose",
        "pose",
        str(tmp_path / "pose.json"),
        "cn-openpose",
    )
    weaker = added.with_changes(controls=(scribble, ControlInput(**{**vars(control), "scale": 0.4})))
    updated = with_pose_control(weaker, tmp_path / "other.json", "cn-other")
    assert len(updated.controls) == 2
    assert pose_control(updated).scale == 0.4 and pose_control(updated).model == "cn-other"
    assert without_pose_control(updated).controls == (scribble,)


def _result_with_pose_control(pose_path) -> GenerationResult:
    control = ControlInput(type="openpose", image=str(pose_path), model="cn-openpose", source="pose")
    request = GenerationRequest(
        model="tiny", prompt="a dancer", seed=7, width=64, height=64, controls=(control,)
    )
    return GenerationResult(
        request=request,
        images=[Image.new("RGB", (64, 64))],
        seeds=[7],
        prompt="a dancer",
        negative_prompt="",
        model=ModelInfo(name="tiny", family="sd15"),
    )


def test_saved_pngs_embed_the_pose_only_when_a_pose_control_is_present(tmp_path):
    pose_path = tmp_path / "made-elsewhere.json"
    save_pose(load_pose_preset("running"), pose_path)
    (with_pose,) = save_result(_result_with_pose_control(pose_path), tmp_path / "out")
    assert load_pose(read_text_chunks(with_pose)[POSE_KEY]) == load_pose_preset("running")
    plain = _result_with_pose_control(pose_path)
    plain.request = plain.request.with_changes(controls=())
    (without,) = save_result(plain, tmp_path / "out")
    assert POSE_KEY not in read_text_chunks(without)


def test_reusing_settings_restores_the_embedded_pose_into_the_session(qtbot, tmp_path):
    pose_path = tmp_path / "made-elsewhere.json"
    save_pose(load_pose_preset("running"), pose_path)
    (saved,) = save_result(_result_with_pose_control(pose_path), tmp_path / "out")
    pose_path.unlink()  # the file the request names is gone, as on another machine
    worker = GenerationWorker(fake_backend(FakeEngine()))
    state = AppState(AppSettings(), worker, session_path=tmp_path / "home" / "session.json")
    state.apply_image_settings(read_image_settings(saved))
    control = pose_control(state.request)
    assert control.image == str(state.pose.path) == str(tmp_path / "home" / "session" / "pose.json")
    assert control.model == "cn-openpose"
    assert state.pose.pose == fit_pose(load_pose_preset("running"), 64, 64)
    assert load_pose(state.pose.path) == state.pose.pose  # written at once: the engine reads it


def test_a_broken_embedded_pose_keeps_the_current_pose_and_says_so(qtbot, tmp_path):
    errors = []
    store = PoseStore(tmp_path / "pose.json", on_error=errors.append)
    request = with_pose_control(GenerationRequest(), tmp_path / "x.json", "cn")
    kept = store.restore_from_metadata({POSE_KEY: json.dumps({"people": "nope"})}, request)
    assert kept == request and store.pose == default_pose()
    assert len(errors) == 1 and "cannot be used" in errors[0]
