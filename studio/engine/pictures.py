"""Reading the artist's pictures (init images, masks, control images) and fitting them to the request size."""

from __future__ import annotations

from PIL import Image, ImageOps

from studio.errors import RequestError

INIT_IMAGE = ("The init image", "Choose another image or turn img2img off.")


def read_picture(path: str, what: str, advice: str) -> Image.Image:
    """``path`` as RGB, EXIF rotation applied; transparency becomes white paper (a canvas export's strokes
    over nothing are strokes over white). ``RequestError`` naming ``what``, with ``advice``, when unreadable."""
    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
            if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
                paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(paper, image.convert("RGBA"))
            return image.convert("RGB")
    except FileNotFoundError as exc:
        raise RequestError(f"{what} '{path}' does not exist. {advice}") from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RequestError(
            f"{what} '{path}' could not be read as a picture ({exc.__class__.__name__}). Save it as PNG or JPEG "
            "and try again."
        ) from exc


def fit_to_size(image: Image.Image, size: tuple[int, int], what: str, notices: list[str]) -> Image.Image:
    """``image`` resized to ``size`` (LANCZOS), with a notice naming ``what`` when that changed anything."""
    if image.size == tuple(size):
        return image
    notices.append(
        f"{what} is {image.width}×{image.height}; it was resized to {size[0]}×{size[1]} to match the requested "
        "size."
    )
    return image.resize(size, Image.Resampling.LANCZOS)
