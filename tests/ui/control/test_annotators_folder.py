"""The annotators folder setting: chosen in its dialog, kept, handed to the engine, previews and pose detection."""

from __future__ import annotations

import pytest
from window_fixture import studio_on_fake_engine

from studio.models.annotators import ANNOTATORS_ENV
from studio.settings import load_settings


@pytest.fixture
def studio(qtbot, qapp, monkeypatch):
    monkeypatch.delenv(ANNOTATORS_ENV, raising=False)
    yield from studio_on_fake_engine(qtbot, qapp)


@pytest.fixture
def folder(tmp_path):
    folder = tmp_path / "annotators"
    folder.mkdir()
    (folder / "dpt_hybrid-midas-501f0c75.pt").write_bytes(b"weights")
    return folder


def test_the_dialog_explains_checks_and_saves_the_folder(qtbot, studio, folder):
    window, state = studio.window, studio.state
    action = next(a for a in window.actions() if a.text() == "Annotators folder…")
    action.trigger()
    dialog = window.menus.annotators_dialog
    assert "lllyasviel/Annotators" in dialog.intro.text()
    dialog.path.setText(str(folder))
    assert "Depth of a photo: ready" in dialog.status.text()
    assert "Detect pose from a photo: needs body_pose_model.pth" in dialog.status.text()
    assert not dialog.override.isVisibleTo(dialog)
    with qtbot.waitSignal(state.annotators_changed) as changed:
        dialog.accept()
    assert changed.args == [folder]
    assert load_settings()[0].annotators_folder == str(folder)
    assert window.canvases.control_panel.annotators_folder == folder
    # The engine gets it between jobs, through the backend.
    assert state.worker.backend.config.annotators_dir == str(folder)


def test_the_environment_variable_overrides_the_setting(qtbot, studio, folder, tmp_path, monkeypatch):
    state = studio.state
    state.set_annotators_folder(str(folder))
    assert state.annotators_folder() == folder
    monkeypatch.setenv(ANNOTATORS_ENV, str(tmp_path / "shared"))
    assert state.annotators_folder() == tmp_path / "shared"
    studio.window.menus.choose_annotators_folder()
    dialog = studio.window.menus.annotators_dialog
    assert dialog.override.isVisibleTo(dialog) and ANNOTATORS_ENV in dialog.override.text()
    dialog.reject()


def test_pose_detection_looks_in_the_chosen_folder(qtbot, studio, folder, tmp_path, monkeypatch):
    from PIL import Image

    from studio.pose.pose import Pose

    asked = []

    def detect(path, width, height, *, folder=None):
        asked.append(folder)
        return Pose(width, height, ())

    monkeypatch.setattr("studio.engine.pose_detect.detect_pose", detect)
    studio.state.set_annotators_folder(str(folder))
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), "grey").save(photo)
    editor = studio.window.pose_editor
    editor.reference_path = photo
    editor.detect()
    qtbot.waitUntil(lambda: asked == [folder], timeout=5000)
