"""Server tokens: in the OS keyring when there is one, else in a file only the artist's account can read."""

from __future__ import annotations

import logging
import os
import stat
import sys
import types

import pytest

from studio.backend.comfyui import credentials
from studio.backend.comfyui.credentials import (
    FILE,
    KEYRING,
    forget_token,
    load_token,
    store_token,
    tokens_file,
)

URL = "https://gpu.example.org:8188"
TOKEN = "s3cret-Token-7f1c"


class NoKeyringError(RuntimeError):
    """What ``keyring`` raises on a machine without a keyring service."""


def _fake_keyring(monkeypatch, *, works: bool = True) -> dict:
    store: dict = {}
    module = types.ModuleType("keyring")

    def set_password(service, user, secret):
        if not works:
            raise NoKeyringError("No recommended backend was available.")
        store[(service, user)] = secret

    def get_password(service, user):
        if not works:
            raise NoKeyringError("No recommended backend was available.")
        return store.get((service, user))

    module.set_password = set_password
    module.get_password = get_password
    module.delete_password = lambda service, user: store.pop((service, user))
    monkeypatch.setitem(sys.modules, "keyring", module)
    return store


@pytest.fixture
def no_keyring(monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)  # ``import keyring`` raises ImportError


def test_without_keyring_the_token_goes_to_a_private_file(no_keyring, caplog):
    caplog.set_level(logging.DEBUG)
    assert store_token(URL, TOKEN) == FILE
    assert load_token(URL) == TOKEN
    if os.name != "nt":
        assert stat.S_IMODE(tokens_file().stat().st_mode) == 0o600
    assert not list(tokens_file().parent.glob(".*.tmp"))  # written atomically: no leftover
    assert TOKEN not in caplog.text


def test_with_a_keyring_the_token_never_touches_the_disk(monkeypatch, no_keyring):
    store_token(URL, "old-token-in-file")  # kept in the file before a keyring was installed
    store = _fake_keyring(monkeypatch)
    assert store_token(URL, TOKEN) == KEYRING
    assert store == {(credentials.SERVICE, URL): TOKEN}
    assert load_token(URL) == TOKEN
    assert "old-token-in-file" not in tokens_file().read_text() and TOKEN not in tokens_file().read_text()


def test_a_keyring_without_a_backend_falls_back_to_the_file(monkeypatch, caplog):
    _fake_keyring(monkeypatch, works=False)
    caplog.set_level(logging.DEBUG)
    assert store_token(URL, TOKEN) == FILE
    assert load_token(URL) == TOKEN
    assert "NoKeyringError" in caplog.text and TOKEN not in caplog.text


def test_forgetting_a_server_removes_its_token_everywhere(monkeypatch, no_keyring):
    store_token(URL, TOKEN)
    store_token("http://127.0.0.1:8188", "other")
    forget_token(URL)
    assert load_token(URL) == "" and load_token("http://127.0.0.1:8188") == "other"
    store = _fake_keyring(monkeypatch)
    store_token(URL, TOKEN)
    store_token(URL, "")  # an emptied Token field forgets it too
    assert store == {} and load_token(URL) == ""


def test_an_unreadable_token_file_is_kept_aside_not_trusted(no_keyring):
    tokens_file().parent.mkdir(parents=True)
    tokens_file().write_text('{"tokens": ["not", "a", "map"]}')
    assert load_token(URL) == ""
    assert tokens_file().with_suffix(".json.bad").exists()
    assert store_token(URL, TOKEN) == FILE and load_token(URL) == TOKEN
