"""Every app icon format from the one source, resources/icons/app.svg: PNG sizes (Linux hicolor, AppDir),
.ico (Windows: exe and installer) and .icns (macOS). Rendered with Qt's SVG renderer, written with Pillow.

    python packaging/icons.py OUT_DIR
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icons" / "app.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)


def render_png(svg: Path, size: int) -> bytes:
    """The SVG drawn at size x size pixels, as PNG bytes (transparent outside the artwork)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    if QGuiApplication.instance() is None:
        _render_png_app.append(QGuiApplication(["icons", "-platform", "offscreen"]))
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"The icon source {svg} is not a valid SVG file. Fix or replace it.")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


_render_png_app: list = []  # keeps the QGuiApplication alive while icons are drawn


def make_icons(out_dir: Path, svg: Path = SOURCE) -> dict[str, Path]:
    """Write ``png/<size>.png`` for PNG_SIZES, ``app.ico``, ``app.icns`` and ``app.svg`` into ``out_dir``."""
    from PIL import Image

    out_dir = Path(out_dir)
    (out_dir / "png").mkdir(parents=True, exist_ok=True)
    images = {}
    for size in PNG_SIZES:
        data = render_png(svg, size)
        (out_dir / "png" / f"{size}.png").write_bytes(data)
        images[size] = Image.open(io.BytesIO(data)).convert("RGBA")
    made = {"png": out_dir / "png", "svg": out_dir / "app.svg", "ico": out_dir / "app.ico"}
    made["svg"].write_bytes(svg.read_bytes())
    # Pillow picks each .ico entry from the largest image; a hand-rendered small size stays crisper.
    images[256].save(made["ico"], format="ICO", sizes=[(s, s) for s in ICO_SIZES])
    made["icns"] = out_dir / "app.icns"
    images[1024].save(made["icns"], format="ICNS", append_images=[images[s] for s in ICNS_SIZES[:-1]])
    return made


if __name__ == "__main__":
    for kind, path in make_icons(Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")).items():
        print(kind, path)
