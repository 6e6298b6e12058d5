"""The main window against the fake engine: generate, previews, queue, errors, cancel, close, theme, reuse."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_engine import FakeEngine, Script, fake_backend
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit

from studio.errors import ModelError
from studio.request import GenerationRequest

MODEL = SimpleNamespace(name="tiny", reference="/models/tiny", family="sd15")


@pytest.fixture
def make_studio(qtbot, qapp):
    made = []

    def make(engine: FakeEngine | None = None, models=(MODEL,)):
        from studio.app import build_studio

        studio = build_studio(
            qapp, backend=fake_backend(lambda: engine or FakeEngine()), discover=lambda dirs: list(models)
        )
        qtbot.addWidget(studio.window)
        studio.window.resize(1280, 800)
        studio.window.show()
        studio.start_background(warm_up=False)
        made.append(studio)
        qtbot.waitUntil(lambda: studio.state.models.loaded, timeout=5000)
        return studio

    yield make
    for studio in made:
        studio.state.shutdown(2.0)


def type_prompt(qtbot, window, text="a knight in armor"):
    window.prompt_panel.prompt.setFocus()
    qtbot.keyClicks(window.prompt_panel.prompt, text)
    window.settings_panel.width.setValue(64)
    window.settings_panel.height.setValue(64)


def test_typing_updates_the_request_and_the_first_model_is_chosen(qtbot, make_studio):
    studio = make_studio()
    window, state = studio.window, studio.state
    assert state.request.model == "/models/tiny"
    type_prompt(qtbot, window)
    window.prompt_panel.pickers["lighting"].set_preset_id("moonlight")
    window.prompt_panel.pickers["lighting"].preset_changed.emit("moonlight")
    assert state.request.prompt == "a knight in armor" and state.request.lighting == "moonlight"
    assert "moon" in window.prompt_panel.final.toPlainText().lower()
    assert state.autosave.pending()


def test_generate_shows_previews_then_the_image_in_canvas_and_gallery(qtbot, make_studio):
    studio = make_studio(FakeEngine(default=Script(steps=4, step_delay_s=0.05)))
    window, state = studio.window, studio.state
    type_prompt(qtbot, window)
    qtbot.mouseClick(window.progress_panel.generate, Qt.MouseButton.LeftButton)
    assert window.progress_panel.cancel.isEnabled()
    qtbot.waitUntil(lambda: window.canvas.previews_shown >= 1, timeout=5000)
    assert window.canvas.current_pixmap().size().toTuple() == (64, 64)  # scaled up to the output size
    qtbot.waitUntil(lambda: not state.is_running, timeout=5000)
    assert window.progress_panel.status.text().startswith("Done: 1 image")
    qtbot.waitUntil(lambda: len(window.gallery.paths()) == 1, timeout=5000)
    saved = window.gallery.paths()[0]
    assert saved.parent == state.settings.outputs() and saved.suffix == ".png"
    # The final picture (the fake engine's orange) replaced the grey previews.
    assert window.canvas.current_pixmap().toImage().pixelColor(0, 0).getRgb()[:3] == (200, 120, 40)
    assert window.settings_panel.reuse_seed.isEnabled()
    qtbot.mouseClick(window.settings_panel.reuse_seed, Qt.MouseButton.LeftButton)  # through the state's seed
    assert state.request.seed == state.last_seed == 1234
    assert not window.settings_panel.random_seed.isChecked() and window.settings_panel.seed.text() == "1234"


def test_generate_while_running_queues_and_the_queue_panel_can_remove(qtbot, make_studio):
    engine = FakeEngine(scripts=[Script(steps=3, pause_at_step=1)])
    studio = make_studio(engine)
    window, state = studio.window, studio.state
    type_prompt(qtbot, window)
    window.generate()
    assert engine.reached_pause.wait(5)
    assert window.progress_panel.generate.text() == "Add to queue"
    window.generate()
    window.generate()
    assert window.queue_panel.list.count() == 2
    window.queue_panel.list.setCurrentRow(0)
    window.queue_panel.remove.click()
    assert window.queue_panel.list.count() == 1
    engine.resume.set()
    qtbot.waitUntil(lambda: len(engine.calls) == 2 and not state.is_running, timeout=5000)
    assert window.queue_panel.list.count() == 0


def test_engine_errors_show_as_sentences_with_details_and_no_crash(qtbot, make_studio):
    engine = FakeEngine(
        scripts=[
            Script(error=ModelError("The model file 'x' is truncated. Download it again.")),
            Script(error=KeyError("unet")),
        ]
    )
    studio = make_studio(engine)
    window, state = studio.window, studio.state
    type_prompt(qtbot, window)
    window.generate()
    qtbot.waitUntil(lambda: not state.is_running and bool(window.messages.messages()), timeout=5000)
    assert ("error", "The model file 'x' is truncated. Download it again.") in window.messages.messages()
    assert window.progress_panel.status.text().startswith("Failed")
    window.generate()
    # The second failure replaces the first (it belonged to the job before): one banner, the newest.
    qtbot.waitUntil(lambda: len(engine.calls) == 2 and not state.is_running, timeout=5000)
    assert len(window.messages.rows()) == 1
    row = window.messages.rows()[-1]
    assert row.message.startswith("Something went wrong while generating")
    assert row.details_button is not None and "KeyError" in row.detail_view.toPlainText()
    assert window.isVisible()


def test_escape_cancels_the_running_generation(qtbot, make_studio):
    engine = FakeEngine(scripts=[Script(steps=50, pause_at_step=2)])
    studio = make_studio(engine)
    window, state = studio.window, studio.state
    type_prompt(qtbot, window)
    window.generate()
    assert engine.reached_pause.wait(5)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    window.prompt_panel.prompt.setFocus()
    qtbot.keyClick(window.prompt_panel.prompt, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not state.is_running, timeout=5000)
    assert window.progress_panel.status.text() == "Cancelled"
    assert len(engine.calls) == 1


def test_closing_during_a_generation_cancels_it_quickly(qtbot, make_studio):
    engine = FakeEngine(scripts=[Script(steps=50, pause_at_step=2)])
    studio = make_studio(engine)
    type_prompt(qtbot, studio.window)
    studio.window.generate()
    assert engine.reached_pause.wait(5)
    started = time.monotonic()
    studio.window.close()
    assert time.monotonic() - started < 2.0
    assert engine.unloaded  # the worker ended: cancelled, then unloaded the engine
    assert studio.state.snapshot().queue[0].prompt == "a knight in armor"


def test_closing_exits_the_process_within_2_s_even_if_the_engine_ignores_cancel(tmp_path):
    """The worker is a daemon thread: an engine stuck in a long torch op cannot keep the studio open."""
    script = textwrap.dedent(
        """
        import sys, threading, time
        sys.path.insert(0, sys.argv[1])
        from PySide6.QtWidgets import QApplication
        from fake_engine import FakeEngine, Script, fake_backend
        from studio.app import build_studio
        stuck = threading.Event()
        class Stubborn(FakeEngine):
            def generate(self, request, on_step=None, cancel=None, on_stage=None, on_batch=None):
                stuck.set()
                time.sleep(60)  # ignores cancel, like one endless torch call
        app = QApplication([])
        studio = build_studio(app, backend=fake_backend(Stubborn), discover=lambda dirs: [])
        studio.window.show()
        studio.start_background(warm_up=False)
        studio.state.update(model="m", prompt="a knight")
        studio.state.generate()
        assert stuck.wait(5)
        t = time.monotonic()
        studio.window.close()
        print(f"closed {time.monotonic() - t:.2f}", flush=True)
        """
    )
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).resolve().parents[2])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    closed_s = float(run.stdout.split()[-1])
    assert closed_s < 2.0
    assert time.monotonic() - started < 30


def test_theme_switch_is_remembered(qtbot, make_studio):
    from studio.settings import load_settings
    from studio.ui.shell import theme

    studio = make_studio()
    studio.window.menus.themes["light"].trigger()
    assert theme.current_theme() == "light"
    assert load_settings()[0].theme == "light"
    studio.window.menus.themes["dark"].trigger()
    assert theme.current_theme() == "dark"


def test_reuse_settings_and_seed_from_a_gallery_image(qtbot, make_studio):
    studio = make_studio(FakeEngine())
    window, state = studio.window, studio.state
    type_prompt(qtbot, window, "a dragon over the sea")
    window.settings_panel.steps.setValue(17)
    window.generate()
    qtbot.waitUntil(lambda: not state.is_running and len(window.gallery.paths()) == 1, timeout=5000)
    image = window.gallery.paths()[0]
    state.set_request(GenerationRequest(model="/models/tiny", prompt="something else"))
    window.gallery.reuse_settings_requested.emit(image)
    assert state.request.prompt == "a dragon over the sea" and state.request.steps == 17
    assert state.request.model == "/models/tiny"
    assert window.prompt_panel.prompt.toPlainText() == "a dragon over the sea"
    state.update(seed=-1)
    window.gallery.reuse_seed_requested.emit(image)
    assert state.request.seed == 1234
    window.gallery.img2img_requested.emit(image)
    assert state.request.init_image == str(image)


def test_every_control_has_a_tooltip_and_an_accessible_name(make_studio):
    window = make_studio().window
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QPlainTextEdit)
    controls = [w for kind in kinds for w in window.findChildren(kind) if w.isVisibleTo(window)]
    # Qt's own parts (a line edit's clear button) are described by Qt.
    controls = [w for w in controls if not isinstance(w.parent(), QLineEdit)]
    assert len(controls) > 25
    missing = [
        f"{type(w).__name__} {w.objectName()!r} in {type(w.parent()).__name__}"
        for w in controls
        if not (w.toolTip() and w.accessibleName())
    ]
    assert missing == []


def test_the_window_shows_before_torch_is_imported(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        started = time.perf_counter()
        from PySide6.QtWidgets import QApplication
        from studio.app import build_studio, make_application
        app = make_application(sys.argv[:1])
        studio = build_studio(app)
        studio.window.show()
        app.processEvents()
        print("torch" in sys.modules, round(time.perf_counter() - started, 2), flush=True)
        """
    )
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen", "DIFFUSION_STUDIO_HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stderr
    torch_imported, seconds = run.stdout.split()
    assert torch_imported == "False"
    assert float(seconds) < 5.0  # ~0.3 s here; the bound only catches an accidental torch import


