"""Servers…: add, edit and remove servers, check each on save without freezing the window, warn about plain
http, choose which servers are used and whether the local engine helps; reached from the File menu."""

from __future__ import annotations

import json
import logging
import threading

import pytest
from fake_engine import FakeEngine, fake_backend
from PySide6.QtCore import Qt

from studio.backend.comfyui.connection import ServerStatus
from studio.backend.comfyui.credentials import load_token
from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.multi_backend import MultiBackend
from studio.backend.server_pool import ServerEntry
from studio.settings import settings_file
from studio.ui.servers import servers_dialog
from studio.ui.servers.servers_dialog import ServersDialog

TOKEN = "tok-93ae51"


# What ``check_connection`` answers for a server on a GPU that lacks the ControlNet nodes.
LACKING = ServerStatus(
    reachable=True, comfyui_version="0.8.0", device="cuda:0 NVIDIA RTX 4090", free_vram_bytes=int(20.5 * 2**30),
    missing_nodes=(("ControlNetLoader", "ControlNets"),),
)  # fmt: skip


class Checker:
    """A connection check that records what it was asked and, when ``hold`` is set, waits to answer."""

    def __init__(self, status=LACKING) -> None:
        self.status = status
        self.asked: list[ServerConfig] = []
        self.threads: list[str] = []
        self.hold = threading.Event()
        self.hold.set()

    def __call__(self, server: ServerConfig):
        self.asked.append(server)
        self.threads.append(threading.current_thread().name)
        assert self.hold.wait(5)
        return self.status


@pytest.fixture
def no_keyring(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "keyring", None)


def _dialog(qtbot, entries=(), allow_local=True, checker=None) -> ServersDialog:
    dialog = ServersDialog(list(entries), allow_local, checker=checker or Checker())
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _fill(qtbot, dialog, name, url, token=""):
    for field, text in ((dialog.name, name), (dialog.url, url), (dialog.token, token)):
        field.clear()
        qtbot.keyClicks(field, text)


def test_a_new_server_is_saved_and_checked_showing_version_device_memory_and_missing_nodes(qtbot):
    checker = Checker()
    dialog = _dialog(qtbot, checker=checker)
    qtbot.mouseClick(dialog.add, Qt.MouseButton.LeftButton)
    _fill(qtbot, dialog, "desk", "127.0.0.1:8188/", TOKEN)
    qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "ComfyUI 0.8.0" in dialog.status.text(), timeout=5000)
    text = dialog.status.text()
    assert "NVIDIA RTX 4090" in text and "20.5 GB free" in text and "ControlNetLoader (ControlNets)" in text
    assert text.startswith("Reachable, but not usable")
    assert checker.asked == [ServerConfig("desk", "http://127.0.0.1:8188", TOKEN)]
    assert checker.threads[0] != threading.main_thread().name
    assert dialog.url.text() == "http://127.0.0.1:8188"  # tidied
    assert dialog.entries() == [ServerEntry(ServerConfig("desk", "http://127.0.0.1:8188", TOKEN), True)]


def test_a_slow_server_never_freezes_the_dialog(qtbot):
    checker = Checker()
    checker.hold.clear()  # the server takes its time to answer
    dialog = _dialog(qtbot, [ServerEntry(ServerConfig("far", "https://far.example.org"))], checker=checker)
    qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    assert dialog.status.text() == "Checking far at https://far.example.org…"  # returned at once
    qtbot.keyClicks(dialog.name, "-away")  # still editable while the check waits
    assert dialog.name.text() == "far-away"
    checker.hold.set()
    qtbot.waitUntil(lambda: "ComfyUI" in dialog.status.text(), timeout=5000)


def test_an_unreachable_server_says_so_in_words(qtbot):
    down = Checker(ServerStatus(reachable=False, error="Nothing answers at http://127.0.0.1:9; is ComfyUI started?"))
    dialog = _dialog(qtbot, [ServerEntry(ServerConfig("off", "http://127.0.0.1:9"))], checker=down)
    qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not reachable" in dialog.status.text(), timeout=5000)
    assert "is ComfyUI started?" in dialog.status.text()


def test_a_check_that_crashes_is_reported_not_raised(qtbot):
    def broken(server):
        raise RuntimeError("bug")

    dialog = _dialog(qtbot, [ServerEntry(ServerConfig("x", "http://127.0.0.1:8188"))], checker=broken)
    qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "The check itself failed (RuntimeError)" in dialog.status.text(), timeout=5000)


