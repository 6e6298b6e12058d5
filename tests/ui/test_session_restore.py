"""Nothing lost: the real app in a subprocess, a prompt typed, the process killed, the prompt back on restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

# Runs the real ``run_app``; a timer first finds the window and acts like the artist.
DRIVER = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from studio.app import run_app
    from studio.ui.main_window import MainWindow

    mode = sys.argv[1]
    app = QApplication(sys.argv[:1])

    def window():
        return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))

    def act():
        w = window()
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

    QTimer.singleShot(200, act)
    sys.exit(run_app(sys.argv[:1]))
    """
)


def start(mode: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, mode],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_prompt_survives_sigkill(studio_home, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DIFFUSION_STUDIO_HOME": str(studio_home)}
    first = start("type", env)
    try:
        assert first.stdout.readline().strip() == "typed", (
            first.stderr.read() if first.poll() is not None else ""
        )
        time.sleep(1.0)  # past the 300 ms debounce
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL
    assert (studio_home / "session.json").is_file()

    second = start("report", env)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    restored = json.loads(out.strip().splitlines()[-1])
    assert restored == {"prompt": "a knight in armor, moonlit", "style": "watercolor"}