def test_ctrl_enter_generates_from_anywhere_in_the_window(qtbot, make_studio):
    engine = FakeEngine()
    studio = make_studio(engine)
    window = studio.window
    type_prompt(qtbot, window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    window.settings_panel.steps.setFocus()
    qtbot.keyClick(window.settings_panel.steps, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(engine.calls) == 1 and not studio.state.is_running, timeout=5000)
    window.prompt_panel.prompt.setFocus()
    qtbot.keyClick(window.prompt_panel.prompt, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(engine.calls) == 2, timeout=5000)
    assert window.prompt_panel.prompt.toPlainText() == "a knight in armor"


def test_a_bug_in_a_slot_becomes_a_message_not_a_crash(qtbot, make_studio, monkeypatch):
    import sys

    from studio.app import UNEXPECTED_UI, install_excepthook

    studio = make_studio()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_excepthook(studio.state)
    try:
        raise ValueError("a bug")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    row = studio.window.messages.rows()[-1]
    assert row.message == UNEXPECTED_UI and "ValueError: a bug" in row.detail_view.toPlainText()


def test_dropping_or_pasting_an_image_restores_its_settings(qtbot, make_studio):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtWidgets import QApplication

    studio = make_studio(FakeEngine())
    window, state = studio.window, studio.state
    type_prompt(qtbot, window, "a lighthouse in a storm")
    window.settings_panel.steps.setValue(13)
    window.generate()
    qtbot.waitUntil(lambda: not state.is_running and len(window.gallery.paths()) == 1, timeout=5000)
    image = window.gallery.paths()[0]
    state.set_request(GenerationRequest(model="/models/tiny", prompt="something else"))

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image))])
    assert window.apply_mime(mime)
    assert state.request.prompt == "a lighthouse in a storm" and state.request.steps == 13
    assert window.prompt_panel.prompt.toPlainText() == "a lighthouse in a storm"

    state.set_request(GenerationRequest(model="/models/tiny", prompt="again"))
    QApplication.clipboard().setMimeData(mime)
    window.paste_settings()
    assert state.request.prompt == "a lighthouse in a storm"


