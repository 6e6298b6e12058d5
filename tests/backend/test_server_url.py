"""A server address: checked and tidied, with a warning for plain http to another machine."""

from __future__ import annotations

import logging

import pytest

from studio.backend.comfyui.server_url import check_url, warn_if_plain


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("http://127.0.0.1:8188/", "http://127.0.0.1:8188"),
        ("  HTTPS://GPU.example.org:8443 ", "https://gpu.example.org:8443"),
        ("localhost:8188", "http://localhost:8188"),
        ("https://box.example.org/comfy/", "https://box.example.org/comfy"),
        ("http://[::1]:8188", "http://[::1]:8188"),
    ],
)
def test_addresses_are_tidied(typed, url):
    check = check_url(typed)
    assert (check.url, check.problem) == (url, "")


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter the server's address"),
        ("ftp://host:21", "http:// or https://"),
        ("http://user:pw@host:8188", "Token field"),
        ("http://host:99999", "port"),
        ("http://host:8188/?x=1", "?…"),
        ("http://:8188", "no host"),
    ],
)
def test_unusable_addresses_say_what_is_wrong(typed, says):
    check = check_url(typed)
    assert check.url == "" and says in check.problem


def test_plain_http_to_another_machine_is_warned_about_and_logged(caplog):
    assert check_url("http://127.0.0.1:8188").warning == ""
    assert check_url("https://gpu.example.org:8188").warning == ""
    assert "unencrypted" in check_url("http://192.168.1.20:8188").warning
    caplog.set_level(logging.WARNING)
    assert warn_if_plain("desk", "http://gpu.example.org:8188")
    assert "plain http" in caplog.text and "desk" in caplog.text
    assert check_url("http://localhost:8188").warning == "" and check_url("http://127.0.0.2:8188").warning == ""
