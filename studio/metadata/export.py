"""Export a picture as JPEG or WebP, keeping what it says about how it was made.

The settings go where A1111 puts them in a JPEG: the EXIF ``UserComment`` (``UNICODE``, UTF-16 in the file's
byte order), which A1111, Forge, Civitai and this studio read back; the provenance XMP (IPTC
``DigitalSourceType`` = trained algorithmic media) goes in the format's XMP packet. The studio's own JSON has no
place in a JPEG, so the A1111 text is what restores (as it does for A1111's JPEGs). The source is never changed;
the new file is written atomically and never replaces an existing one (a number is added instead).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from studio.atomic import atomic_write_bytes
from studio.errors import MetadataError, SaveError, StudioError
from studio.metadata.exif_texts import encode_user_comment
from studio.metadata.png_chunks import PARAMETERS_KEY, STUDIO_KEY, XMP_KEY, read_text_chunks
from studio.metadata.xmp import DIGITAL_SOURCE_TYPE, provenance_xmp
from studio.request import GenerationRequest

FORMATS = {"jpeg": ".jpg", "webp": ".webp"}
"""The export formats and their file suffixes."""
QUALITY = 95
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_SOFTWARE = 0x0131
_MAX_TRIES = 1000


def export_image(source: str | Path, fmt: str, folder: str | Path, creator_tool: str) -> Path:
    """Write ``source`` as ``fmt`` ("jpeg" or "webp") into ``folder``; return the new file's path.

    Raises ``MetadataError`` when ``source`` is not an image, ``SaveError`` when the folder cannot be written,
    ``ValueError`` for an unknown format.
    """
    fmt = fmt.lower().replace("jpg", "jpeg")
    if fmt not in FORMATS:
        raise ValueError(f"Export as JPEG or WebP, not '{fmt}'.")
    source, folder = Path(source), Path(folder)
    texts = read_text_chunks(source)  # raises MetadataError for a file that is not an image
    try:
        with Image.open(source) as opened:
            image = opened.convert("RGBA" if fmt == "webp" and opened.mode in ("RGBA", "LA", "PA") else "RGB")
    except (OSError, Image.DecompressionBombError) as exc:
        raise MetadataError(f"'{source.name}' could not be read as a picture to export: {exc}.") from exc
    data = encode_export(image, fmt, texts.get(PARAMETERS_KEY, ""), _xmp_for(texts, creator_tool))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _save_error(folder, exc) from exc
    for number in range(_MAX_TRIES):
        name = source.stem + (f"-{number}" if number else "") + FORMATS[fmt]
        target = folder / name
        if target.exists():
            continue
        try:
            return atomic_write_bytes(target, data, overwrite=False)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _save_error(folder, exc) from exc
    raise SaveError(
        f"Could not find a free file name for '{source.stem}' in {folder}; choose another folder."
    )


def encode_export(image: Image.Image, fmt: str, parameters: str, xmp: str) -> bytes:
    """The JPEG/WebP bytes of ``image`` with ``parameters`` in EXIF UserComment and ``xmp`` as its XMP."""
    import io

    exif = Image.Exif()
    if parameters:
        exif.get_ifd(_EXIF_IFD)[_USER_COMMENT] = encode_user_comment(parameters, big_endian=False)
    buffer = io.BytesIO()
    options: dict[str, object] = {"quality": QUALITY, "exif": exif.tobytes()}
    if xmp:
        options["xmp"] = xmp.encode("utf-8")
    image.save(buffer, format="JPEG" if fmt == "jpeg" else "WEBP", **options)
    return buffer.getvalue()


def _xmp_for(texts: dict[str, str], creator_tool: str) -> str:
    """The source's own XMP when it already says how it was made; else, for a picture that records generation
    settings, the provenance packet; else the source's XMP as it was (a photo is not called AI-made)."""
    packet = texts.get(XMP_KEY, "")
    if DIGITAL_SOURCE_TYPE in packet or not (PARAMETERS_KEY in texts or STUDIO_KEY in texts):
        return packet
    model = ""
    try:
        model = GenerationRequest.from_json(texts[STUDIO_KEY]).model if STUDIO_KEY in texts else ""
    except StudioError:
        model = ""
    return provenance_xmp(creator_tool, Path(model).name if model else "")


def _save_error(folder: Path, exc: OSError) -> SaveError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return SaveError(
        f"Could not export to {folder}: {reason}. Choose another folder or free some disk space."
    )
