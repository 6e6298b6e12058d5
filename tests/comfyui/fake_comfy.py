"""A scriptable stand-in for a ComfyUI server (HTTP and a bare WebSocket), for fast tests of the protocol side:
what the studio does with each answer, fault and hostile reply. The real server is tested in test_real_server.py.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import queue
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from studio.backend.comfyui.connection import REQUIRED_NODES

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def png(width: int = 64, height: int = 64, colour=(200, 40, 40), format: str = "PNG") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format=format)
    return buffer.getvalue()


def preview_frame(width: int = 8, height: int = 8) -> bytes:
    return struct.pack(">II", 1, 1) + png(width, height, (10, 200, 10), "JPEG")


class FakeComfy:
    """``prompt_script(prompt_id)`` gives the WebSocket messages (dicts: JSON; bytes: binary; None: drop the
    connection) sent after each POST /prompt. ``answers`` overrides a path's answer as (status, body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.answers: dict[str, tuple[int, Any]] = {}
        self.delays: dict[str, float] = {}  # path -> seconds the server takes before it answers
        self.missing_nodes: set[str] = set()
        self.image = png()
        self.history_images: list[dict[str, Any]] | None = None
        self.prompt_script = self.success_script
        self.prompts: list[dict[str, Any]] = []
        self._sockets: list[queue.Queue[Any]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        for socket_queue in self._sockets:
            socket_queue.put(None)
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def success_script(prompt_id: str, node: str, steps: int = 2) -> list[Any]:
        messages: list[Any] = [{"type": "execution_start", "data": {"prompt_id": prompt_id}}]
        for step in range(1, steps + 1):
            messages.append(
                {
                    "type": "progress",
                    "data": {"value": step, "max": steps, "prompt_id": prompt_id, "node": node},
                }
            )
            messages.append(preview_frame())
        messages.append({"type": "execution_success", "data": {"prompt_id": prompt_id}})
        return messages

    def send(self, message: Any) -> None:
        for socket_queue in list(self._sockets):
            socket_queue.put(message)

    # --- what the server answers -------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, Any]:
        if path in self.answers:
            return self.answers[path]
        if path == "/system_stats":
            return 200, {
                "system": {"comfyui_version": "0.8.0"},
                "devices": [{"name": "fake gpu", "vram_free": 2**31}],
            }
        if path == "/object_info":
            return 200, {node: {} for node in REQUIRED_NODES if node not in self.missing_nodes}
        if path == "/object_info/KSampler":
            return 200, {
                "KSampler": {
                    "input": {"required": {"sampler_name": [["euler", "euler_ancestral", "dpmpp_2m"]]}}
                }
            }
        if path == "/models/checkpoints":
            return 200, ["sd15.safetensors", "../../etc/passwd", "sub/xl.safetensors"]
        if path == "/models/loras":
            return 200, ["ink.safetensors"]
        if path == "/models/controlnet":
            return 200, ["scribble.safetensors"]
        if path.startswith("/view_metadata/"):
            return 200, {"modelspec.architecture": "stable-diffusion-v1"}
        if path == "/upload/image":
            return 200, {"name": "uploaded.png", "subfolder": "", "type": "input"}
        if path == "/prompt":
            prompt_id = f"p{len(self.prompts) + 1}"
            graph = json.loads(body)
            self.prompts.append(graph)
            sampler = next(k for k, v in graph["prompt"].items() if v["class_type"] == "KSampler")
            for message in self.prompt_script(prompt_id, sampler):
                self.send(message)
            return 200, {"prompt_id": prompt_id, "number": 1, "node_errors": {}}
        if path.startswith("/history/"):
            prompt_id = path.rsplit("/", 1)[1]
            output = self.prompts[-1]["prompt"] if self.prompts else {}
            save = next((k for k, v in output.items() if v["class_type"] == "SaveImage"), "9")
            images = self.history_images if self.history_images is not None else [
                {"filename": "out.png", "subfolder": "", "type": "output"}
            ]  # fmt: skip
            return 200, {prompt_id: {"outputs": {save: {"images": images}}}}
        if path == "/view":
            return 200, self.image
        if path == "/queue":
            return 200, {"queue_running": [], "queue_pending": []}
        if path == "/interrupt":
            self.send({"type": "execution_interrupted", "data": {"prompt_id": f"p{len(self.prompts)}"}})
            return 200, b""
        return 404, {"error": "not found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append((method, parts.path, dict(self.headers), body))
                if parts.path == "/ws":
                    self._websocket()
                    return
                if parts.path in fake.delays:
                    time.sleep(fake.delays[parts.path])
                status, answer = fake.answer(method, parts.path, parse_qs(parts.query), body)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                kind = "application/octet-stream" if isinstance(answer, bytes) else "application/json"
                with contextlib.suppress(OSError):  # the client gave up waiting (the timeout tests)
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _websocket(self) -> None:
                key = self.headers.get("Sec-WebSocket-Key", "")
                accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
                self.send_response(101)
                self.send_header("Upgrade", "websocket")
                self.send_header("Connection", "Upgrade")
                self.send_header("Sec-WebSocket-Accept", accept)
                self.end_headers()
                self.wfile.flush()
                outgoing: queue.Queue[Any] = queue.Queue()
                fake._sockets.append(outgoing)
                self.wfile.write(_frame({"type": "status", "data": {"status": {}}}))
                while True:
                    message = outgoing.get()
                    if message is None:  # the server goes away: the connection just ends
                        self.close_connection = True
                        with contextlib.suppress(OSError):
                            self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.wfile.write(_frame(message))
                    self.wfile.flush()

        return Handler


def _frame(message: Any) -> bytes:
    if isinstance(message, bytes):
        opcode, payload = 0x82, message
    else:
        opcode, payload = 0x81, json.dumps(message).encode()
    if len(payload) < 126:
        header = struct.pack(">BB", opcode, len(payload))
    elif len(payload) < 65536:
        header = struct.pack(">BBH", opcode, 126, len(payload))
    else:
        header = struct.pack(">BBQ", opcode, 127, len(payload))
    return header + payload
