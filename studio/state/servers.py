"""The artist's server choice applied to the running studio: kept in the preferences (tokens apart), handed to
the backend that spreads the queue, and the queue moved on (more servers take more jobs at once)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.backend.multi_backend import MultiBackend
from studio.backend.server_pool import ServerEntry, apply_servers, keep_server_entries, server_entries
from studio.errors import StudioError
from studio.state.lora_list import LoraList, default_scan
from studio.state.model_list import default_discover
from studio.state.scan_threads import ScannedList

if TYPE_CHECKING:
    from studio.state.app_state import AppState

log = logging.getLogger("studio.servers")


@dataclass(frozen=True)
class PoolOffer:
    """What the servers in use offer beyond models and LoRAs: the pool's ControlNets (server file names, and this
    computer's paths when it takes jobs too) and, per A1111 sampler, the servers that cannot run it."""

    controlnets: tuple[str, ...]
    lacking: dict[str, tuple[str, ...]]


def _servers(backend: Any) -> list[Any]:
    """The servers in use behind the window's ``backend`` (a single ComfyUI backend is one)."""
    if isinstance(backend, MultiBackend):
        return backend.server_backends()
    return [backend] if getattr(backend, "name", "") == "comfyui" else []


def pool_offer(pool: Any) -> PoolOffer | None:
    """Ask the servers (network: call off the GUI thread); None while no server is in use."""
    servers = _servers(pool)
    if not servers:
        return None
    from studio.models.samplers import SAMPLER_NAMES

    # First: it refreshes each server's file list, which the sampler question below then reads.
    controlnets = tuple(str(path) for path in pool.controlnets())
    lacking: dict[str, list[str]] = {}
    for server in servers:
        # The artist's name for it (a lone ComfyUI backend is named "comfyui"; in the pool, as its server).
        name = getattr(getattr(server, "server", None), "name", None) or server.name
        try:
            samplers = set(server.capabilities().samplers)
        except (StudioError, OSError) as exc:  # not answering now: the dispatcher sends it nothing anyway
            log.info("no sampler list from %s (%s)", name, exc)
            continue
        for sampler in SAMPLER_NAMES:
            if sampler not in samplers:
                lacking.setdefault(sampler, []).append(name)
    return PoolOffer(controlnets, {k: tuple(v) for k, v in lacking.items()})


class PoolOffers(ScannedList):
    """``pool_offer`` on a scan thread; ``changed`` carries ``[PoolOffer]``, or ``[]`` with no server in use."""

    def __init__(self, pool: Any, parent: Any = None) -> None:
        super().__init__(
            lambda *_args: [offer] if (offer := pool_offer(pool)) else [],
            thread_name="studio-pool-offer",
            failure="Asking the servers for their ControlNets and samplers failed ({error}). Check Servers….",
            parent=parent,
        )


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
