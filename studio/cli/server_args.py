"""``--server`` and ``--token`` for ``generate`` and ``models``: the same commands, run by a ComfyUI server."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from studio.cli.parser import CliError

if TYPE_CHECKING:
    from studio.backend.comfyui.server_config import ServerConfig
    from studio.settings import AppSettings


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="URL",
        help="a ComfyUI server (http://host:8188, https too) or the name of one saved in the window; the job "
        "runs there (default: this computer)",
    )
    parser.add_argument(
        "--token",
        help="the server's access token, sent as a bearer header (default: $DIFFUSION_STUDIO_COMFY_TOKEN; "
        "prefer the variable: a flag is visible to other users of this computer)",
    )


def server_from_args(args: argparse.Namespace, settings: AppSettings) -> ServerConfig | None:
    """The server ``--server`` names (a URL, or a saved server's name), checked to answer; None for local."""
    if not getattr(args, "server", None):
        if getattr(args, "token", None):
            raise CliError("--token is for a server: give --server URL too.")
        return None
    from studio.backend.comfyui.connection import check_connection
    from studio.backend.comfyui.errors import ServerError
    from studio.backend.comfyui.http_client import check_url
    from studio.backend.comfyui.server_config import ServerConfig
    from studio.backend.comfyui.token_lookup import server_token
    from studio.backend.factory import saved_server

    text = args.server.strip()
    saved = saved_server(settings, text)
    if saved is not None:
        server = saved
    else:
        try:
            url = check_url(text)
        except ServerError as exc:
            names = ", ".join(str(s.get("name")) for s in settings.servers) or "none saved"
            raise CliError(f"--server: {exc} (or the name of a saved server: {names})") from None
        server = ServerConfig(name=url.split("://", 1)[1], url=url, token=server_token(url))
    if args.token:
        server = ServerConfig(server.name, server.url, args.token)
    status = check_connection(server)
    if not status.reachable:
        raise CliError(status.error)
    if status.missing_nodes:
        raise CliError(status.summary())
    if status.warning:
        import sys

        print(f"note: {status.warning}", file=sys.stderr)
    return server
