"""The settings texts other tools put in EXIF (JPEG and WebP, and the PNG ``eXIf`` chunk PIL reads).

Where each tool writes (read from their sources):

- A1111/Forge, SwarmUI, Civitai, Easy Diffusion: the Exif IFD's ``UserComment`` (8 bytes naming the character
  code, then the text: ``UNICODE`` is UTF-16 in either byte order, ``ASCII`` plain).
- ComfyUI's own WebP saver: IFD0 ``Model`` (0x0110) = ``prompt:{graph}`` and, counting down from ``Make``
  (0x010F), one tag per extra entry: ``workflow:{graph}``. Save Image Extended and other custom savers use
  ``Prompt:``/``Workflow:`` with a capital and a space, in ``Make``/``ImageDescription``; some older ones put one
  JSON object ``{"prompt": {...}, "workflow": {...}}`` in ``UserComment``.
- Civitai's on-site generator: ``UserComment`` holds the ComfyUI API graph itself, with an ``extraMetadata`` JSON
  string and an ``extra`` object beside the nodes.
- NovelAI WebP: ``UserComment`` holds a JSON object of its PNG text chunks (``Comment``, ``Software``, ...).

Each text lands under the key its PNG equivalent would have, so the dialect readers do not care about the
container; ``TextChunks.origins`` keeps where it was found.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from studio.metadata.png_chunks import TextChunks

_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
# DocumentName, ImageDescription, Make, Model: where ComfyUI-family savers write "key:json".
_GRAPH_TAGS = {0x010D: "DocumentName", 0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model"}
_GRAPH_PREFIX = re.compile(r"^\s*([A-Za-z_]+)\s*:\s*")
_GRAPH_KEYS = ("prompt", "workflow")
_NOVELAI_KEYS = ("Title", "Description", "Software", "Source", "Generation time", "Comment")
PARAMETERS_KEY = "parameters"


def read_exif_texts(image: Image.Image | Image.Exif, texts: TextChunks) -> None:
    """Add the settings texts of ``image``'s EXIF (or of an ``Exif`` already loaded) to ``texts``, those not
    already found in PNG chunks."""
    try:
        exif = image if isinstance(image, Image.Exif) else image.getexif()
        user_comment = exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT)
        big_endian = getattr(exif, "endian", "<") == ">"
        tags = {tag: exif.get(tag) for tag in _GRAPH_TAGS}
    except Exception:  # noqa: BLE001 - PIL raises many types on broken EXIF; none of them may stop the read
        return
    for tag, value in tags.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if not isinstance(value, str):
            continue
        match = _GRAPH_PREFIX.match(value)
        if match is None or match.group(1).lower() not in _GRAPH_KEYS:
            continue
        key, text = match.group(1).lower(), value[match.end() :].strip("\0")
        if text.lstrip().startswith("{"):
            _add(texts, key, text, f"the EXIF {_GRAPH_TAGS[tag]} tag ('{match.group(1)}:')")
    if not isinstance(user_comment, bytes | str) or PARAMETERS_KEY in texts:
        return
    if len(user_comment) > texts._limit():
        texts._leave_out("EXIF UserComment", len(user_comment))
        return
    text = decode_user_comment(user_comment, big_endian=big_endian)
    if not text:
        return
    where = "the EXIF UserComment"
    for key, value in _expand_user_comment(text).items():
        _add(texts, key, value, where)


def container_metadata(data: bytes) -> tuple[Image.Exif | None, bytes | None]:
    """The EXIF and XMP of a JPEG or WebP read from its segments, without decoding (or even opening) the
    image: for a picture too large to open safely (a decompression bomb), whose settings are still worth
    reading. Bounded by the file's own segment lengths; never raises."""
    exif_bytes: bytes | None = None
    xmp: bytes | None = None
    try:
        for kind, body in _segments(data):
            if kind == "exif" and exif_bytes is None:
                exif_bytes = body
            elif kind == "xmp" and xmp is None:
                xmp = body
    except (IndexError, ValueError):
        pass
    exif = None
    if exif_bytes:
        try:
            exif = Image.Exif()
            exif.load(exif_bytes if exif_bytes.startswith(b"Exif") else b"Exif\0\0" + exif_bytes)
        except Exception:  # noqa: BLE001 - a broken EXIF block only means no EXIF texts
            exif = None
    return exif, xmp


_XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\0"


def _segments(data: bytes):
    """("exif" | "xmp", body) of each metadata segment of a JPEG (APP1) or WebP (RIFF chunk)."""
    if data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 4 <= len(data) and data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xD9, 0xDA):  # end of image, start of the compressed data: no headers after
                return
            length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            body = data[pos + 4 : pos + 2 + length]
            if marker == 0xE1 and body.startswith(b"Exif\0"):
                yield "exif", body
            elif marker == 0xE1 and body.startswith(_XMP_APP1):
                yield "xmp", body[len(_XMP_APP1) :]
            pos += 2 + length
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        pos = 12
        while pos + 8 <= len(data):
            kind, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
            body = data[pos + 8 : pos + 8 + size]
            if kind == b"EXIF":
                yield "exif", body
            elif kind == b"XMP ":
                yield "xmp", body
            pos += 8 + size + (size & 1)


def _add(texts: TextChunks, key: str, value: str, where: str) -> None:
    if key in texts:
        return
    if len(value) > texts._limit():
        texts._leave_out(key, len(value))
        return
    texts._take(key, value, len(value), where)


def _expand_user_comment(text: str) -> dict[str, str]:
    """The PNG-style keys one UserComment text stands for (see the module notes)."""
    stripped = text.strip()
    data: Any = None
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):
            data = None
    if isinstance(data, dict):
        if (
            data.get("Software") == "NovelAI"
            or isinstance(data.get("Comment"), str)
            and "Description" in data
        ):
            return {key: _as_text(data[key]) for key in _NOVELAI_KEYS if key in data}
        prompt = data.get("prompt")
        if isinstance(prompt, dict) or (
            "workflow" in data and isinstance(prompt, str) and prompt.startswith("{")
        ):
            # {"prompt": {...}, "workflow": {...}}: one JSON object standing for several PNG chunks
            return {key: _as_text(value) for key, value in data.items() if isinstance(value, dict | str)}
        if any(isinstance(v, dict) and "class_type" in v for v in data.values()):
            return {"prompt": stripped}  # the API graph itself (Civitai)
    match = _GRAPH_PREFIX.match(stripped)
    if match and match.group(1).lower() in _GRAPH_KEYS and stripped[match.end() :].startswith("{"):
        return {match.group(1).lower(): stripped[match.end() :]}
    return {PARAMETERS_KEY: text}


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def decode_user_comment(value: bytes | str, *, big_endian: bool = True) -> str:
    """The text of an EXIF UserComment: 8 bytes naming the character code, then the text.

    A1111 writes ``UNICODE`` with piexif, which is UTF-16 big-endian; other writers (SwarmUI through
    ImageSharp) follow the file's byte order, so without a BOM the order whose high bytes are mostly zero wins
    (prompts are mostly ASCII).
    """
    if isinstance(value, str):
        return value.strip("\0")
    code, body = value[:8], value[8:]
    if code.startswith(b"UNICODE"):
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            return body.decode("utf-16", errors="replace").strip("\0")
        body = body[: len(body) // 2 * 2]
        zeros_even = body[0::2].count(0)
        zeros_odd = body[1::2].count(0)
        if zeros_even != zeros_odd:
            encoding = "utf-16-be" if zeros_even > zeros_odd else "utf-16-le"
        else:
            encoding = "utf-16-be" if big_endian else "utf-16-le"
        return body.decode(encoding, errors="replace").strip("\0")
    if code.startswith(b"JIS"):
        return body.decode("shift_jis", errors="replace").strip("\0")
    if code.strip(b"\0") and not code.startswith(b"ASCII"):
        body = value  # no character code at all: the whole value is text
    try:
        return body.decode("utf-8").strip("\0")
    except UnicodeDecodeError:
        return body.decode("latin-1").strip("\0")


def encode_user_comment(text: str, *, big_endian: bool = False) -> bytes:
    """A UserComment A1111 and every reader above understand: ``UNICODE`` then UTF-16 in the file's byte
    order (exiftool decodes it by that order)."""
    return b"UNICODE\0" + text.encode("utf-16-be" if big_endian else "utf-16-le")
