"""Where a server's access token comes from. For now the environment (``DIFFUSION_STUDIO_COMFY_TOKEN``) or the
command line; the server settings' token store (OS keyring) takes this function's place."""

from __future__ import annotations

import os

TOKEN_ENV = "DIFFUSION_STUDIO_COMFY_TOKEN"


def server_token(name: str) -> str:
    """The access token of the server called ``name`` ("" when it needs none)."""
    return os.environ.get(TOKEN_ENV, "")
