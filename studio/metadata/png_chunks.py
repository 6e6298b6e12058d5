"""The text stored inside image files: written into our PNGs, read from anyone's PNG, JPEG or WEBP.

Reading never trusts the file: a damaged chunk is skipped, and only a file that is not an image at all raises
``MetadataError``. Sources, in order: PNG tEXt/zTXt/iTXt chunks (walked by hand, so chunks after the image data
count and a bad CRC does not lose the rest), EXIF (``exif_texts``: UserComment, and the IFD0 tags ComfyUI's
savers use), the XMP packet (``XML:com.adobe.xmp``), then A1111's "stealth" alpha-channel form when nothing else
was found. What is read is capped, per text and per image, decompressed (a zip bomb is cut off as it inflates): a
text over the cap is left out and named in ``TextChunks.left_out``, never silently.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

from PIL import Image, PngImagePlugin

from studio.errors import MetadataError
from studio.metadata.exif_texts import container_metadata, read_exif_texts
from studio.metadata.exif_texts import (
    decode_user_comment as decode_user_comment,  # its old home, still imported
)
from studio.metadata.stealth import read_stealth_text

PARAMETERS_KEY = "parameters"
"""A1111's chunk: its infotext. Also where EXIF UserComment and stealth text are reported."""
STUDIO_KEY = "diffusion_studio"
"""Our chunk: the full ``GenerationRequest`` JSON of that one image."""
XMP_KEY = "XML:com.adobe.xmp"
"""The XMP packet: the iTXt keyword in PNG; JPEG APP1 and WebP ``XMP `` packets are reported under it too."""
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

MAX_TEXT_BYTES = 8_000_000
"""The most read from one text, decompressed. Settings are kilobytes and a ComfyUI graph with pictures inside a
few MB; a 50 MB "prompt" only makes the tokenizer run for many minutes."""
MAX_TOTAL_TEXT_BYTES = 32_000_000
"""The most read from all the texts of one image together."""
MAX_EMBEDDED_BYTES = 1024 * 1024
"""The most one compressed chunk written here may hold decompressed: PIL refuses to open a PNG with a larger one
(``PngImagePlugin.MAX_TEXT_CHUNK``), and so would A1111 and most tools that read our PNGs."""
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_KINDS = (b"tEXt", b"zTXt", b"iTXt")
_HEADER_ROOM = 1024  # a chunk's keyword, language tag and flags, beside its text


class TextChunks(dict[str, str]):
    """The text entries of one image by key. ``left_out`` names, readably, the texts too large to read."""

    def __init__(self) -> None:
        super().__init__()
        self.left_out: list[str] = []
        self.origins: dict[str, str] = {}
        """Where each text was found, readably: "a PNG tEXt chunk", "the EXIF UserComment", ..."""
        self._room = MAX_TOTAL_TEXT_BYTES

    def _limit(self) -> int:
        """The most the next text may hold: the per-text cap, or what is left of the per-image one."""
        return max(0, min(MAX_TEXT_BYTES, self._room))

    def _take(self, key: str, value: str, size: int, where: str = "") -> None:
        if key not in self:
            self[key] = value
            self._room -= size
            if where:
                self.origins[key] = where

    def _leave_out(self, key: str, size: int | None = None) -> None:
        if key in self:
            return
        how_big = f" ({megabytes(size)})" if size is not None else ""
        if self._room < MAX_TEXT_BYTES:
            self.left_out.append(
                f"the '{key}' text{how_big} was left out: the texts of this image together pass the "
                f"{megabytes(MAX_TOTAL_TEXT_BYTES)} the studio reads from one image"
            )
        else:
            self.left_out.append(
                f"the '{key}' text{how_big} is larger than the {megabytes(MAX_TEXT_BYTES)} the studio reads "
                "from one text"
            )


def encode_png(
    image: Image.Image,
    parameters: str,
    request_json: str | None = None,
    pose_json: str | None = None,
    xmp: str | None = None,
) -> bytes:
    """The PNG bytes of ``image`` with A1111's ``parameters`` chunk and our ``diffusion_studio`` chunk.

    ``parameters`` is tEXt when it fits latin-1 and iTXt otherwise, exactly as A1111 (through PIL) writes it,
    so every tool reads it. Our JSON (the request, the pose) is compressed UTF-8 iTXt, which only our reader
    and PIL-based ones need to read. Raises ``ValueError`` for a JSON text over ``MAX_EMBEDDED_BYTES``: the
    caller decides what to leave out (see ``fits_in_png``). ``xmp`` is an XMP packet, written as the
    uncompressed iTXt ``XML:com.adobe.xmp`` the XMP specification asks for (so exiftool and photo tools read it).
    """
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_KEY, parameters)
    if xmp is not None:
        info.add_itxt(XMP_KEY, xmp, zip=False)
    for key, text in ((STUDIO_KEY, request_json), (POSE_KEY, pose_json)):
        if text is None:
            continue
        if not fits_in_png(text):
            raise ValueError(f"The '{key}' text is {megabytes(len(text.encode()))}, over the PNG limit.")
        info.add_itxt(key, text, zip=True)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def fits_in_png(text: str) -> bool:
    """Whether ``text`` may be embedded as one compressed chunk that every PIL-based reader still opens."""
    return len(text) <= MAX_EMBEDDED_BYTES and len(text.encode("utf-8")) <= MAX_EMBEDDED_BYTES


