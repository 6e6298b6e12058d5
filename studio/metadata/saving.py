"""Saving finished images: one PNG per image, named ``00012-1234567-a-knight-in-armor.png``.

Each PNG carries A1111's ``parameters`` text (so other tools read it) and our ``diffusion_studio`` request JSON
with that image's own seed (so the studio restores it exactly), plus the pose of a pose-editor control, and an
XMP packet marking it as made by a trained model (IPTC ``DigitalSourceType``, with the tool and the model). Our JSON
is compressed and capped (``MAX_EMBEDDED_BYTES``): what would not fit is left out of the PNG with a notice in
``result.notices``, and the picture is still saved. Files are written atomically and an existing file is never
replaced: the counter moves on instead.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from studio.atomic import atomic_write_bytes
from studio.errors import SaveError, StudioError
from studio.metadata.infotext import image_request, result_infotext, studio_version
from studio.metadata.png_chunks import MAX_EMBEDDED_BYTES, encode_png, fits_in_png, megabytes
from studio.metadata.xmp import provenance_xmp

if TYPE_CHECKING:
    from studio.request import GenerationRequest
    from studio.results import GenerationResult

SLUG_MAX = 40
_COUNTER = re.compile(r"^(\d{5,})-")
_MAX_NAME_TRIES = 1000


def slugify(text: str, limit: int = SLUG_MAX) -> str:
    """A file-name-safe ASCII slug of ``text``: lower case, words joined by ``-``, at most ``limit`` chars.

    Accents are dropped to their base letter; anything else non-ASCII goes. Never empty ("image").
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        cut = slug[:limit]
        # Cut at a word boundary when one is reasonably close, so names do not end mid-word.
        slug = cut.rsplit("-", 1)[0] if "-" in cut[limit // 2 :] else cut
    return slug.strip("-") or "image"


def next_counter(folder: Path) -> int:
    """One more than the highest ``NNNNN-`` prefix in ``folder`` (0 for an empty or missing folder)."""
    highest = -1
    try:
        names = [entry.name for entry in folder.iterdir()]
    except OSError:
        return 0
    for name in names:
        match = _COUNTER.match(name)
        if match:
            highest = max(highest, int(match.group(1)))
    return highest + 1


def save_result(result: GenerationResult, folder: Path) -> list[Path]:
    """Save every image of ``result`` into ``folder``; return the paths written, in image order.

    Raises ``SaveError`` when the folder cannot be written (read-only, full disk, ...); images saved before
    the failure stay, and no temporary file is left behind.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _save_error("the images", folder, exc) from exc
    slug = slugify(result.prompt or result.request.prompt)
    pose_json = embedded_pose_json(result.request, result.notices)
    counter = next_counter(folder)
    model_name = result.model.name if result.model is not None else result.request.model
    xmp = provenance_xmp(creator_tool(), Path(model_name).name if model_name else "")
    saved: list[Path] = []
    for index, image in enumerate(result.images):
        request = image_request(result, index)
        request_json = _request_json(request, result.notices)
        data = encode_png(image, result_infotext(result, index), request_json, pose_json, xmp)
        for _ in range(_MAX_NAME_TRIES):
            path = folder / f"{counter:05d}-{request.seed}-{slug}.png"
            counter += 1
            if path.exists():
                continue
            try:
                atomic_write_bytes(path, data, overwrite=False)
            except FileExistsError:
                continue  # another writer took the name a moment ago
            except OSError as exc:
                raise _save_error(f"the image '{path.name}'", folder, exc) from exc
            saved.append(path)
            break
        else:
            raise SaveError(
                f"Could not find a free file name in {folder} after {_MAX_NAME_TRIES} tries. "
                "The image is kept in the studio; choose another output folder."
            )
    return saved


def creator_tool() -> str:
    """What the XMP names as the tool that made the picture."""
    return f"Diffusion Studio {studio_version()}"


def embedded_pose_json(request: GenerationRequest, notices: list[str] | None = None) -> str | None:
    """The pose file of the request's pose-editor control, as compact JSON to embed (the request holds only its
    path, which means nothing on another machine); None when there is none, when it cannot be read any more or
    when it is too large to embed. The last two add a sentence to ``notices``: the image is still worth
    saving, and the request keeps the path."""
    from studio.pose.pose_json import load_pose, pose_to_dict

    control = next((c for c in request.active_controls if c.source == "pose"), None)
    if control is None:
        return None
    try:
        pose = load_pose(control.image, size=(request.width, request.height))  # as the engine drew it
    except StudioError as exc:
        _notice(notices, f"The pose was not embedded in the PNG: {exc}")
        return None
    text = json.dumps(pose_to_dict(pose), separators=(",", ":"))
    if not fits_in_png(text):
        _notice(
            notices,
            f"The pose ({len(pose.people):,} people) is too large to embed in the PNG ({megabytes(len(text))}; "
            f"at most {megabytes(MAX_EMBEDDED_BYTES)}), so it was left out; the picture and its settings "
            "were saved. Keep the pose file to use it again.",
        )
        return None
    return text


def _request_json(request: GenerationRequest, notices: list[str]) -> str | None:
    """The request as JSON to embed. Settings kept from another tool (``extras``) are what can make it too
    large; they go first, and only a request still too large is left out (A1111's text is still written)."""
    text = request.to_json()
    if fits_in_png(text):
        return text
    text = request.with_changes(extras={}).to_json()
    if fits_in_png(text):
        _notice(
            notices,
            "The settings kept from another tool were too large to embed in the PNG and were left out of it.",
        )
        return text
    _notice(
        notices,
        "The studio's settings were too large to embed in the PNG; only A1111's settings text was written.",
    )
    return None


def _notice(notices: list[str] | None, text: str) -> None:
    if notices is not None and text not in notices:  # one notice per cause, not one per image
        notices.append(text)


def _save_error(what: str, folder: Path, exc: OSError) -> SaveError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return SaveError(
        f"Could not save {what} to {folder}: {reason}. The image is kept in the studio; "
        "choose another output folder or free some disk space, then save again."
    )
