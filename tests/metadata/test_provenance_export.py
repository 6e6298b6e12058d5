"""Provenance (IPTC DigitalSourceType in XMP) on every saved PNG, and export to JPEG/WebP keeping the settings.

Checked twice: by reading the bytes here, independently of the writer, and by exiftool (Debian's
``libimage-exiftool-perl``) where it is installed.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from test_saving import make_result

from studio.errors import MetadataError
from studio.metadata.export import export_image
from studio.metadata.reader import read_image_settings
from studio.metadata.saving import creator_tool, save_result
from studio.metadata.xmp import DIGITAL_SOURCE_TYPE, xmp_properties

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool (libimage-exiftool-perl) is not installed"
)


def png_text_chunks(data: bytes) -> dict[str, tuple[bytes, str]]:
    """keyword -> (chunk type, text) of a PNG, read by hand (not with the code under test)."""
    found, pos = {}, 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind in (b"tEXt", b"iTXt"):
            key, _, rest = body.partition(b"\0")
            if kind == b"iTXt":
                compressed, rest = rest[0], rest[2:]
                rest = rest.split(b"\0", 2)[2]
                rest = zlib.decompress(rest) if compressed else rest
            found[key.decode("latin-1")] = (kind, rest.decode("utf-8" if kind == b"iTXt" else "latin-1"))
        pos += 12 + length
    return found


def test_every_saved_png_says_it_was_made_by_a_trained_model(tmp_path):
    [path] = save_result(make_result(), tmp_path)
    chunks = png_text_chunks(path.read_bytes())
    kind, packet = chunks["XML:com.adobe.xmp"]
    assert kind == b"iTXt"
    props = xmp_properties(packet)
    assert props["DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert props["CreatorTool"] == creator_tool() and props["AISystemUsed"] == "tiny-sd15"
    # The settings chunks are all still there, and the studio still restores exactly.
    assert {"parameters", "diffusion_studio"} <= chunks.keys()
    assert read_image_settings(path).source == "diffusion-studio"


@pytest.mark.parametrize(
    ("fmt", "suffix", "pil_format"), [("jpeg", ".jpg", "JPEG"), ("webp", ".webp", "WEBP")]
)
def test_export_keeps_the_a1111_text_in_user_comment_and_the_xmp(tmp_path, fmt, suffix, pil_format):
    [source] = save_result(make_result(), tmp_path / "out")
    before = source.read_bytes()
    written = export_image(source, fmt, tmp_path / "exports", creator_tool())
    assert written == tmp_path / "exports" / (source.stem + suffix)
    assert source.read_bytes() == before
    with Image.open(written) as image:
        assert image.format == pil_format
        comment = image.getexif().get_ifd(0x8769)[0x9286]
        packet = image.info["xmp"].decode()
    text = png_text_chunks(before)["parameters"][1]
    assert comment.startswith(b"UNICODE\0") and comment[8:].decode("utf-16-le") == text
    assert xmp_properties(packet)["DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    settings = read_image_settings(written)
    assert (
        settings.source == "a1111" and settings.read_from == "A1111 settings text, from the EXIF UserComment"
    )
    assert (settings.request.prompt, settings.request.seed) == ("a knight in armor, masterpiece", 1234567)


def test_export_never_replaces_a_file_and_refuses_what_is_not_an_image(tmp_path):
    [source] = save_result(make_result(), tmp_path / "out")
    first = export_image(source, "jpeg", tmp_path / "exports", creator_tool())
    second = export_image(source, "jpeg", tmp_path / "exports", creator_tool())
    assert first != second and first.exists() and second.name.endswith("-1.jpg")
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    with pytest.raises(MetadataError, match="not an image"):
        export_image(not_image, "jpeg", tmp_path / "exports", creator_tool())


def test_a_picture_without_settings_is_not_called_ai_made(tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), "green").save(photo)
    with Image.open(export_image(photo, "jpeg", tmp_path / "exports", creator_tool())) as image:
        assert "xmp" not in image.info


def test_another_tools_png_gets_the_provenance_on_export(tmp_path):
    info = PngInfo()
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 9, Size: 64x64")
    source = tmp_path / "a1111.png"
    Image.new("RGB", (8, 8)).save(source, pnginfo=info)
    with Image.open(export_image(source, "webp", tmp_path, creator_tool())) as image:
        assert xmp_properties(image.info["xmp"].decode())["DigitalSourceType"] == DIGITAL_SOURCE_TYPE


def exiftool(path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-a", "-G1", str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


@needs_exiftool
def test_exiftool_reads_the_provenance_of_a_saved_png(tmp_path):
    [path] = save_result(make_result(), tmp_path)
    tags = exiftool(path)
    assert tags["XMP-iptcExt:DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert tags["XMP-xmp:CreatorTool"] == creator_tool()
    assert tags["PNG:Parameters"].startswith("a knight in armor, masterpiece")


@needs_exiftool
@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_exiftool_reads_the_settings_and_provenance_of_an_export(tmp_path, fmt):
    [source] = save_result(make_result(prompt="tea 🍵, café"), tmp_path / "out")
    tags = exiftool(export_image(source, fmt, tmp_path / "exports", creator_tool()))
    text = read_image_settings(source).raw["parameters"]
    assert tags["ExifIFD:UserComment"] == text
    assert tags["XMP-iptcExt:DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert tags["XMP-xmp:CreatorTool"] == creator_tool()
