"""Other tools' model folders where they usually are, to offer (never to scan unasked).

Looked for under the artist's home folder: AUTOMATIC1111/Forge (``models/Stable-diffusion``), ComfyUI (portable,
desktop under ``Documents/ComfyUI``, or a plain clone: ``models/checkpoints``) and the folders its
``extra_model_paths.yaml`` names, InvokeAI (``invokeai/models/<base>/main``) and Stability Matrix
(``StabilityMatrix/Data/Models/StableDiffusion``, or ``Models/StableDiffusion`` in its settings folder). Only
the listed places are looked at (a few ``stat`` calls each), never the whole disk; what is found is a list for
the artist to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_A1111 = (
    "stable-diffusion-webui",
    "stable-diffusion-webui-forge",
    "sd-webui-forge",
    "webui_forge/webui",
    "stable-diffusion-webui-reForge",
    "automatic",  # SD.Next
)
_COMFYUI = ("ComfyUI", "ComfyUI_windows_portable/ComfyUI", "Documents/ComfyUI", "comfy/ComfyUI")
_INVOKEAI = ("invokeai", "InvokeAI")
_STABILITY_MATRIX = (
    "StabilityMatrix/Data/Models",
    "StabilityMatrix/Models",
    ".config/StabilityMatrix/Models",
    "AppData/Roaming/StabilityMatrix/Models",
)
_MODEL_SUFFIXES = (".safetensors", ".ckpt")
_MAX_LISTED = 10_000  # files looked at when counting one folder


@dataclass(frozen=True)
class FoundFolder:
    """A folder of models another tool keeps: ``tool`` in words, ``path`` to add, ``models`` checkpoints in it;
    ``loras`` its LoRA folder where adding ``path`` does not already bring it (InvokeAI, Stability Matrix)."""

    tool: str
    path: Path
    models: int
    loras: Path | None = None


def _count(folder: Path) -> int:
    total = 0
    try:
        for seen, path in enumerate(folder.rglob("*")):
            if seen >= _MAX_LISTED:
                break
            if path.suffix.lower() in _MODEL_SUFFIXES or (path / "model_index.json").is_file():
                total += 1
    except OSError:
        return total
    return total


def comfyui_extra_paths(yaml_file: Path) -> list[Path]:
    """The checkpoint folders a ComfyUI ``extra_model_paths.yaml`` names (``base_path`` + ``checkpoints``)."""
    import yaml

    try:
        data = yaml.safe_load(yaml_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    folders: list[Path] = []
    if not isinstance(data, dict):
        return folders
    for section in data.values():
        if not isinstance(section, dict):
            continue
        base = Path(str(section.get("base_path") or ".")).expanduser()
        if not base.is_absolute():
            base = yaml_file.parent / base
        entries = section.get("checkpoints")
        if not isinstance(entries, str):
            continue
        for line in entries.splitlines():  # one path a line ("|" blocks), relative to base_path
            if line.strip():
                folder = (base / Path(line.strip()).expanduser()).resolve()
                if folder not in folders:
                    folders.append(folder)
    return folders


def find_model_folders(home: Path | None = None) -> list[FoundFolder]:
    """The other tools' model folders that exist under ``home`` (the artist's home by default)."""
    home = Path.home() if home is None else Path(home)
    found: list[FoundFolder] = []

    def add(tool: str, path: Path, checkpoints: Path, loras: Path | None = None) -> None:
        if checkpoints.is_dir() and all(f.path != path for f in found):
            lora_folder = loras if loras is not None and loras.is_dir() else None
            found.append(FoundFolder(tool, path, _count(checkpoints), lora_folder))

    for name in _A1111:
        add("AUTOMATIC1111/Forge", home / name, home / name / "models" / "Stable-diffusion")
    for name in _COMFYUI:
        root = home / name
        add("ComfyUI", root, root / "models" / "checkpoints")
        yaml_file = root / "extra_model_paths.yaml"
        if yaml_file.is_file():
            for folder in comfyui_extra_paths(yaml_file):
                add("ComfyUI extra_model_paths.yaml", folder, folder)
    for name in _INVOKEAI:
        for base in ("sd-1", "sdxl"):
            folder = home / name / "models" / base / "main"
            add("InvokeAI", folder, folder, folder.parent / "lora")
    for name in _STABILITY_MATRIX:
        folder = home / name / "StableDiffusion"
        add("Stability Matrix", folder, folder, home / name / "Lora")
    return found
