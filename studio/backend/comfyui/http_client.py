"""ComfyUI's HTTP API: JSON in and out, pictures up and down, a timeout on every call and the token as a bearer
header. Failures become ``ServerError`` sentences (``ServerUnreachable`` when nothing answered)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from studio.backend.comfyui.answers import MAX_IMAGE_BYTES, MAX_JSON_BYTES, expect_mapping, file_name
from studio.backend.comfyui.errors import ServerError, ServerUnreachable
from studio.backend.comfyui.server_config import ServerConfig

DEFAULT_TIMEOUT = 10.0


def check_url(url: str) -> str:
    """``url`` as the studio stores it (no trailing slash), or ``ServerError`` saying what a good one looks like."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ServerError(
            f"'{url}' is not a server address; write it like http://192.168.1.20:8188 (or https://...)."
        )
    return url.strip().rstrip("/")


def display_address(url: str) -> str:
    """``scheme://host:port`` of ``url`` without a user name or password, for messages and metadata."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def is_local(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1") or host.startswith("127.")


class ComfyClient:
    """The HTTP side of one server."""

    def __init__(self, server: ServerConfig, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.server = server
        self.url = check_url(server.url)
        self.timeout = timeout

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.server.token}"} if self.server.token else {}

    def _open(self, request: urllib.request.Request, timeout: float | None, limit: int) -> bytes:
        for key, value in self.headers().items():
            request.add_header(key, value)
        where = f"the ComfyUI server '{self.server.name}' ({display_address(self.url)})"
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as answer:
                data = answer.read(limit + 1)
        except urllib.error.HTTPError as exc:
            raise ServerError(_http_failure(exc, where)) from None
        except TimeoutError as exc:
            raise ServerUnreachable(
                f"{where} did not answer within {timeout or self.timeout:.0f} s. Check that it is running and "
                "not overloaded, then try again."
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachable(
                f"Could not reach {where}: {reason}. Check the address and that ComfyUI is running there."
            ) from exc
        if len(data) > limit:
            raise ServerError(
                f"{where} sent more than {limit // 1_000_000} MB where the studio expected less."
            )
        return data

    def get_bytes(self, path: str, params: dict[str, str] | None = None, *, limit: int = MAX_IMAGE_BYTES,
                  timeout: float | None = None) -> bytes:  # fmt: skip
        query = "?" + urllib.parse.urlencode(params) if params else ""
        return self._open(urllib.request.Request(self.url + path + query), timeout, limit)

    def get_json(self, path: str, params: dict[str, str] | None = None, timeout: float | None = None) -> Any:
        data = self.get_bytes(path, params, limit=MAX_JSON_BYTES, timeout=timeout)
        return _json(data, path)

    def post_json(self, path: str, body: Any, timeout: float | None = None) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        data = self._open(request, timeout, MAX_JSON_BYTES)
        return _json(data, path) if data.strip() else None

    def upload_image(self, png: bytes, name: str) -> str:
        """Upload ``png`` into the server's input folder; the name it was stored under (``LoadImage`` takes it)."""
        boundary = uuid.uuid4().hex
        body = b"".join(
            [
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{name}"\r\n'.encode(),
                b"Content-Type: image/png\r\n\r\n", png, b"\r\n",
                f'--{boundary}\r\nContent-Disposition: form-data; name="overwrite"\r\n\r\ntrue\r\n'.encode(),
                f"--{boundary}--\r\n".encode(),
            ]
        )  # fmt: skip
        request = urllib.request.Request(
            self.url + "/upload/image",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        answer = expect_mapping(
            _json(self._open(request, None, MAX_JSON_BYTES), "/upload/image"), "an upload"
        )
        stored = file_name(answer.get("name"), "an uploaded image")
        subfolder = answer.get("subfolder") or ""
        return f"{file_name(subfolder, 'an upload folder')}/{stored}" if subfolder else stored


def _json(data: bytes, path: str) -> Any:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ServerError(
            f"The server's answer to {path} is not JSON; is this address a ComfyUI server?"
        ) from exc


def _http_failure(exc: urllib.error.HTTPError, where: str) -> str:
    if exc.code in (401, 403):
        return f"{where} refused the studio (HTTP {exc.code}): check the access token in the server settings."
    if exc.code == 404:
        return f"{where} does not know {urllib.parse.urlsplit(exc.url or '').path} (HTTP 404); is it ComfyUI?"
    detail = ""
    try:
        body = json.loads(exc.read(MAX_JSON_BYTES))
        detail = _error_text(body)
    except (OSError, ValueError):
        pass
    kind = "refused the job" if 400 <= exc.code < 500 else "failed"
    return f"{where} {kind} (HTTP {exc.code}){': ' + detail if detail else '.'}"


def _error_text(body: Any) -> str:
    """The readable part of ComfyUI's ``{"error": {...}, "node_errors": {...}}`` answer, kept short."""
    if not isinstance(body, dict):
        return ""
    parts = []
    error = body.get("error")
    if isinstance(error, dict):
        parts.append(str(error.get("message", ""))[:200])
        if error.get("details"):
            parts.append(str(error["details"])[:300])
    elif isinstance(error, str):
        parts.append(error[:300])
    nodes = body.get("node_errors")
    if isinstance(nodes, dict):
        for node in list(nodes.values())[:3]:
            for item in (node.get("errors") or [])[:2] if isinstance(node, dict) else []:
                if isinstance(item, dict):
                    parts.append(f"{item.get('message', '')}: {item.get('details', '')}"[:200])
    return " ".join(p for p in parts if p).strip()
