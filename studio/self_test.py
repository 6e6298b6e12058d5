"""``diffusion-studio --self-test OUT_DIR``: the whole window, offscreen, driven like an artist would.

It builds the tiny demo model in a throw-away data folder, opens the main window, types a prompt and picks
presets through the widgets, clicks Generate, waits for the previews and the final image, and measures how
responsive the window stayed: a 10 ms heartbeat timer from the moment the window shows, through the engine's
start (torch's import), the demo model and the first generation with its model load (``gui_stall_ms_*``), and
during the generation alone (``generation_stall_ms_*``). Writes OUT_DIR/window.png (the
window at 1280x800 after the generation) and OUT_DIR/result.png, and returns the figures as a dict.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from studio.paths import HOME_ENV

PROMPT = "a knight in armor"
PRESETS = (("style", "digital art"), ("lighting", "moonlight"), ("composition", "low angle"))
HEARTBEAT_MS = 10
TIMEOUT_S = 300.0
DETAIL_LINES = 40  # the end of a traceback: the failing frames and the message, enough to act on


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run_self_test(out_dir: Path, size: int = 512, steps: int = 20, theme: str = "dark") -> dict[str, Any]:
    """Run the offscreen self-test; the figures are returned (the CLI prints them as one JSON line)."""
    started = time.perf_counter()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="studio-self-test-"))
    previous_home = os.environ.get(HOME_ENV)
    os.environ[HOME_ENV] = str(home)  # never touch the artist's own settings, session or gallery
    try:
        return _run(out_dir, size, steps, theme, started)
    except Exception as exc:  # noqa: BLE001 - the JSON line must say what broke, whatever it was
        return {"ok": False, "crash": crash_detail(exc)}
    finally:
        if previous_home is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = previous_home
        shutil.rmtree(home, ignore_errors=True)


def crash_detail(exc: BaseException) -> dict[str, Any]:
    """The exception's type, message and last frames: what a frozen build's failure needs to be fixed."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {"type": type(exc).__name__, "message": str(exc), "traceback": _tail("".join(frames))}


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-DETAIL_LINES:])


def _run(out_dir: Path, size: int, steps: int, theme: str, started: float) -> dict[str, Any]:
    from PySide6.QtTest import QTest

    from studio.app import build_studio, make_application
    from studio.logging_setup import setup_logging

    setup_logging()
    app = make_application([sys.argv[0]])
    studio = build_studio(app)
    window = studio.window
    if theme != studio.state.settings.theme:
        window.menus.set_theme(theme)
    window.resize(1280, 800)
    window.show()
    QTest.qWaitForWindowExposed(window)
    app.processEvents()
    window_shown_s = time.perf_counter() - started
    torch_before = "torch" in sys.modules
    studio.start_background()

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        figures = loop.run_until_complete(_drive(studio, out_dir, size, steps))
    finally:
        window.close()
        app.processEvents()
        loop.close()  # now, while the application exists (qasync's close touches Qt objects)
        asyncio.set_event_loop(None)
    figures.update(window_shown_s=round(window_shown_s, 3), torch_imported_before_window=torch_before)
    # Which Qt platform and which torch ran: the frozen app's checks need both (xcb, the runtime folder).
    figures.update(
        qt_platform=app.platformName(), torch_in_window=getattr(sys.modules.get("torch"), "__file__", None)
    )
    figures["ok"] = bool(
        figures.get("result_path") and not torch_before and figures.get("previews_received", 0) > 0
    )
    return figures


async def _wait_for(condition, what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _engine_runtime(worker) -> dict[str, Any]:
    """Where the engine's torch was loaded from: its own process, so asked of it as a task."""
    from studio.backend.tasks import EngineRuntime

    answers: dict[int, Any] = {}
    worker.task_finished.connect(lambda task_id, value: answers.__setitem__(task_id, value))
    task = worker.run_task(EngineRuntime())
    await _wait_for(lambda: task in answers, "the engine's runtime", timeout=60)
    runtime = answers[task]
    return {"torch_path": runtime["torch_path"], "engine_pid": int(runtime["pid"])}


async def _drive(studio, out_dir: Path, size: int, steps: int) -> dict[str, Any]:
    from PySide6.QtCore import Qt as QtNs
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest

    state, window = studio.state, studio.window
    errors: list[str] = []
    details: list[str] = []  # the traceback behind each error, when the studio has one

    def on_message(kind: str, text: str, detail: str) -> None:
        if kind == "error":
            errors.append(text)
            details.append(_tail(detail))

    state.message.connect(on_message)
    figures: dict[str, Any] = {"errors": errors, "error_details": details}
    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    heartbeat.start()  # the engine is starting now: its torch import and the model load are measured too

    t0 = time.perf_counter()
    # A fresh data folder has no model: the welcome page offers the demo model, and the artist clicks it.
    await _wait_for(lambda: window.first_run is not None and window.first_run.isVisible(), "the welcome page")
    QTest.mouseClick(window.first_run.demo_button, QtNs.MouseButton.LeftButton)
    await _wait_for(lambda: "sd15" in state.request.model or errors, "the demo model")
    if errors:
        heartbeat.stop()
        return figures
    await _wait_for(lambda: window.settings_panel.has_models(), "the model list")
    figures["demo_model_s"] = round(time.perf_counter() - t0, 2)

    panel = window.prompt_panel
    panel.prompt.setFocus()
    QTest.keyClicks(panel.prompt, PROMPT)
    for kind, query in PRESETS:
        picker = panel.pickers[kind]
        picker.lineEdit().clear()
        QTest.keyClicks(picker.lineEdit(), query)
        QTest.keyClick(picker.lineEdit(), QtNs.Key.Key_Return)
    settings = window.settings_panel
    settings.steps.setValue(steps)
    settings.width.setValue(size)
    settings.height.setValue(size)
    await asyncio.sleep(0.05)
    figures["request"] = {
        k: getattr(state.request, k) for k in ("prompt", "style", "lighting", "composition")
    }

    previews: list[int] = []
    results: list[tuple] = []
    state.preview.connect(lambda preview: previews.append(preview.step))
    state.result_ready.connect(lambda result, saved: results.append((result, saved)))
    generation_started = len(beats)
    t0 = time.perf_counter()
    QTest.mouseClick(window.progress_panel.generate, QtNs.MouseButton.LeftButton)
    await _wait_for(lambda: bool(results) or (errors and not state.is_running), "the generation")
    figures["generation_s"] = round(time.perf_counter() - t0, 2)
    heartbeat.stop()
    stalls = [max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in zip(beats, beats[1:], strict=False)]
    generation_stalls = stalls[generation_started:]
    figures.update(
        previews_received=len(previews),
        gui_stall_ms_p95=round(_percentile(stalls, 0.95), 1),
        gui_stall_ms_max=round(max(stalls, default=0.0), 1),
        generation_stall_ms_p95=round(_percentile(generation_stalls, 0.95), 1),
        generation_stall_ms_max=round(max(generation_stalls, default=0.0), 1),
        heartbeats=len(beats),
    )
    await asyncio.sleep(0.3)  # let the gallery thumbnail and the final image paint
    screenshot = out_dir / "window.png"
    window.grab().save(str(screenshot))
    figures["screenshot"] = str(screenshot)
    figures.update(await _engine_runtime(state.worker))
    if results:
        result, saved = results[0]
        target = out_dir / "result.png"
        if saved:
            shutil.copyfile(saved[0], target)
        else:
            result.images[0].save(target)
        figures["result_path"] = str(target)
        figures["result_size"] = list(result.images[0].size)
        figures["seed"] = result.seeds[0]
    return figures
