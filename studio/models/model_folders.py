"""Where each kind of model lives inside the artist's models folder.

The models folder is the studio's own (``paths.models_dir()``) unless the artist picks another: any folder, or
the install folder of AUTOMATIC1111/Forge or ComfyUI, whose own layout is then followed so both programs see the
same files (checkpoints in ``models/Stable-diffusion`` or ``models/checkpoints``, ControlNets in
``models/ControlNet`` or ``models/controlnet``, LoRAs in ``models/Lora`` or ``models/loras``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from studio.paths import models_dir

Layout = Literal["studio", "a1111", "comfyui"]
# Per tool: (checkpoints, ControlNets, LoRAs) under its root; the first entry of each is the tool's own spelling.
_TOOL_LEAVES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "a1111": ("models/Stable-diffusion", ("models/ControlNet", "models/controlnet"), ("models/Lora",)),
    "comfyui": ("models/checkpoints", ("models/controlnet", "models/ControlNet"), ("models/loras",)),
}
# The studio's layout (also used for any plain folder the artist picks): checkpoints at the top.
CONTROLNET_FOLDER = "controlnet"
LORA_FOLDER = "loras"


@dataclass(frozen=True)
class ModelFolders:
    """The models folder ``root`` and the folders its checkpoints, ControlNets and LoRAs go in."""

    root: Path
    layout: Layout
    checkpoints: Path
    controlnets: Path
    loras: Path


def tool_root(folder: Path) -> Path:
    """The A1111/ComfyUI install folder when ``folder`` is its ``models`` folder or checkpoints folder, else
    ``folder``: an artist who picks ``webui/models/Stable-diffusion`` means the whole install."""
    folder = Path(folder).expanduser()
    for candidate in (folder, folder.parent, folder.parent.parent):
        if _layout_of(candidate) != "studio" and folder in (
            candidate,
            candidate / "models",
            candidate / _TOOL_LEAVES[_layout_of(candidate)][0],
        ):
            return candidate
    return folder


def _layout_of(root: Path) -> Layout:
    if (root / _TOOL_LEAVES["a1111"][0]).is_dir():
        return "a1111"
    if (root / _TOOL_LEAVES["comfyui"][0]).is_dir():
        return "comfyui"
    return "studio"


def model_folders(folder: Path | str | None = None) -> ModelFolders:
    """The layout of the models folder ``folder`` (None: the studio's own). Nothing is created."""
    root = tool_root(Path(folder)) if folder else models_dir()
    layout = _layout_of(root)
    if layout == "studio":
        return ModelFolders(root, layout, root, root / CONTROLNET_FOLDER, root / LORA_FOLDER)
    checkpoints, controlnets, loras = _TOOL_LEAVES[layout]
    # Both spellings exist in the wild (and differ only on case-sensitive drives): use the one already there.
    controlnet = next((root / c for c in controlnets if (root / c).is_dir()), root / controlnets[0])
    lora = next((root / name for name in loras if (root / name).is_dir()), root / loras[0])
    return ModelFolders(root, layout, root / checkpoints, controlnet, lora)
