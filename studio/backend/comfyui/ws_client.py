"""ComfyUI's WebSocket (``/ws?clientId=``): the progress messages and preview frames of the jobs this studio sent.

``receive`` gives one message at a time: ``("json", dict)`` for a status message, ``("preview", bytes)`` for a
preview picture (still to be checked), None when nothing came within the timeout.
"""

from __future__ import annotations

import json
import struct
import urllib.parse
from typing import Any

from studio.backend.comfyui.answers import MAX_PREVIEW_BYTES
from studio.backend.comfyui.errors import ServerError, ServerUnreachable
from studio.backend.comfyui.http_client import check_url
from studio.backend.comfyui.server_config import ServerConfig

PREVIEW_IMAGE = 1  # ComfyUI's BinaryEventTypes: a 4-byte format (1 JPEG, 2 PNG), then the picture
PREVIEW_IMAGE_WITH_METADATA = 4  # a 4-byte JSON length, the JSON, then the picture
MAX_MESSAGE_BYTES = MAX_PREVIEW_BYTES


def socket_url(server: ServerConfig, client_id: str) -> str:
    parts = urllib.parse.urlsplit(check_url(server.url))
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/ws"
    return urllib.parse.urlunsplit(
        (scheme, parts.netloc, path, urllib.parse.urlencode({"clientId": client_id}), "")
    )


def preview_bytes(frame: bytes) -> bytes | None:
    """The picture inside a binary frame, or None for frames that are not previews (text, unknown kinds)."""
    if len(frame) < 8 or len(frame) > MAX_MESSAGE_BYTES:
        return None
    (kind,) = struct.unpack(">I", frame[:4])
    if kind == PREVIEW_IMAGE:
        return frame[8:]
    if kind == PREVIEW_IMAGE_WITH_METADATA:
        (length,) = struct.unpack(">I", frame[4:8])
        if 8 + length > len(frame):
            return None
        return frame[8 + length :]
    return None


class ComfySocket:
    """One open WebSocket to a server; ``close`` it when done."""

    def __init__(self, server: ServerConfig, client_id: str, timeout: float = 10.0) -> None:
        import websocket

        header = [f"Authorization: Bearer {server.token}"] if server.token else []
        try:
            self._socket = websocket.create_connection(
                socket_url(server, client_id), timeout=timeout, header=header
            )
        except websocket.WebSocketBadStatusException as exc:
            code = getattr(exc, "status_code", "?")
            hint = " Check the access token in the server settings." if code in (401, 403) else ""
            raise ServerError(
                f"The ComfyUI server '{server.name}' refused the progress connection (HTTP {code}).{hint}"
            ) from exc
        except (OSError, websocket.WebSocketException) as exc:
            raise ServerUnreachable(
                f"Could not open the progress connection to the ComfyUI server '{server.name}' ({exc}). Check "
                "that it is running and reachable."
            ) from exc
        self.server = server

    def receive(self, timeout: float) -> tuple[str, Any] | None:
        import websocket

        self._socket.settimeout(timeout)
        try:
            message = self._socket.recv()
        except websocket.WebSocketTimeoutException:
            return None
        except (OSError, websocket.WebSocketException) as exc:
            raise ServerUnreachable(
                f"The connection to the ComfyUI server '{self.server.name}' was lost ({exc or 'closed'}). The "
                "job stays in the queue as failed: retry it when the server is back, or send it elsewhere."
            ) from exc
        if isinstance(message, bytes):
            picture = preview_bytes(message)
            return ("preview", picture) if picture is not None else ("other", None)
        if not isinstance(message, str) or len(message) > MAX_MESSAGE_BYTES:
            return ("other", None)
        try:
            data = json.loads(message)
        except json.JSONDecodeError:
            return ("other", None)
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return ("other", None)
        return ("json", data)

    def close(self) -> None:
        try:
            # A server answers the close at once; a gone one is not waited for.
            self._socket.close(timeout=0.3)
        except Exception:  # noqa: BLE001 - closing a broken socket must not hide the error that broke it
            pass
