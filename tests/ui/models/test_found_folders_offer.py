"""The first-run offer of other tools' model folders: found under a fake home, added only once the artist
confirms, remembered so it is not made again on its own."""

from __future__ import annotations

import sys
from pathlib import Path

from fake_engine import FakeEngine, fake_backend
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models"))
from test_install_finder import make_home  # noqa: E402

from studio.settings import load_settings  # noqa: E402
from studio.ui.models.first_run import FirstRunWidget  # noqa: E402
from studio.ui.models.found_folders_offer import NONE_FOUND  # noqa: E402


def _page(qtbot, **kwargs) -> FirstRunWidget:
    widget = FirstRunWidget(space_probe=lambda folder: 10**12, **kwargs)
    qtbot.addWidget(widget)
    widget.resize(760, 720)
    widget.show()
    return widget


def test_nothing_is_looked_for_until_asked(qtbot, tmp_path):
    calls = []
    page = _page(qtbot, home=make_home(tmp_path / "home"))
    page.found_offer._finder = lambda home: calls.append(home) or []
    qtbot.wait(50)
    assert calls == [] and page.found_offer.checkboxes == []
    qtbot.mouseClick(page.found_offer.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.found_offer.message.text() == NONE_FOUND, timeout=5000)
    assert calls == [tmp_path / "home"] and not page.found_offer.use_button.isVisible()


def test_a_first_run_that_finds_nothing_shows_no_offer(qtbot, tmp_path):
    page = _page(qtbot, offer_found=True, home=tmp_path / "empty-home")
    qtbot.waitUntil(lambda: page.found_offer.message.text() == NONE_FOUND, timeout=5000)
    assert not page.found_offer.isVisible()  # the downloads come first on a computer with no other tool


def test_the_first_run_lists_what_is_found_and_emits_only_the_ticked(qtbot, tmp_path):
    home = make_home(tmp_path / "home")
    page = _page(qtbot, offer_found=True, home=home)
    offer = page.found_offer
    qtbot.waitUntil(lambda: len(offer.checkboxes) == 5, timeout=5000)
    assert all(box.isChecked() for box in offer.checkboxes)
    assert "InvokeAI — 1 model — " in "\n".join(box.text() for box in offer.checkboxes)
    offer.checkboxes[0].setChecked(False)  # A1111/Forge: the artist keeps it out
    with qtbot.waitSignal(page.found_folders_chosen) as chosen:
        qtbot.mouseClick(offer.use_button, Qt.MouseButton.LeftButton)
    tools = [folder.tool for folder in chosen.args[0]]
    assert "AUTOMATIC1111/Forge" not in tools and "InvokeAI" in tools and len(tools) == 4


def test_not_now_adds_nothing_and_hides_the_offer(qtbot, tmp_path):
    page = _page(qtbot, offer_found=True, home=make_home(tmp_path / "home"))
    offer = page.found_offer
    qtbot.waitUntil(lambda: offer.use_button.isVisible(), timeout=5000)
    chosen = []
    page.found_folders_chosen.connect(chosen.append)
    with qtbot.waitSignal(offer.declined):
        qtbot.mouseClick(offer.not_now_button, Qt.MouseButton.LeftButton)
    assert chosen == [] and not offer.isVisible()


def _studio(qtbot, qapp, seen_dirs: list):
    from studio.app import build_studio

    studio = build_studio(
        qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: seen_dirs.append(list(dirs)) or []
    )
    qtbot.addWidget(studio.window)
    studio.window.show()
    studio.start_background(warm_up=False)
    return studio


def test_the_window_adds_the_confirmed_folders_and_does_not_offer_again(qtbot, qapp, tmp_path, monkeypatch):
    home = make_home(tmp_path / "home")
    monkeypatch.setenv("HOME", str(home))  # Path.home(): the fake home, never the real one
    monkeypatch.setenv("USERPROFILE", str(home))
    seen: list = []
    studio = _studio(qtbot, qapp, seen)
    try:
        qtbot.waitUntil(lambda: studio.window.first_run is not None, timeout=5000)
        offer = studio.window.first_run.found_offer
        qtbot.waitUntil(lambda: offer.use_button.isVisible(), timeout=5000)
        assert load_settings()[0].model_dirs == []  # found is not added
        qtbot.mouseClick(offer.use_button, Qt.MouseButton.LeftButton)
        settings = load_settings()[0]
        assert str(home / "invokeai" / "models" / "sdxl" / "main") in settings.model_dirs
        assert str(home / "stable-diffusion-webui-forge") in settings.model_dirs
        assert settings.lora_dirs == [str(home / "invokeai" / "models" / "sdxl" / "lora")]
        assert settings.found_folders_offered
        qtbot.waitUntil(lambda: any(Path(settings.model_dirs[0]) in dirs for dirs in seen), timeout=5000)
    finally:
        studio.window.canvases.shutdown()
        studio.state.shutdown(2.0)

    studio = _studio(qtbot, qapp, seen)  # the next start: answered, so not looked for on its own
    try:
        qtbot.waitUntil(lambda: studio.window.first_run is not None, timeout=5000)
        qtbot.wait(100)
        assert studio.window.first_run.found_offer.checkboxes == []
    finally:
        studio.window.canvases.shutdown()
        studio.state.shutdown(2.0)
