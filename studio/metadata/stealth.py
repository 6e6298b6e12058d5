"""A1111's "stealth pnginfo": settings hidden in the least significant bits of the pixels.

Written by the stealth-pnginfo extension (and NovelAI) so the text survives sites that strip PNG chunks.
Layout: bits are read column by column (x outer, y inner) from the alpha channel (one bit per pixel) or from
R, G, B (three bits per pixel); first a 15-byte signature (``stealth_pnginfo`` / ``stealth_pngcomp`` for
alpha, ``stealth_rgbinfo`` / ``stealth_rgbcomp`` for RGB; "comp" means gzip), then the payload length in
bits as a 32-bit big-endian number, then the payload: UTF-8 text, or (NovelAI) a JSON object of text chunks.
"""

from __future__ import annotations

import gzip
import io
import json

from PIL import Image

_SIGNATURE_BYTES = 15
_ALPHA_SIGNATURES = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}
_RGB_SIGNATURES = {b"stealth_rgbinfo": False, b"stealth_rgbcomp": True}
_MAX_PAYLOAD_BYTES = 8_000_000
_MAX_PIXELS = 64 * 1024 * 1024  # beyond this, decoding the pixels only to look for hidden text costs too much


class _TooLarge(Exception):
    def __init__(self, size: int | None) -> None:
        super().__init__(size)
        self.size = size


def read_stealth_text(
    image: Image.Image, max_bytes: int = _MAX_PAYLOAD_BYTES, left_out: list[str] | None = None
) -> dict[str, str]:
    """The text chunks hidden in ``image``'s pixels, or ``{}``. Never raises.

    Plain text is returned as ``{"parameters": text}``; a NovelAI JSON payload as its own keys. A payload over
    ``max_bytes`` (stored or once decompressed) is not read; a sentence saying so goes to ``left_out``.
    """
    try:
        payload = _payload(image, max_bytes)
    except _TooLarge as exc:
        if left_out is not None:
            size = f" ({exc.size / 1_000_000:.1f} MB)" if exc.size is not None else ""
            left_out.append(
                f"the text hidden in the pixels{size} is larger than the {max_bytes / 1_000_000:.1f} MB the "
                "studio reads from one text"
            )
        return {}
    except Exception:  # noqa: BLE001 - decoding a damaged image can fail in many ways; it only means "no text"
        return {}
    if payload is None:
        return {}
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and decoded and all(isinstance(k, str) for k in decoded):
        return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in decoded.items()}
    return {"parameters": text}


def _payload(image: Image.Image, max_bytes: int) -> bytes | None:
    if image.mode not in ("RGB", "RGBA", "LA", "L", "P", "PA") or image.width * image.height > _MAX_PIXELS:
        return None
    image.load()
    has_alpha = "A" in image.getbands() or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        found = _decode(image, "alpha", _ALPHA_SIGNATURES, max_bytes)
        if found is not None:
            return found
    return _decode(image, "rgb", _RGB_SIGNATURES, max_bytes)


def _bits(image: Image.Image, kind: str, columns: int | None = None):
    """The hidden bits in reading order; ``columns`` limits the work to the first few columns."""
    import numpy as np  # only here: most images have no stealth text and never need numpy

    if columns is not None:
        image = image.crop((0, 0, min(columns, image.width), image.height))
    if kind == "alpha":
        pixels = np.asarray(image.convert("RGBA").getchannel("A"))
        return (pixels.T.reshape(-1) & 1).astype(np.uint8)
    pixels = np.asarray(image.convert("RGB"))
    return (pixels.transpose(1, 0, 2).reshape(-1) & 1).astype(np.uint8)


def _decode(image: Image.Image, kind: str, signatures: dict[bytes, bool], max_bytes: int) -> bytes | None:
    import numpy as np

    header_bits = (_SIGNATURE_BYTES + 4) * 8
    per_column = image.height * (1 if kind == "alpha" else 3)
    if per_column == 0:
        return None
    bits = _bits(image, kind, columns=-(-header_bits // per_column))
    if bits.size < header_bits:
        return None
    header = np.packbits(bits[:header_bits]).tobytes()
    compressed = signatures.get(header[:_SIGNATURE_BYTES])
    if compressed is None:
        return None
    length = int.from_bytes(header[_SIGNATURE_BYTES:], "big") // 8
    end = header_bits + length * 8
    if length <= 0 or end > per_column * image.width:
        return None
    if length > max_bytes:
        raise _TooLarge(length)
    bits = _bits(image, kind, columns=-(-end // per_column))  # only the columns the payload fills
    data = np.packbits(bits[header_bits:end]).tobytes()
    if not compressed:
        return data
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        out = stream.read(max_bytes + 1)
    if len(out) > max_bytes:
        raise _TooLarge(None)
    return out
