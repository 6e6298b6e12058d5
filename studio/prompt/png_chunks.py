"""The text stored inside image files: written into our PNGs, read from anyone's PNG, JPEG or WEBP.

Reading never trusts the file: a damaged chunk is skipped, a zip bomb is cut off, and only a file that is not
an image at all raises ``MetadataError``. Sources, in order: PNG tEXt/zTXt/iTXt chunks (walked by hand, so
chunks after the image data count and a bad CRC does not lose the rest), EXIF UserComment (A1111 JPEG/WEBP)
and ComfyUI's ``prompt:``/``workflow:`` EXIF tags (its WEBP), then A1111's "stealth" alpha-channel form when
nothing else was found.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

from PIL import Image, PngImagePlugin

from studio.errors import MetadataError
from studio.prompt.stealth_metadata import read_stealth_text

PARAMETERS_KEY = "parameters"
"""A1111's chunk: its infotext. Also where EXIF UserComment and stealth text are reported."""
STUDIO_KEY = "diffusion_studio"
"""Our chunk: the full ``GenerationRequest`` JSON of that one image."""
POSE_KEY = "diffusion_studio_pose"
"""Our chunk when the image was steered by the pose editor: the OpenPose JSON itself (the request has its path)."""

# Keys some reader understands; when none is present the pixels are checked for stealth text.
KNOWN_KEYS = frozenset(
    {
        PARAMETERS_KEY,
        STUDIO_KEY,
        "prompt",
        "invokeai_metadata",
        "sd-metadata",
        "Dream",
        "Comment",
        "Description",
    }
)

MAX_TEXT_BYTES = 16 * 1024 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_COMFY_EXIF_TAGS = (0x010F, 0x0110, 0x010E)  # Make, Model, ImageDescription: ComfyUI writes "key:json" there


def encode_png(
    image: Image.Image, parameters: str, request_json: str | None = None, pose_json: str | None = None
) -> bytes:
    """The PNG bytes of ``image`` with A1111's ``parameters`` chunk and our ``diffusion_studio`` chunk.

    ``parameters`` is tEXt when it fits latin-1 and iTXt otherwise, exactly as A1111 (through PIL) writes it;
    our JSON is always UTF-8 iTXt.
    """
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_KEY, parameters)
    if request_json is not None:
        info.add_itxt(STUDIO_KEY, request_json)
    if pose_json is not None:
        info.add_itxt(POSE_KEY, pose_json)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_text_chunks(path: str | os.PathLike[str]) -> dict[str, str]:
    """Every text entry of the image at ``path`` (see the module notes for where they are looked for).

    Raises ``MetadataError`` only when the file cannot be read or is not an image.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise MetadataError(
            f"Could not read '{file.name}': {exc.strerror or exc}. Check the file and try again."
        ) from exc
    return read_text_chunks_from_bytes(data, name=file.name)


def read_text_chunks_from_bytes(data: bytes, *, name: str = "the image") -> dict[str, str]:
    """``read_text_chunks`` for bytes already in memory (a drop from a browser, the clipboard)."""
    texts: dict[str, str] = {}
    is_png = data.startswith(_PNG_SIGNATURE)
    try:
        image: Image.Image | None = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        # Too many pixels to decode safely, but its text chunks can still be read without the pixels.
        image = None
    except Exception as exc:  # noqa: BLE001 - PIL's plugins raise many types on malformed headers
        raise MetadataError(
            f"'{name}' is not an image the studio can read. Choose a PNG, JPEG or WEBP file."
        ) from exc
    if is_png:
        texts.update(_png_texts(data))
    if image is None:
        return texts
    texts.update({k: v for k, v in _exif_texts(image).items() if k not in texts})
    if not KNOWN_KEYS.intersection(texts):
        for key, value in read_stealth_text(image).items():
            texts.setdefault(key, value)
    return texts


# --- PNG ------------------------------------------------------------------------------------------------


def _png_texts(data: bytes) -> dict[str, str]:
    texts: dict[str, str] = {}
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length  # the CRC is not checked: a wrong CRC on a text chunk still holds readable text
        if kind == b"IEND" or len(body) < length:
            break
        try:
            entry = _decode_text_chunk(kind, body)
        except (ValueError, IndexError, zlib.error):
            continue
        if entry is not None and entry[0] not in texts:
            texts[entry[0]] = entry[1]
    return texts


def _decode_text_chunk(kind: bytes, body: bytes) -> tuple[str, str] | None:
    if kind not in (b"tEXt", b"zTXt", b"iTXt"):
        return None
    raw_key, sep, rest = body.partition(b"\0")
    if not sep or not raw_key:
        raise ValueError("no keyword")
    key = raw_key.decode("latin-1")
    if kind == b"tEXt":
        return key, rest.decode("latin-1")
    if kind == b"zTXt":
        return key, _inflate(rest[1:]).decode("latin-1")
    if len(rest) < 2:
        raise ValueError("iTXt header cut short")
    compressed = rest[0]
    _language, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return key, (_inflate(text) if compressed else text).decode("utf-8")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_TEXT_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("text chunk too large")
    return out


# --- EXIF -----------------------------------------------------------------------------------------------


def _exif_texts(image: Image.Image) -> dict[str, str]:
    texts: dict[str, str] = {}
    try:
        exif = image.getexif()
        user_comment = exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT)
        big_endian = getattr(exif, "endian", "<") == ">"
        tags = {tag: exif.get(tag) for tag in _COMFY_EXIF_TAGS}
    except Exception:  # noqa: BLE001 - PIL raises many types on broken EXIF; none of them may stop the read
        return texts
    if isinstance(user_comment, bytes | str):
        text = decode_user_comment(user_comment, big_endian=big_endian)
        if text:
            texts[PARAMETERS_KEY] = text
    for value in tags.values():
        if isinstance(value, str) and ":" in value:
            key, _, text = value.partition(":")
            if key in ("prompt", "workflow") and text.lstrip().startswith("{"):
                texts.setdefault(key, text)
    return texts


def decode_user_comment(value: bytes | str, *, big_endian: bool = True) -> str:
    """The text of an EXIF UserComment: 8 bytes naming the character code, then the text.

    A1111 writes ``UNICODE`` with piexif, which is UTF-16 big-endian; other writers follow the file's byte
    order, so without a BOM the order whose high bytes are mostly zero wins (prompts are mostly ASCII).
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
