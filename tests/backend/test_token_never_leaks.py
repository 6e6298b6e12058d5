"""A server's token goes in the Authorization header and nowhere else: not the log file, not the settings file,
not an image's metadata, whichever way the job went (a server that fails, the dispatcher moving the job)."""

from __future__ import annotations

import dataclasses
import socket

from fake_servers import FakeServer, drain, job
from PIL import Image

from studio import paths
from studio.backend import events as ev
from studio.backend.comfyui.backend import server_label
from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.multi_backend import MultiBackend
from studio.backend.server_pool import ServerEntry, answers, comfy_backend, keep_server_entries
from studio.logging_setup import setup_logging
from studio.metadata.saving import save_result
from studio.settings import AppSettings, save_settings, settings_file

TOKEN = "tok-SECRET-4b1d9e"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_token_is_in_no_log_settings_or_png(tmp_path):
    log_file = setup_logging()
    plain = ServerConfig("cloud", "http://203.0.113.7:8188", TOKEN)  # plain http: warned about, with no token
    gone = ServerConfig("desk", f"http://127.0.0.1:{_closed_port()}", TOKEN)  # nothing answers there
    settings = AppSettings()
    warnings = keep_server_entries(settings, [ServerEntry(plain), ServerEntry(gone)], allow_local=True)
    save_settings(settings)
    assert warnings and TOKEN not in " ".join(warnings)

    local = FakeServer("local")
    backend = MultiBackend([comfy_backend(gone)], local, allow_local=True, probes={"desk": answers(gone)})
    backend.start(warm_up=False)
    try:
        events = drain(backend, [backend.submit(job())], timeout=60)
    finally:
        backend.close()
    # The dead server could not even list its models: the job went to the local engine.
    assert [e.runner for e in events if isinstance(e, ev.JobStarted)] == ["local"]
    result = dataclasses.replace(events[-1].result, server=server_label(gone))  # as the server would label it
    [png] = save_result(result, tmp_path)

    written = log_file.read_text(encoding="utf-8")
    assert "plain http" in written and "desk stopped answering" in written  # the paths above did log
    assert TOKEN not in written
    assert TOKEN not in settings_file().read_text(encoding="utf-8")
    with Image.open(png) as image:
        text = " ".join(str(value) for value in image.text.values())  # every chunk, decompressed
    assert "Server: " in text and "ComfyUI desk (127.0.0.1:" in text
    assert TOKEN not in text and TOKEN.encode() not in png.read_bytes()
    assert log_file.parent == paths.data_dir()
