from __future__ import annotations

from types import SimpleNamespace

from studio.state.model_list import ModelList


def e(name, family):
    return SimpleNamespace(name=name, reference=f"/m/{name}", family=family)


def test_discovery_runs_off_the_gui_thread_and_groups_by_family(qtbot):
    import threading

    threads = []

    def discover(dirs):
        threads.append(threading.current_thread().name)
        return [e("Zeta", "sdxl"), e("beta", "sd15"), e("Alpha", "sd15")]

    models = ModelList(discover)
    with qtbot.waitSignal(models.changed, timeout=5000):
        models.refresh()
    assert threads == ["studio-discovery"]
    groups = models.grouped()
    assert list(groups) == ["Stable Diffusion 1.5", "Stable Diffusion XL"]
    assert [x.name for x in groups["Stable Diffusion 1.5"]] == ["Alpha", "beta"]
    assert models.find("/m/Zeta").name == "Zeta" and models.find("beta").family == "sd15"


def test_a_failing_discovery_is_reported(qtbot):
    def discover(dirs):
        raise PermissionError("no access to /mnt/models")

    models = ModelList(discover)
    with qtbot.waitSignal(models.failed, timeout=5000) as blocker:
        models.refresh()
    assert "no access" in blocker.args[0]
    assert models.entries() == []


def _blocked_scan(gate, started):
    def discover(dirs):
        started.set()
        gate.wait(5)
        return [e("Late", "sd15")]

    return discover


def test_closing_during_a_scan_is_quiet_and_waits_for_it(qtbot, monkeypatch):
    import threading

    import shiboken6

    from studio.state.lora_list import LoraList

    errors = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    for make in (ModelList, LoraList):
        gate, started = threading.Event(), threading.Event()
        owner = make(_blocked_scan(gate, started))
        owner.refresh()
        assert started.wait(5)
        assert owner.shutdown(0.05) is False  # still reading: not waited for forever
        shiboken6.delete(owner)  # the window is gone, the scan is not
        gate.set()
        threads = [t for t in threading.enumerate() if t.name in ("studio-discovery", "studio-lora-scan")]
        for thread in threads:
            thread.join(5)
        assert errors == []


def test_shutdown_waits_for_a_scan_that_ends_in_time(qtbot):
    import threading

    gate, started = threading.Event(), threading.Event()
    models = ModelList(_blocked_scan(gate, started))
    changed = []
    models.changed.connect(changed.append)
    models.refresh()
    assert started.wait(5)
    threading.Timer(0.05, gate.set).start()
    assert models.shutdown(5.0) is True
    qtbot.wait(50)
    assert changed == []  # closed: the late result is not delivered to a closing window
