"""The artist's server choice applied to the running studio: kept in the preferences (tokens apart), handed to
the backend that spreads the queue, and the queue moved on (more servers take more jobs at once)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.backend.multi_backend import MultiBackend
from studio.backend.server_pool import ServerEntry, apply_servers, keep_server_entries, server_entries
from studio.state.lora_list import LoraList, default_scan
from studio.state.model_list import default_discover

if TYPE_CHECKING:
    from studio.state.app_state import AppState


def pool_lists(pool: Any, discover: Callable | None) -> tuple[Callable, LoraList]:
    """The model and LoRA lists' sources for the window's backend (``discover`` kept when a test gives one):
    while servers are in use, what they have (and this computer's, when it may take jobs); with none, this
    computer's folders, as always."""

    def servers_in_use() -> bool:
        return isinstance(pool, MultiBackend) and bool(pool.server_backends())

    def models(extra_dirs: Sequence[Path]) -> list[Any]:
        return pool.models() if servers_in_use() else default_discover(extra_dirs)

    def loras(roots: Sequence[str]) -> list[Any]:
        return pool.loras() if servers_in_use() else default_scan(roots)

    return discover or models, LoraList(loras)


def current_servers(state: AppState) -> list[ServerEntry]:
    return server_entries(state.settings)


def use_servers(state: AppState, entries: list[ServerEntry], allow_local: bool) -> None:
    """Keep ``entries`` and the local fallback choice, and use them from the next job on."""
    try:
        warnings = keep_server_entries(state.settings, entries, allow_local)
    except OSError as exc:
        state.error(
            f"The server tokens could not be kept ({exc}). Check that the studio's data folder is writable, then "
            "save the servers again."
        )
        return
    state.save_settings()
    backend = state.worker.backend
    if isinstance(backend, MultiBackend):
        apply_servers(backend, state.settings)
    for warning in warnings:
        state.notice(warning)
    used = [entry.server.name for entry in entries if entry.enabled]
    state.info(f"Generating on: {', '.join(used)}." if used else "Generating on this computer.")
    state.refresh_models()  # the model list shows what the servers in use have
    if not state.queue.paused:
        state.resume_queue()  # more servers take more of the waiting jobs at once
