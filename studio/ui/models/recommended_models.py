"""The models the studio suggests to a new artist, from ``resources/recommended_models.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from studio import paths

# A download also needs room for its temporary files and the hub's cache bookkeeping.
SPACE_MARGIN = 1.1


@dataclass(frozen=True)
class RecommendedModel:
    repo_id: str
    name: str
    family: str
    download_bytes: int
    license: str
    license_url: str
    description: str
    few_step: bool = False  # 1-8 steps at CFG 1-2 (Turbo, LCM, Lightning): what live mode is best with

    @property
    def size_text(self) -> str:
        return f"about {format_bytes(self.download_bytes)}"

    def fits_in(self, free_bytes: int) -> bool:
        return free_bytes >= self.download_bytes * SPACE_MARGIN


def load_recommended_models(path: Path | None = None) -> list[RecommendedModel]:
    """The recommended models, in the file's order."""
    path = path or paths.resources_dir() / "recommended_models.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    return [RecommendedModel(**entry) for entry in data["models"]]


def taesd_models() -> list[RecommendedModel]:
    """The TAESD preview decoders (``studio.models.taesd``), offered in the download dialog after the models
    (not on first run: they make no pictures on their own)."""
    from studio.models.taesd import RECOMMENDED_TAESD

    return [
        RecommendedModel(
            repo_id=m.repo_id,
            name=m.name,
            family=m.family,
            download_bytes=m.download_bytes,
            license="MIT",
            license_url=f"https://huggingface.co/{m.repo_id}",
            description="A tiny decoder that shows every step as a real picture while it generates. The "
            "studio uses it as soon as it is downloaded.",
        )
        for m in RECOMMENDED_TAESD
    ]


def format_bytes(count: float) -> str:
    """Sizes the way a file manager writes them: "2.1 GB", "640 MB", "12 KB" (decimal units)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            value = count / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{int(count)} bytes"


def free_space(folder: Path) -> int:
    """Free bytes on the drive that holds ``folder`` (or its nearest existing parent)."""
    from studio.models.download import free_space as drive_free_space  # the one implementation

    return drive_free_space(folder)
