"""Inpainting as A1111 does it: blurred mask, "whole picture" or "only masked" area, paste back.

The mask is white where the picture is repainted. ``mask_blur`` feathers it with a Gaussian blur. The model sees
the blurred mask (the diffusers pipelines binarise it at one half, as A1111 rounds it); the result is pasted over
the original through the soft mask, so untouched pixels stay exactly as they were and the seam is feathered.

"whole" repaints at the request size with the whole picture as context. "masked" crops the mask's bounding box
plus ``inpaint_padding``, widened to the request's aspect ratio, upscales that crop to the request size,
inpaints it and pastes it back into the original, which keeps its own size: small details get the model's full
resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageFilter

from studio.engine.pictures import INIT_IMAGE, fit_to_size, read_picture
from studio.errors import RequestError
from studio.request import GenerationRequest

_ASPECT_TOLERANCE = 0.01  # a mask saved at another scale differs from the picture by rounding, not more


def load_mask(path: str, size: tuple[int, int], notices: list[str]) -> Image.Image:
    """The mask as an "L" image of ``size`` (the init image's). A mask of the same aspect ratio is resized
    with a notice; another aspect ratio is a ``RequestError``; so is an empty (all black) mask."""
    mask = read_picture(path, "The inpainting mask", "Paint the mask again or turn inpainting off.").convert(
        "L"
    )
    if mask.size != size:
        ratio_mask, ratio_image = mask.width / mask.height, size[0] / size[1]
        if abs(ratio_mask / ratio_image - 1) > _ASPECT_TOLERANCE:
            raise RequestError(
                f"The inpainting mask is {mask.width}×{mask.height} but the init image is {size[0]}×{size[1]}: "
                "their shapes differ, so the mask would not line up. Paint the mask over this image again."
            )
        notices.append(
            f"The inpainting mask is {mask.width}×{mask.height}; it was resized to {size[0]}×{size[1]} to match "
            "the init image."
        )
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    if mask.getbbox() is None:
        raise RequestError(
            "The inpainting mask is empty (all black), so nothing would be repainted. Paint the area to change "
            "in white, or turn inpainting off."
        )
    return mask


def crop_region(mask: Image.Image, padding: int, width: int, height: int) -> tuple[int, int, int, int]:
    """A1111's crop for "only masked": the mask's box plus ``padding``, widened to ``width``:``height``."""
    left, top, right, bottom = mask.getbbox() or (0, 0, mask.width, mask.height)
    x1, y1 = max(left - padding, 0), max(top - padding, 0)
    x2, y2 = min(right + padding, mask.width), min(bottom + padding, mask.height)
    if (x2 - x1) / (y2 - y1) > width / height:
        y1, y2 = _widen(y1, y2, round((x2 - x1) * height / width), mask.height)
    else:
        x1, x2 = _widen(x1, x2, round((y2 - y1) * width / height), mask.width)
    return x1, y1, x2, y2


def _widen(start: int, end: int, wanted: int, limit: int) -> tuple[int, int]:
    """Grow [start, end) to ``wanted`` around its centre, shifted (then clipped) to stay inside 0..limit."""
    grow = wanted - (end - start)
    start, end = start - grow // 2, end + grow - grow // 2
    if end > limit:
        start, end = start - (end - limit), limit
    if start < 0:
        start, end = 0, min(end - start, limit)
    return start, end


@dataclass
class InpaintPlan:
    """What the pipeline gets (``image``, ``mask`` at the request size) and how its results go back."""

    original: Image.Image  # the picture results are pasted into (request size for "whole")
    overlay_mask: Image.Image  # blurred mask at the original's size
    image: Image.Image
    mask: Image.Image
    crop: tuple[int, int, int, int] | None

    def paste_back(self, results: list[Image.Image]) -> list[Image.Image]:
        """Each result composited over the original through the soft mask (and uncropped)."""
        pasted = []
        for result in results:
            if self.crop is not None:
                x1, y1, x2, y2 = self.crop
                full = self.original.copy()
                full.paste(result.resize((x2 - x1, y2 - y1), Image.Resampling.LANCZOS), (x1, y1))
                result = full
            pasted.append(Image.composite(result.convert("RGB"), self.original, self.overlay_mask))
        return pasted


def plan_inpaint(request: GenerationRequest, notices: list[str]) -> InpaintPlan:
    """Read the init image and mask of ``request`` and lay out the inpainting. Raises ``RequestError``."""
    if request.init_image is None or request.mask is None:
        raise RequestError("Inpainting needs an init image and a mask. Choose both, or turn inpainting off.")
    original = read_picture(request.init_image, *INIT_IMAGE)
    mask = load_mask(request.mask, original.size, notices)
    if request.mask_blur > 0:
        mask = mask.filter(ImageFilter.GaussianBlur(request.mask_blur))
    size = (request.width, request.height)
    if request.inpaint_area == "masked":
        crop = crop_region(mask, request.inpaint_padding, *size)
        image = original.crop(crop).resize(size, Image.Resampling.LANCZOS)
        model_mask = mask.crop(crop).resize(size, Image.Resampling.BILINEAR)
        return InpaintPlan(original, mask, image, model_mask, crop)
    if original.size != size:
        original = fit_to_size(original, size, INIT_IMAGE[0], notices)
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    return InpaintPlan(original, mask, original, mask, None)
