"""Nothing lost: the real app in a subprocess, a prompt typed, the process killed, the prompt back on restart."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

# Runs the real ``run_app``. The driver acts like the artist only once the window is on screen (shown and
# exposed): a fixed delay raced the window's start-up under load, typing or closing before it existed.
DRIVER = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from studio.app import run_app
    from studio.ui.shell.main_window import MainWindow

    mode = sys.argv[1]
    app = QApplication(sys.argv[:1])

    def shown_window():
        for w in app.topLevelWidgets():
            if isinstance(w, MainWindow) and w.isVisible() and w.windowHandle() and w.windowHandle().isExposed():
                return w
        return None

    def act(w):
        print("ready", flush=True)
        if mode == "type":
            w.prompt_panel.prompt.setFocus()
            QTest.keyClicks(w.prompt_panel.prompt, "a knight in armor, moonlit")
            w.prompt_panel.pickers["style"].set_preset_id("watercolor")
            w.prompt_panel.pickers["style"].preset_changed.emit("watercolor")
            print("typed", flush=True)
        else:
            req = w.state.request
            print(json.dumps({"prompt": w.prompt_panel.prompt.toPlainText(), "style": req.style}), flush=True)
            w.close()

    def poll():
        w = shown_window()
        if w is None:
            QTimer.singleShot(20, poll)
        else:
            act(w)

    QTimer.singleShot(0, poll)
    sys.exit(run_app(sys.argv[:1]))
    """
)
TIMEOUT_S = 60  # start-up imports torch in the worker; a loaded machine is slow, a hung one fails, not hangs
PROMPT, STYLE = "a knight in armor, moonlit", "watercolor"


class Studio:
    """The app in a subprocess; its stdout lines arrive in a queue so a silent app fails the test, not hangs it."""

    def __init__(self, mode: str, env: dict, errors: Path) -> None:
        self.errors = errors
        # stderr to a file: a pipe nobody reads can fill up and stall the app.
        with errors.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-c", DRIVER, mode],
                env=env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)  # the app closed its output

    def next_line(self) -> str:
        try:
            line = self.lines.get(timeout=TIMEOUT_S)
        except queue.Empty:
            line = None
        if line is None:
            self.stop()
            raise AssertionError(f"the studio said nothing more; stderr:\n{self.errors.read_text()}")
        return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


def saved_request(path: Path) -> tuple[str | None, str | None]:
    try:
        request = json.loads(path.read_text(encoding="utf-8"))["request"]
        return request.get("prompt"), request.get("style")
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def test_prompt_survives_sigkill(studio_home, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DIFFUSION_STUDIO_HOME": str(studio_home)}
    session = studio_home / "session.json"
    first = Studio("type", env, tmp_path / "first.err")
    try:
        assert first.next_line() == "ready"
        assert first.next_line() == "typed"
        # The autosave (debounced; there is no clean close) must put the edits on disk while the app runs.
        deadline = time.monotonic() + TIMEOUT_S
        while saved_request(session) != (PROMPT, STYLE) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        first.stop()
    assert first.process.returncode == -signal.SIGKILL
    assert saved_request(session) == (PROMPT, STYLE)

    second = Studio("report", env, tmp_path / "second.err")
    try:
        assert second.next_line() == "ready"
        restored = json.loads(second.next_line())
        assert second.process.wait(TIMEOUT_S) == 0, (tmp_path / "second.err").read_text()
    finally:
        second.stop()
    assert restored == {"prompt": PROMPT, "style": STYLE}
