"""The artist's ComfyUI servers as the preferences keep them, and the backend that spreads the queue over them.

The preferences hold each server's name, address and whether it is used; its token is kept apart
(``comfyui.credentials``: the OS keyring or a private file). ``pool_backend`` wraps the local engine in a
``MultiBackend`` with one ``ComfyBackend`` per server in use; ``apply_servers`` changes a running pool when the
artist edits the list, keeping the servers whose settings did not change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from studio.backend.comfyui.credentials import forget_token, load_token, store_token
from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.comfyui.server_url import warn_if_plain
from studio.backend.multi_backend import MultiBackend, Probe
from studio.backend.protocol import Backend
from studio.settings import AppSettings

log = logging.getLogger("studio.backend.servers")

PROBE_TIMEOUT_S = 5.0  # how long the dispatcher waits for a server's answer before it thinks it gone


@dataclass(frozen=True)
class ServerEntry:
    server: ServerConfig
    enabled: bool = True  # False: kept in the list, but sent no jobs


def server_entries(settings: AppSettings) -> list[ServerEntry]:
    """The servers of the preferences, with their tokens read back from where they are kept."""
    return [
        ServerEntry(ServerConfig(item["name"], item["url"], load_token(item["url"])), item.get("enabled") != "no")
        for item in settings.servers
    ]


def keep_server_entries(settings: AppSettings, entries: list[ServerEntry], allow_local: bool) -> list[str]:
    """Put ``entries`` into ``settings`` (the caller saves them) and their tokens where tokens are kept; a removed
    server's token is forgotten. Returns the plain-http warnings (each also logged)."""
    before = {item["url"] for item in settings.servers}
    settings.servers = [
        {"name": e.server.name, "url": e.server.url, "enabled": "yes" if e.enabled else "no"} for e in entries
    ]
    settings.local_fallback = allow_local
    for entry in entries:
        store_token(entry.server.url, entry.server.token)
    for url in before - {entry.server.url for entry in entries}:
        forget_token(url)
    return [warning for e in entries if (warning := warn_if_plain(e.server.name, e.server.url))]


def comfy_backend(server: ServerConfig) -> Backend:
    from studio.backend.comfyui.backend import ComfyBackend

    backend = ComfyBackend(server)
    backend.name = server.name  # what the queue shows beside each job, and how the dispatcher tells servers apart
    return backend


def window_backend(settings: AppSettings) -> MultiBackend:
    """The window's backend: the local engine in its own process, with the servers ticked in Servers…"""
    from studio.backend.factory import engine_config, model_dirs
    from studio.backend.process import ProcessBackend

    return pool_backend(settings, ProcessBackend(engine_config(settings), model_dirs(settings)))


def answers(server: ServerConfig) -> Probe:
    """The dispatcher's question "does it still answer?" for ``server``."""

    def probe() -> bool:
        # /system_stats alone: the full connection check also reads every node's description, too much to ask
        # of a busy server each time a job fails there.
        from studio.backend.comfyui.errors import ServerError
        from studio.backend.comfyui.http_client import ComfyClient

        try:
            ComfyClient(server, PROBE_TIMEOUT_S).get_json("/system_stats")
        except ServerError:
            return False
        return True

    return probe


def pool_backend(settings: AppSettings, local: Backend) -> MultiBackend:
    """``local`` and the servers in use, behind one backend (with none in use, the local engine takes every job)."""
    pool = MultiBackend([], local, allow_local=settings.local_fallback)
    apply_servers(pool, settings)
    return pool


def apply_servers(pool: MultiBackend, settings: AppSettings) -> None:
    """Make ``pool`` use the servers of ``settings``: unchanged ones keep their connection."""
    running = {getattr(backend, "server", None): backend for backend in pool.server_backends()}
    chosen = [entry.server for entry in server_entries(settings) if entry.enabled]
    backends = [running.get(server) or comfy_backend(server) for server in chosen]
    pool.set_servers(backends, allow_local=settings.local_fallback, probes={s.name: answers(s) for s in chosen})
    for server in chosen:
        warn_if_plain(server.name, server.url)
    log.info("servers in use: %s", ", ".join(server.name for server in chosen) or "none")