def test_plain_http_to_another_machine_shows_a_warning_and_logs_it(qtbot, caplog):
    caplog.set_level(logging.WARNING)
    dialog = _dialog(qtbot, [ServerEntry(ServerConfig("desk", "http://127.0.0.1:8188"))])
    assert dialog.warning.isHidden()
    _fill(qtbot, dialog, "cloud", "http://203.0.113.7:8188", TOKEN)
    assert dialog.warning.isVisible() and "unencrypted" in dialog.warning.text()
    qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    assert "server 'cloud' at http://203.0.113.7:8188 is reached over plain http" in caplog.text
    assert TOKEN not in caplog.text
    _fill(qtbot, dialog, "cloud", "https://203.0.113.7:8188")
    assert dialog.warning.isHidden()


def test_unusable_fields_are_refused_with_the_reason_and_nothing_is_checked(qtbot):
    checker = Checker()
    entries = [ServerEntry(ServerConfig("desk", "http://127.0.0.1:8188")), ServerEntry(ServerConfig("b", "http://h:1"))]
    dialog = _dialog(qtbot, entries, checker=checker)
    dialog.list.setCurrentRow(1)
    _fill(qtbot, dialog, "desk", "http://h:1")
    qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    assert "Another server is already called 'desk'" in dialog.problem.text()
    _fill(qtbot, dialog, "b", "ftp://h:1")
    qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
    assert "http:// or https://" in dialog.problem.text()
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert dialog.isVisible() and checker.asked == []  # OK waits for usable fields


def test_which_servers_are_used_the_local_fallback_and_removing(qtbot):
    entries = [ServerEntry(ServerConfig(n, f"http://127.0.0.1:{p}")) for n, p in (("a", 1), ("b", 2), ("c", 3))]
    dialog = _dialog(qtbot, entries, allow_local=True)
    dialog.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    dialog.local.setChecked(False)
    dialog.list.setCurrentRow(2)
    qtbot.mouseClick(dialog.remove, Qt.MouseButton.LeftButton)
    assert [(e.server.name, e.enabled) for e in dialog.entries()] == [("a", True), ("b", False)]
    assert dialog.allow_local() is False


def test_servers_from_the_file_menu_are_kept_with_the_token_apart_and_used_at_once(
    qtbot, qapp, monkeypatch, no_keyring
):
    from studio.app import build_studio

    monkeypatch.setattr(servers_dialog, "check_connection", Checker())
    made = []
    monkeypatch.setattr("studio.backend.server_pool.comfy_backend", lambda server: made.append(server) or
                        _named(fake_backend(FakeEngine()), server))  # fmt: skip
    studio = build_studio(qapp, backend=MultiBackend([], fake_backend(FakeEngine())), discover=lambda dirs: [])
    qtbot.addWidget(studio.window)
    try:
        action = next(a for a in studio.window.actions() if a.text() == "Servers…")
        action.trigger()
        dialog = studio.window.menus.servers_dialog
        qtbot.mouseClick(dialog.add, Qt.MouseButton.LeftButton)
        _fill(qtbot, dialog, "desk", "http://127.0.0.1:8188", TOKEN)
        dialog.local.setChecked(False)
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
        settings = studio.state.settings
        assert settings.servers == [{"name": "desk", "url": "http://127.0.0.1:8188", "enabled": "yes"}]
        assert settings.local_fallback is False
        assert TOKEN not in settings_file().read_text() and json.loads(settings_file().read_text())["servers"]
        assert load_token("http://127.0.0.1:8188") == TOKEN
        assert made == [ServerConfig("desk", "http://127.0.0.1:8188", TOKEN)]
        assert [b.name for b in studio.state.worker.backend.server_backends()] == ["desk"]
        action.trigger()  # opened again: the saved server, its token read back
        again = studio.window.menus.servers_dialog
        assert again.entries() == [ServerEntry(ServerConfig("desk", "http://127.0.0.1:8188", TOKEN), True)]
        assert again.token.text() == TOKEN and not again.local.isChecked()
        again.reject()
    finally:
        studio.state.shutdown(2.0)


def _named(backend, server):
    backend.name = server.name
    backend.server = server
    return backend
