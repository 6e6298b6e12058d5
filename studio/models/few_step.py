"""Few-step models and LoRAs recognised from their files, and the settings they are made for.

LCM-LoRA, Hyper-SD, Lightning and TCD LoRAs, and the distilled checkpoints (sd-turbo, sdxl-turbo, Lightning,
LCM models) make a picture in 1-8 steps at CFG 1-2, but only with the right sampler: at the studio's default
25 steps of DPM++ 2M Karras and CFG 7 they burn. The file rarely says so in a field of its own, so the signs are
read where they are: the file or folder name, the training metadata (``ss_output_name``, ``modelspec.title``,
``ss_training_comment``...) and, for a diffusers folder, the scheduler it ships (``LCMScheduler``, or the
trailing spacing the Turbo and Lightning folders set). No torch: a safetensors header is a few KB of JSON.

The result is a suggestion the window offers, never a silent change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from studio.models.lora_file import LoraFileError, read_header

_METADATA_KEYS = (
    "ss_output_name",
    "ss_training_comment",
    "modelspec.title",
    "modelspec.description",
    "modelspec.usage_hint",
    "modelspec.tags",
)


@dataclass(frozen=True)
class FewStepHint:
    """What a few-step file is and the settings it is made for."""

    kind: str  # "LCM", "Hyper-SD", "Lightning", "TCD", "Turbo"
    steps: int
    cfg_scale: float
    sampler: str
    found_in: str  # what gave it away, in the artist's words ("its name", "its metadata"...)

    def sentence(self, name: str) -> str:
        return (
            f"'{name}' looks like a {self.kind} few-step file (told by {self.found_in}). It is made for {self.steps} "
            f"step{'s' if self.steps != 1 else ''}, CFG {self.cfg_scale:g} and the {self.sampler} sampler."
        )


def _steps_in(text: str, default: int) -> int:
    match = re.search(r"(\d{1,2})[-_ ]?steps?", text)
    if match and 1 <= int(match.group(1)) <= 16:
        return int(match.group(1))
    return default


def hint_from_text(text: str, found_in: str) -> FewStepHint | None:
    """The few-step kind named in ``text`` (a file name, a title), or None."""
    low = text.lower()
    if "hyper" in low and re.search(r"hyper[-_ ]?sd", low):
        steps = _steps_in(low, 8)
        # The 1-step Hyper-SD LoRAs use the TCD sampler; the N-step ones trailing spacing. "CFG" ones keep guidance.
        cfg = 5.0 if "cfg" in low else 1.0
        return FewStepHint("Hyper-SD", steps, cfg, "TCD" if steps == 1 else "Euler SGM Uniform", found_in)
    if "lightning" in low:
        return FewStepHint("Lightning", _steps_in(low, 4), 1.0, "Euler SGM Uniform", found_in)
    if re.search(r"(^|[^a-z])tcd([^a-z]|$)", low):
        return FewStepHint("TCD", 4, 1.0, "TCD", found_in)
    if re.search(r"(^|[^a-z])lcm([^a-z]|$)", low):
        return FewStepHint("LCM", 4, 1.5, "LCM", found_in)
    if "turbo" in low:
        return FewStepHint("Turbo", 1, 1.0, "Euler a SGM Uniform", found_in)
    return None


def hint_from_metadata(metadata: Mapping[str, str]) -> FewStepHint | None:
    """The few-step kind named in a safetensors file's training metadata, or None."""
    text = " ".join(str(metadata[key]) for key in _METADATA_KEYS if key in metadata)
    return hint_from_text(text, "its metadata") if text else None


def hint_from_scheduler(folder: Path) -> FewStepHint | None:
    """A diffusers folder's own scheduler: LCM folders ship ``LCMScheduler``, Turbo/Lightning folders trailing."""
    try:
        config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    if config.get("_class_name") == "LCMScheduler":
        return FewStepHint("LCM", 4, 1.5, "LCM", "its LCM scheduler")
    if config.get("_class_name") == "TCDScheduler":
        return FewStepHint("TCD", 4, 1.0, "TCD", "its TCD scheduler")
    return None


def few_step_hint(path: Path | str, title: str | None = None) -> FewStepHint | None:
    """What ``path`` (a LoRA or checkpoint file, or a diffusers folder) says about being a few-step model; None
    for an ordinary one. ``title`` is a name already read from the file (a LoRA list's ``modelspec.title``)."""
    path = Path(path)
    if path.is_dir():
        found = hint_from_scheduler(path)
        if found is not None:
            return found
    elif path.suffix.lower() == ".safetensors" and path.is_file():
        try:
            found = hint_from_metadata(read_header(path)[1])
        except (LoraFileError, OSError, ValueError):
            found = None  # a damaged file is the LoRA list's to report
        if found is not None:
            return found
    if title:
        found = hint_from_text(title, "its title")
        if found is not None:
            return found
    # A file or folder name, or a hub id's ("stabilityai/sd-turbo").
    return hint_from_text(path.name or str(path), "its name")
