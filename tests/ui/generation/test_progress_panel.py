from __future__ import annotations

from studio.ui.generation.progress_panel import ProgressPanel, format_duration


def test_progress_shows_step_pass_and_time_left(qtbot, monkeypatch):
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    clock = iter([100.0, 110.0, 110.0, 110.0])
    monkeypatch.setattr("studio.ui.generation.progress_panel.time.monotonic", lambda: next(clock))
    panel.set_running(True)
    assert panel.cancel.isEnabled() and panel.generate.text() == "Add to queue"
    panel.set_progress(5, 20, "refine")
    assert panel.status.text() == "Step 5 / 20 · refine pass"
    assert (panel.bar.maximum(), panel.bar.value()) == (20, 5)
    assert panel.timing.text() == "0:10 elapsed · about 0:30 left"
    panel.set_finished("Done")
    assert (
        not panel.cancel.isEnabled() and panel.generate.text() == "Generate" and panel.status.text() == "Done"
    )


def test_buttons_emit(qtbot):
    panel = ProgressPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.generate_clicked, timeout=500):
        panel.generate.click()
    panel.set_running(True)
    with qtbot.waitSignal(panel.cancel_clicked, timeout=500):
        panel.cancel.click()


def test_format_duration():
    assert format_duration(0) == "0:00" and format_duration(75.4) == "1:15" and format_duration(-3) == "0:00"
