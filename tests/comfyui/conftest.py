"""The real ComfyUI for the tests: one server per test session, started on first use, with the tiny models.

Skipped with the reason where the ComfyUI folder or its dependencies are missing, except in CI (``CI`` set),
where that is a failure: CI installs them (python3 dev.py test), so a skip there would hide a broken setup.
"""

from __future__ import annotations

import os
import threading
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
    # The server boots while the models are built: it lists its folders only when asked.
    built: list[float] = []
    started = time.perf_counter()
    builder = threading.Thread(
        target=lambda: (write_tiny_models(base), built.append(time.perf_counter() - started))
    )
    builder.start()
    try:
        server = start_server(base, threads=1)
    finally:
        builder.join()
    if not built:
        server.stop()
        pytest.fail("building the tiny ComfyUI models failed (see the traceback above)", pytrace=False)
    print(
        f"\nComfyUI: tiny models built in {built[0]:.1f} s, server answered after {server.started_s:.1f} s, "
        f"both ready after {time.perf_counter() - started:.1f} s"
    )
    yield server
    server.stop()


@pytest.fixture
def comfy(comfy_server):
    """A ServerConfig for the session's server."""
    from studio.backend.comfyui.server_config import ServerConfig

    return ServerConfig("test-server", comfy_server.url)