def read_text_chunks(path: str | os.PathLike[str]) -> TextChunks:
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


def read_text_chunks_from_bytes(data: bytes, *, name: str = "the image") -> TextChunks:
    """``read_text_chunks`` for bytes already in memory (a drop from a browser, the clipboard)."""
    texts = TextChunks()
    is_png = data.startswith(_PNG_SIGNATURE)
    try:
        # PIL would read a PNG's texts itself: without our caps, keeping a second copy, and refusing the
        # whole image over one compressed text above 1 MB. It gets the image without them.
        image: Image.Image | None = Image.open(io.BytesIO(_without_texts(data) if is_png else data))
    except Image.DecompressionBombError:
        # Too many pixels to decode safely, but its text chunks can still be read without the pixels.
        image = None
    except Exception as exc:  # noqa: BLE001 - PIL's plugins raise many types on malformed headers
        raise MetadataError(
            f"'{name}' is not an image the studio can read. Choose a PNG, JPEG or WEBP file."
        ) from exc
    if is_png:
        _png_texts(data, texts)
    if image is None:
        if not is_png:  # a JPEG/WebP too large to open: its EXIF and XMP segments can still be read
            exif, xmp = container_metadata(data)
            if exif is not None:
                read_exif_texts(exif, texts)
            if xmp:
                _take_xmp(xmp, texts, "the image's XMP packet")
        return texts
    read_exif_texts(image, texts)
    _xmp_packet(image, texts)
    if not KNOWN_KEYS.intersection(texts):
        hidden = read_stealth_text(image, max_bytes=texts._limit(), left_out=texts.left_out)
        for key, value in hidden.items():
            texts._take(key, value, len(value), "the pixels' lowest bits (stealth metadata)")
    return texts


def _xmp_packet(image: Image.Image, texts: TextChunks) -> None:
    """The XMP packet of a JPEG (APP1) or WebP (``XMP `` chunk), as PIL found it."""
    packet = image.info.get("xmp")
    if isinstance(packet, bytes | str) and packet:
        _take_xmp(packet, texts, f"the {image.format or 'image'}'s XMP packet")


def _take_xmp(packet: bytes | str, texts: TextChunks, where: str) -> None:
    if XMP_KEY in texts:
        return
    if len(packet) > texts._limit():
        texts._leave_out(XMP_KEY, len(packet))
        return
    text = packet.decode("utf-8", errors="replace") if isinstance(packet, bytes) else packet
    texts._take(XMP_KEY, text, len(packet), where)


# --- PNG ------------------------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


def _chunks(data: bytes):
    """(type, start of body, length) of each whole chunk, up to IEND or where the data is cut short."""
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if pos + 8 + length > len(data):
            return
        yield kind, pos + 8, length
        if kind == b"IEND":
            return
        pos += 12 + length  # the CRC is not checked: a wrong CRC on a text chunk still holds readable text


def _without_texts(data: bytes) -> bytes:
    """The PNG without its text chunks (and without anything after IEND or a cut-short chunk)."""
    parts = [data[: len(_PNG_SIGNATURE)]]
    for kind, start, length in _chunks(data):
        if kind not in _TEXT_KINDS:
            parts.append(data[start - 8 : start + length + 4])
    return b"".join(parts)


def _png_texts(data: bytes, texts: TextChunks) -> None:
    for kind, start, length in _chunks(data):
        if kind not in _TEXT_KINDS:
            continue
        limit = texts._limit()
        if length > limit + _HEADER_ROOM:  # it cannot fit even stored plain: not even copied out of ``data``
            texts._leave_out(_keyword(data[start : start + min(length, 80)]), length)
            continue
        body = data[start : start + length]
        try:
            entry = _decode_text_chunk(kind, body, limit)
        except _TooLarge:
            texts._leave_out(_keyword(body))
            continue
        except (ValueError, IndexError, zlib.error):
            continue
        key, value, size = entry
        texts._take(key, value, size, f"a PNG {kind.decode()} chunk")


def _keyword(body: bytes) -> str:
    return body.partition(b"\0")[0].decode("latin-1")


def _decode_text_chunk(kind: bytes, body: bytes, limit: int) -> tuple[str, str, int]:
    """(key, text, decompressed size) of one text chunk; ``_TooLarge`` past ``limit`` decompressed bytes."""
    raw_key, sep, rest = body.partition(b"\0")
    if not sep or not raw_key:
        raise ValueError("no keyword")
    key = raw_key.decode("latin-1")
    if kind == b"tEXt":
        if len(rest) > limit:
            raise _TooLarge
        return key, rest.decode("latin-1"), len(rest)
    if kind == b"zTXt":
        raw = _inflate(rest[1:], limit)
        return key, raw.decode("latin-1"), len(raw)
    if len(rest) < 2:
        raise ValueError("iTXt header cut short")
    compressed = rest[0]
    _language, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    raw = _inflate(text, limit) if compressed else text
    if len(raw) > limit:
        raise _TooLarge
    return key, raw.decode("utf-8"), len(raw)


def _inflate(data: bytes, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes: a zip bomb stops growing there instead of filling the memory."""
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, limit)
    if inflater.unconsumed_tail:
        raise _TooLarge
    return out


def megabytes(size: int) -> str:
    """A size for a sentence: "50.0 MB"."""
    return f"{size / 1_000_000:.1f} MB"
