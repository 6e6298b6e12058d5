"""One way to make a backend from the preferences, for the window and the command line alike."""

from __future__ import annotations

from typing import Any

from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.local import LocalBackend
from studio.backend.process import ProcessBackend
from studio.backend.protocol import Backend
from studio.engine.config import EngineConfig
from studio.models.taesd import default_taesd_folder
from studio.settings import AppSettings


def engine_config(settings: AppSettings, **overrides: Any) -> EngineConfig:
    """The engine set up as the preferences say: the same LoRA, ControlNet and annotator folders everywhere."""
    config = EngineConfig(
        allow_pickle=settings.allow_pickle,
        torch_threads=settings.engine_threads(),
        lora_dirs=tuple(settings.lora_roots()),
        annotators_dir=settings.annotators_folder,
        controlnet_dirs=tuple(str(folder) for folder in settings.controlnet_folders()),
        taesd_path=settings.taesd_folder or default_taesd_folder(settings.models_folder),
        vram=settings.vram,
        fast=settings.fast_mode,
        fp8_weights=settings.fp8_weights,
    )
    return config.with_changes(**overrides)


def model_dirs(settings: AppSettings) -> tuple[str, ...]:
    return tuple(str(folder) for folder in settings.model_search_dirs())


def saved_server(settings: AppSettings, name: str) -> ServerConfig | None:
    """The server saved as ``name`` in the preferences, with its token; None when there is none."""
    from studio.backend.comfyui.token_lookup import server_token

    for entry in settings.servers:
        if entry.get("name") == name and entry.get("url"):
            return ServerConfig(name=name, url=entry["url"], token=server_token(entry["url"]))
    return None


def backend_from_settings(
    settings: AppSettings,
    *,
    own_process: bool,
    extra_model_dirs: tuple[str, ...] = (),
    server: ServerConfig | None = None,
    **overrides: Any,
) -> Backend:
    """The backend the preferences choose: the ComfyUI server ``server`` or the active one, else the local engine
    in a child process (the window) or in this one (the CLI).

    ``extra_model_dirs`` are listed beside the preferences' folders (``models --dir``); ``overrides`` replace
    fields of the ``EngineConfig``.
    """
    config = engine_config(settings, **overrides)
    folders = (*model_dirs(settings), *extra_model_dirs)
    server = server or (saved_server(settings, settings.active_server) if settings.active_server else None)
    if server is not None:
        from studio.backend.comfyui.backend import ComfyBackend

        return ComfyBackend(server, config, folders)
    if own_process:
        return ProcessBackend(config, folders)
    return LocalBackend(config, folders)
