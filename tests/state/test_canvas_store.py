"""The canvas store: layers saved atomically as PNG, at most ~0.5 s after a stroke, restored after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
from PIL import Image

from studio.state.canvas_store import CanvasStore
from studio.state.session import session_folder


def layer(value: int, size: int = 32) -> np.ndarray:
    pixels = np.zeros((size, size, 4), np.uint8)
    pixels[: value % size, :, 3] = 255
    return pixels


def test_save_now_and_load_round_trip_atomically(studio_home):
    store = CanvasStore()
    path = store.save_now("sketch", layer(10))
    assert path == session_folder() / "sketch.png" and path.parent.parent == studio_home
    assert np.array_equal(CanvasStore().load("sketch"), layer(10))
    assert [p.name for p in path.parent.iterdir()] == ["sketch.png"]  # no temporary file left behind
    assert CanvasStore().load("mask") is None
    store.remove("sketch")
    assert not path.exists()


def test_a_steady_stream_of_strokes_is_saved_within_a_second(qtbot, tmp_path):
    store = CanvasStore(tmp_path, delay_ms=300)
    saved_at: list[float] = []
    store.saved.connect(lambda _layer, _path: saved_at.append(time.monotonic()))
    start = time.monotonic()
    counter = {"n": 0}

    def stroke():
        counter["n"] += 1
        value = counter["n"]
        store.schedule("sketch", lambda: layer(value))

    while time.monotonic() - start < 1.6:  # never a pause long enough for a debounce to fire
        stroke()
        qtbot.wait(50)
    assert saved_at and saved_at[0] - start < 1.0
    assert len(saved_at) >= 3
    store.flush()
    assert np.array_equal(store.load("sketch"), layer(counter["n"]))
    store.close()


def test_flush_writes_what_is_pending(tmp_path):
    store = CanvasStore(tmp_path, delay_ms=10_000)
    store.schedule("mask", lambda: layer(7))
    assert store.pending() and not store.path("mask").exists()
    store.flush()
    assert not store.pending() and np.array_equal(store.load("mask"), layer(7))


def test_an_unreadable_layer_is_reported_and_left_in_place(tmp_path):
    store = CanvasStore(tmp_path)
    store.path("sketch").write_bytes(b"not a png")
    messages = []
    store.failed.connect(messages.append)
    assert store.load("sketch") is None
    assert "could not be read" in messages[0] and store.path("sketch").exists()


def test_killing_the_app_mid_drawing_loses_at_most_the_last_second(tmp_path):
    """A child draws one row per stroke every 40 ms and is SIGKILLed; every row drawn >1 s before survives."""
    script = textwrap.dedent(
        """
        import os, sys, time
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from PySide6.QtCore import QPointF
        from PySide6.QtWidgets import QApplication
        from studio.state.canvas_store import CanvasStore
        from studio.ui.canvas.layer_pixels import qimage_to_rgba
        from studio.ui.canvas.sketch_canvas import SketchCanvas
        app = QApplication([])
        canvas = SketchCanvas(256, 256)
        canvas.brush_size = 1
        store = CanvasStore()
        canvas.changed.connect(lambda: store.schedule("sketch", lambda: qimage_to_rgba(canvas.layer())))
        for row in range(250):
            canvas.begin_stroke(QPointF(2, row))
            canvas.continue_stroke(QPointF(250, row))
            canvas.end_stroke()
            print(row, time.time(), flush=True)
            deadline = time.monotonic() + 0.04
            while time.monotonic() < deadline:
                app.processEvents()
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    drawn: list[tuple[int, float]] = []
    try:
        while len(drawn) < 45:  # ~1.8 s of drawing
            line = child.stdout.readline()
            assert line, "the drawing process ended early"
            row, when = line.split()
            drawn.append((int(row), float(when)))
        child.send_signal(signal.SIGKILL)
        killed_at = time.time()
    finally:
        child.kill()
        child.wait()
    saved = np.asarray(Image.open(session_folder() / "sketch.png").convert("RGBA"))[..., 3]
    must_survive = [row for row, when in drawn if when < killed_at - 1.0]
    assert must_survive, "the child drew for too short a time to judge"
    assert all(saved[row, 100] > 0 for row in must_survive)