def test_pasted_a1111_text_reports_what_could_not_be_mapped(qtbot, make_studio):
    from PySide6.QtCore import QMimeData

    studio = make_studio()
    window, state = studio.window, studio.state
    mime = QMimeData()
    mime.setText(
        "a castle on a hill\nNegative prompt: blurry\nSteps: 22, Sampler: Euler a, CFG scale: 6, Seed: 77, "
        "Size: 512x768, Clip skip: 2, ENSD: 31337, Model: tiny"
    )
    assert window.apply_mime(mime)
    assert state.request.prompt == "a castle on a hill" and state.request.seed == 77
    assert (state.request.width, state.request.height, state.request.steps) == (512, 768, 22)
    assert state.request.model == "/models/tiny"  # "tiny" matched to the installed model
    assert state.request.clip_skip == 2
    assert any("ENSD" in text for _kind, text in window.messages.messages())


def test_dropping_something_without_settings_says_so(qtbot, make_studio, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl

    studio = make_studio()
    before = studio.state.request
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "notes.txt"))])
    assert not studio.window.apply_mime(mime)
    assert studio.state.request == before
    assert studio.window.messages.messages()[-1][0] == "error"


def test_dropping_an_openpose_file_without_a_canvas_opens_it_in_the_pose_editor(qtbot, make_studio, tmp_path):
    import json

    from PySide6.QtCore import QMimeData, QUrl

    studio = make_studio()
    body_25 = [v for i in range(25) for v in (20.0 + 3 * i, 40.0 + 2 * i, 0.9)]
    path = tmp_path / "keypoints.json"
    path.write_text(json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": body_25}] * 2}))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    assert studio.window.apply_mime(mime)
    editor = studio.window.pose_editor
    assert studio.window.canvas.tabs.currentWidget() is editor
    assert len(editor.store.pose.people) == 2
    notes = [text for kind, text in studio.window.messages.messages() if kind == "notice"]
    assert any("no canvas size" in text for text in notes) and any("BODY_25" in text for text in notes)


def test_pasting_plain_text_only_sets_the_prompt(qtbot, make_studio):
    from PySide6.QtCore import QMimeData

    studio = make_studio()
    studio.state.update(steps=9, seed=5, negative_prompt="blurry")
    mime = QMimeData()
    mime.setText("a red fox in the snow")
    assert studio.window.apply_mime(mime)
    request = studio.state.request
    assert request.prompt == "a red fox in the snow"
    assert (request.steps, request.seed, request.negative_prompt) == (9, 5, "blurry")


def test_first_run_without_models_then_the_demo_model(qtbot, make_studio, monkeypatch, tmp_path):
    demo = {"sd15": tmp_path / "demo" / "sd15", "sdxl": tmp_path / "demo" / "sdxl"}
    built = []

    def write_demo_models(folder):
        built.append(folder)
        return demo

    monkeypatch.setattr("studio.engine.demo_models.write_demo_models", write_demo_models)
    found: list = []
    studio = make_studio(models=found)  # the list object is read at each discovery
    window, state = studio.window, studio.state
    assert window.stack.currentWidget() is window.first_run
    assert not window.gallery.isVisible()
    found.append(SimpleNamespace(name="sd15", reference=str(demo["sd15"]), family="sd15"))
    window.first_run.demo_requested.emit()
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.canvas, timeout=5000)
    assert built and state.request.model == str(demo["sd15"])
    assert window.gallery.isVisible()
    assert str(demo["sd15"].parent) in state.settings.model_dirs

    window.first_run.folder_chosen.emit(tmp_path / "a1111")
    assert str(tmp_path / "a1111") in state.settings.model_dirs


