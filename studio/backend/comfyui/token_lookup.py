"""Where a server's access token comes from: the environment (``DIFFUSION_STUDIO_COMFY_TOKEN``), else the one
Servers… kept (the OS keyring or a private file, ``credentials``); the command line's ``--token`` comes first."""

from __future__ import annotations

import os

from studio.backend.comfyui.credentials import load_token

TOKEN_ENV = "DIFFUSION_STUDIO_COMFY_TOKEN"


def server_token(url: str) -> str:
    """The access token of the server at ``url`` ("" when it needs none)."""
    return os.environ.get(TOKEN_ENV) or load_token(url)
