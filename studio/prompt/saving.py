"""Saving finished images: one PNG per image, named ``00012-1234567-a-knight-in-armor.png``.

Each PNG carries A1111's ``parameters`` text (so other tools read it) and our ``diffusion_studio`` request JSON
with that image's own seed (so the studio restores it exactly). Files are written atomically and an existing
file is never replaced: the counter moves on instead.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from studio.atomic import atomic_write_bytes
from studio.errors import SaveError, StudioError
from studio.prompt.infotext import result_infotext
from studio.prompt.png_chunks import encode_png

if TYPE_CHECKING:
    from studio.engine.events import GenerationResult
    from studio.request import GenerationRequest

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
    pose_json = embedded_pose_json(result.request)
    counter = next_counter(folder)
    saved: list[Path] = []
    for index, image in enumerate(result.images):
        seed = result.seeds[index]
        request_json = result.request.with_changes(seed=seed).to_json()
        data = encode_png(image, result_infotext(result, index), request_json, pose_json)
        for _ in range(_MAX_NAME_TRIES):
            path = folder / f"{counter:05d}-{seed}-{slug}.png"
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


def embedded_pose_json(request: GenerationRequest) -> str | None:
    """The pose file of the request's pose-editor control, as JSON to embed (the request holds only its path,
    which means nothing on another machine); None when there is none or it cannot be read any more."""
    from studio.pose.pose_json import load_pose, pose_to_json

    control = next((c for c in request.active_controls if c.source == "pose"), None)
    if control is None:
        return None
    try:
        return pose_to_json(load_pose(control.image))
    except StudioError:
        return None  # the image is still worth saving; the request keeps the path


def _save_error(what: str, folder: Path, exc: OSError) -> SaveError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return SaveError(
        f"Could not save {what} to {folder}: {reason}. The image is kept in the studio; "
        "choose another output folder or free some disk space, then save again."
    )
