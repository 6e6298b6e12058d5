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