def test_every_listed_shortcut_is_bound_so_the_help_never_lies(make_studio):
    from PySide6.QtGui import QAction, QKeySequence

    from studio.ui.shell.shortcuts import SHORTCUTS

    window = make_studio().window
    actions = {a.objectName(): a for a in window.findChildren(QAction) if a.objectName()}
    for action_id, keys, _description in SHORTCUTS:
        assert action_id in actions, f"{action_id} is listed in the help but bound to nothing"
        assert QKeySequence(keys) in actions[action_id].shortcuts(), action_id


def test_gallery_navigation_copy_and_save_as(qtbot, make_studio, tmp_path):
    from PySide6.QtWidgets import QApplication

    from studio.metadata.reader import read_image_settings

    studio = make_studio(FakeEngine())
    window, state = studio.window, studio.state
    type_prompt(qtbot, window, "first")
    window.generate()
    qtbot.waitUntil(lambda: not state.is_running, timeout=5000)
    state.update(prompt="second")
    window.generate()
    qtbot.waitUntil(lambda: not state.is_running and len(window.gallery.paths()) == 2, timeout=5000)
    newest, older = window.gallery.paths()
    assert window.shown_path == newest
    window.show_adjacent(1)
    assert window.shown_path == older
    window.show_adjacent(1)  # stays on the last one
    assert window.shown_path == older
    window.show_adjacent(-1)
    assert window.shown_path == newest

    window.copy_image()
    assert QApplication.clipboard().pixmap().size() == window.canvas.current_pixmap().size()
    target = tmp_path / "keep.png"
    window.save_shown_image(target)
    assert read_image_settings(target).request.prompt == "second"  # the settings travel with the copy
    window.save_shown_image(tmp_path / "missing-folder" / "x.png")
    assert window.messages.messages()[-1][0] == "error"


def test_the_download_model_menu_opens_the_download_dialog(qtbot, make_studio):
    """The menu's triggered(checked) signal once reached download_model as a repo id of False."""
    from studio.ui.models.download_dialog import DownloadDialog

    window = make_studio().window
    action = next(a for menu in window.menuBar().actions() for a in menu.menu().actions()
                  if a.text() == "Download model…")  # fmt: skip
    action.trigger()
    dialog = window.findChild(DownloadDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=2000)
    dialog.reject()
