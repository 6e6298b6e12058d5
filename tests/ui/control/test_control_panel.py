"""The control inputs panel: add, edit, remove, poses from the pose editor, previews and their messages."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPointF
from window_fixture import studio_on_fake_engine

from studio.request import ControlInput, GenerationRequest
from studio.ui.control.control_panel import ControlPanel


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


@pytest.fixture
def panel(qtbot):
    from fake_engine import fake_backend

    from studio.state.worker import GenerationWorker

    worker = GenerationWorker(fake_backend())  # previews run as backend tasks, here in this process
    worker.start(warm_up=False)
    panel = ControlPanel(worker)
    qtbot.addWidget(panel)
    panel.set_canvas_path("/session/sketch.png")
    yield panel
    panel.shutdown()
    assert worker.shutdown(2.0)


@pytest.fixture
def drawing(tmp_path):
    """A black-on-white line drawing, 64×64."""
    image = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(image).line([(8, 32), (56, 32)], fill="black", width=3)
    path = tmp_path / "drawing.png"
    image.save(path)
    return path


def test_add_edit_and_remove_controls(qtbot, panel):
    with qtbot.waitSignal(panel.changed):
        row = panel.add_control("scribble", "canvas")
    control = panel.controls()[0]
    assert (control.type, control.source, control.image) == ("scribble", "canvas", "/session/sketch.png")
    assert control.model.endswith("scribble")
    with qtbot.waitSignal(panel.changed):
        row.scale.setValue(0.65)
    row.start.setValue(0.1)
    row.end.setValue(0.8)
    assert panel.controls()[0].scale == 0.65 and (panel.controls()[0].start, panel.controls()[0].end) == (
        0.1,
        0.8,
    )
    second = panel.add_control("canny", "image")
    second.low.setValue(50)
    second.high.setValue(150)
    assert dict(panel.controls()[1].params) == {"low_threshold": 50, "high_threshold": 150}
    row.enabled.setChecked(False)
    # Switched off: still in the request (so it survives a restart), marked off so nothing uses it.
    assert [(c.type, c.enabled) for c in panel.controls()] == [("scribble", False), ("canny", True)]
    with qtbot.waitSignal(panel.changed):
        second.remove.click()
    assert [c.type for c in panel.controls()] == ["scribble"] and len(panel.rows) == 1


def test_changing_the_type_offers_the_matching_recommended_model(panel):
    row = panel.add_control("scribble", "canvas")
    row.type.setCurrentText("lineart")
    assert panel.controls()[0].model == "lllyasviel/control_v11p_sd15_lineart"
    row.set_model("/models/my-controlnet.safetensors")  # as the folder button picks one
    row.auto_model = False
    row.type.setCurrentText("canny")
    assert panel.controls()[0].model == "/models/my-controlnet.safetensors"  # the artist's own choice stays


def test_a_pose_from_the_pose_editor_is_shown_and_its_model_and_strength_edited(panel, tmp_path):
    pose = ControlInput(type="openpose", image=str(tmp_path / "pose.json"), source="pose", scale=0.9)
    request = GenerationRequest(controls=(pose,))
    panel.set_request(request)
    assert panel.controls() == (pose,)
    row = panel.rows[0]
    assert row.image.isReadOnly() and row.source.currentData() == "pose"
    row.scale.setValue(0.5)
    row.model.setCurrentIndex(row.model.findData("thibaud/controlnet-openpose-sdxl-1.0"))
    row.model.activated.emit(row.model.currentIndex())
    edited = panel.controls()[0]
    assert (edited.source, edited.image, edited.scale) == ("pose", pose.image, 0.5)
    assert edited.model == "thibaud/controlnet-openpose-sdxl-1.0"
    panel.set_request(request.with_changes(controls=(edited,)))
    assert panel.rows[0] is row  # the same controls: the row (and any edit in progress) is kept


def test_the_preview_shows_the_preprocessed_image(qtbot, panel, drawing):
    panel.set_request(GenerationRequest(width=64, height=64))
    row = panel.add_control("scribble", "image")
    row.image.setText(str(drawing))
    row.image.editingFinished.emit()
    qtbot.waitUntil(lambda: not row.preview.pixmap().isNull(), timeout=5000)
    shown = row.preview.pixmap().toImage()
    centre = shown.pixelColor(shown.width() // 2, shown.height() // 2)
    corner = shown.pixelColor(2, 2)
    assert centre.lightness() > 200 and corner.lightness() < 30  # inverted: white line on black


def test_preprocessing_messages_reach_the_message_signal(qtbot, panel, drawing, monkeypatch):
    monkeypatch.delenv("DIFFUSION_STUDIO_ANNOTATORS", raising=False)
    panel.set_request(GenerationRequest(width=32, height=32))
    messages = []
    panel.message.connect(lambda kind, text: messages.append((kind, text)))
    row = panel.add_control("depth", "image")
    row.image.setText(str(drawing))
    row.image.editingFinished.emit()
    qtbot.waitUntil(lambda: bool(messages), timeout=5000)
    kind, text = messages[0]
    assert kind == "error" and "Download" in text and "lllyasviel/Annotators" in text
    row.type.setCurrentText("scribble")  # 64×64 drawing at 32×32: resized, with a notice
    qtbot.waitUntil(lambda: len(messages) >= 2, timeout=5000)
    assert messages[1][0] == "notice" and "resized" in messages[1][1]
    panel.refresh_previews()
    qtbot.wait(600)
    assert len(messages) == 2  # the same notice is not repeated on every refresh


def test_the_sketch_becomes_a_scribble_control_in_the_request(qtbot, studio):
    window, state = studio.window, studio.state
    canvases = window.canvases
    canvas = canvases.sketch.canvas
    canvas.brush_size = 6
    canvas.begin_stroke(QPointF(20, 200))
    canvas.continue_stroke(QPointF(400, 200))
    canvas.end_stroke()
    canvases.control_panel.add_control("scribble", "canvas")
    control = state.request.controls[0]
    assert control.source == "canvas" and control.image == canvases.sketch.sketch_path()
    state.flush_inputs()
    saved = Image.open(control.image).convert("RGBA")
    assert saved.size == (state.request.width, state.request.height)
    assert saved.getpixel((200, 200))[3] == 255 and saved.getpixel((200, 100))[3] == 0
    assert window.side_tabs.tabText(window.side_tabs.indexOf(canvases.control_panel)) == "Control (1)"
    row = canvases.control_panel.rows[0]
    qtbot.waitUntil(lambda: not row.preview.pixmap().isNull(), timeout=5000)


def test_a_restart_brings_back_the_sketch_and_its_control(qtbot, qapp):
    first = studio_on_fake_engine(qtbot, qapp)
    studio = next(first)
    canvas = studio.window.canvases.sketch.canvas
    canvas.begin_stroke(QPointF(10, 10))
    canvas.continue_stroke(QPointF(300, 300))
    canvas.end_stroke()
    studio.window.canvases.control_panel.add_control("lineart", "canvas")
    controls = studio.state.request.controls
    studio.window.close()  # writes the session and the layers
    next(first, None)

    second = studio_on_fake_engine(qtbot, qapp)
    again = next(second)
    canvases = again.window.canvases
    assert again.state.request.controls == controls
    assert canvases.control_panel.controls() == controls
    assert canvases.sketch.canvas.layer().pixelColor(150, 150).alpha() == 255
    next(second, None)


def test_a_pose_added_here_is_pointed_at_the_pose_editor_pose(qtbot, studio):
    panel = studio.window.canvases.control_panel
    panel.add_control("openpose", "pose")
    state = studio.state
    qtbot.waitUntil(lambda: bool(state.request.controls and state.request.controls[0].image), timeout=3000)
    control = state.request.controls[0]
    assert control.source == "pose" and control.image.endswith(".json")
    assert panel.controls() == (control,) and panel.rows[0].image.text() == control.image


def test_the_pose_preview_follows_the_pose(qtbot, studio):
    from studio.pose.pose import Pose
    from studio.pose.skeleton import Point

    panel, state = studio.window.canvases.control_panel, studio.state
    panel.add_control("openpose", "pose")

    def shown():
        # The row is rebuilt once the pose editor points the new control at its pose file.
        pixmap = panel.rows[0].preview.pixmap() if panel.rows else None
        return None if pixmap is None or pixmap.isNull() else pixmap.toImage()

    qtbot.waitUntil(
        lambda: shown() is not None and panel.rows[0].control().image.endswith(".json"), timeout=5000
    )
    qtbot.wait(400)  # any refresh still pending has landed
    before = shown()
    pose = state.pose.pose
    shift = pose.canvas_width / 4
    moved = Pose(
        pose.canvas_width,
        pose.canvas_height,
        tuple(person.map_points(lambda p: Point(p.x + shift, p.y)) for person in pose.people),
    )
    state.pose.set_pose(moved)  # a drag in the pose editor; the file is saved only later
    qtbot.waitUntil(lambda: shown() != before, timeout=5000)


def test_a_switched_off_control_survives_a_restart(qtbot, qapp):
    first = studio_on_fake_engine(qtbot, qapp)
    studio = next(first)
    panel = studio.window.canvases.control_panel
    panel.add_control("lineart", "canvas")
    panel.add_control("canny", "image")
    panel.rows[0].enabled.setChecked(False)
    controls = studio.state.request.controls
    assert [c.enabled for c in controls] == [False, True]
    tabs = studio.window.side_tabs
    assert tabs.tabText(tabs.indexOf(panel)) == "Control (1)"  # the count says what will be used
    studio.window.close()
    next(first, None)

    second = studio_on_fake_engine(qtbot, qapp)
    again = next(second)
    panel = again.window.canvases.control_panel
    assert again.state.request.controls == controls
    assert [row.is_enabled() for row in panel.rows] == [False, True]
    assert panel.controls() == controls
    next(second, None)
