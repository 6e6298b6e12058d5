"""Nothing a server answers is trusted: JSON shapes, names, sizes and pictures are checked here before use.

A check that fails raises ``ServerError`` saying what the server sent instead of what was expected, so a broken
or hostile server gives the artist a sentence, never a traceback or a file written outside the output folder.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from studio.backend.comfyui.errors import ServerError

MAX_JSON_BYTES = 64 * 1024 * 1024  # /object_info of a server with many custom nodes is a few MB
MAX_IMAGE_BYTES = 256 * 1024 * 1024  # a 16k×16k PNG fits; anything larger is not an image we asked for
MAX_PREVIEW_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 16384 * 16384
MAX_NAME_LENGTH = 255
# A file name as ComfyUI lists models and outputs: a relative path of ordinary characters, no "..", no root.
_NAME = re.compile(r"^[^\x00-\x1f/\\:*?\"<>|][^\x00-\x1f:*?\"<>|]*$")


def expect_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ServerError(f"The server's answer about {what} is not what ComfyUI sends (no JSON object).")
    return value


def expect_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ServerError(f"The server's answer about {what} is not what ComfyUI sends (no JSON list).")
    return value


def expect_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ServerError(f"The server's answer about {what} is not what ComfyUI sends (no text).")
    return value


def expect_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ServerError(f"The server's answer about {what} is not what ComfyUI sends (no number).")
    return float(value)


def file_name(value: Any, what: str) -> str:
    """A model or image name the server gave: relative, no parent folders, no control characters."""
    name = expect_str(value, what)
    parts = re.split(r"[/\\]", name)
    if not name or len(name) > MAX_NAME_LENGTH or ".." in parts or not _NAME.match(name.replace("\\", "/")):
        raise ServerError(f"The server named {what} '{name[:80]}', which is not a usable file name.")
    return name


def name_list(value: Any, what: str) -> list[str]:
    """A list of file names (``/models/<folder>``): unusable names are left out, never used."""
    names = []
    for item in expect_list(value, what):
        try:
            names.append(file_name(item, what))
        except ServerError:
            continue
    return names


def picture(data: bytes, what: str, max_bytes: int = MAX_IMAGE_BYTES) -> Any:
    """``data`` as a loaded RGB PIL image, after checking its size before and after decoding."""
    from PIL import Image

    if len(data) > max_bytes:
        raise ServerError(
            f"The server sent {what} of {len(data) / 1e6:.0f} MB, more than any image the studio asked for."
        )
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_IMAGE_PIXELS or opened.format not in (
                "PNG",
                "JPEG",
                "WEBP",
            ):
                raise ServerError(
                    f"The server sent {what} the studio did not ask for ({opened.format}, {opened.width}×{opened.height})."
                )
            opened.load()
            return opened.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ServerError(
            f"The server sent {what} that is not a readable picture ({type(exc).__name__})."
        ) from exc
