"""The real ComfyUI for the tests: one server per test session, started on first use, with the tiny models.

Skipped with the reason where the ComfyUI folder or its dependencies are missing, except in CI (``CI`` set),
where that is a failure: CI installs them (python3 dev.py test), so a skip there would hide a broken setup.
"""

from __future__ import annotations

import os
import time

import pytest
from comfyui_server import start_server, why_unavailable, write_tiny_models


@pytest.fixture(scope="session")
def comfy_server(tmp_path_factory):
    reason = why_unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the ComfyUI tests, but {reason}", pytrace=False)
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("comfyui")
    started = time.perf_counter()
    write_tiny_models(base)
    built = time.perf_counter() - started
    server = start_server(base, threads=1)
    print(f"\nComfyUI: tiny models built in {built:.1f} s, server answered after {server.started_s:.1f} s")
    yield server
    server.stop()


@pytest.fixture
def comfy(comfy_server):
    """A ServerConfig for the session's server."""
    from studio.backend.comfyui.server_config import ServerConfig

    return ServerConfig("test-server", comfy_server.url)
