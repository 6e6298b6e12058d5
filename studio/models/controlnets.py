"""ControlNet models: where they are and which family they belong to, read from their files (no torch).

A reference is a Hugging Face repo id, a local folder (``config.json`` + weights) or a single weights file. The
family is read from the files before any weight loads: a diffusers config says ``addition_embed_type:
"text_time"`` for SDXL and ``cross_attention_dim`` 768 for SD1.x (1024 is SD 2.x); a single file is judged from
its tensor names and shapes (SDXL ControlNets carry ``add_embedding``/``label_emb`` weights, and the width of
the cross-attention keys is the text encoder's).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import ModelError, RequestError, StudioError
from studio.models.model_family import FAMILY_NAMES, base_family
from studio.models.model_folders import model_folders
from studio.models.model_ref import (
    PICKLE_SUFFIXES,
    SAFETENSORS_SUFFIXES,
    downloaded_folder,
    looks_like_repo_id,
    read_safetensors_header,
)

CONFIG_SIDECAR = ".config"  # NAME.config/config.json beside NAME.safetensors: the layout of a single file


@dataclass(frozen=True)
class RecommendedControlNet:
    """A ControlNet the download dialog offers: hub id, control type and family."""

    repo_id: str
    type: str
    family: str


RECOMMENDED_CONTROLNETS: tuple[RecommendedControlNet, ...] = (
    RecommendedControlNet("lllyasviel/control_v11p_sd15_scribble", "scribble", "sd15"),
    RecommendedControlNet("lllyasviel/control_v11p_sd15_lineart", "lineart", "sd15"),
    RecommendedControlNet("lllyasviel/control_v11p_sd15_canny", "canny", "sd15"),
    RecommendedControlNet("lllyasviel/control_v11p_sd15_openpose", "openpose", "sd15"),
    RecommendedControlNet("lllyasviel/control_v11f1p_sd15_depth", "depth", "sd15"),
    RecommendedControlNet("lllyasviel/control_v11p_sd15_softedge", "softedge", "sd15"),
    RecommendedControlNet("lllyasviel/control_v11p_sd15_normalbae", "normal", "sd15"),
    RecommendedControlNet("diffusers/controlnet-canny-sdxl-1.0", "canny", "sdxl"),
    RecommendedControlNet("diffusers/controlnet-depth-sdxl-1.0", "depth", "sdxl"),
    RecommendedControlNet("thibaud/controlnet-openpose-sdxl-1.0", "openpose", "sdxl"),
    RecommendedControlNet("xinsir/controlnet-scribble-sdxl-1.0", "scribble", "sdxl"),
)


# The control kinds the studio has pre-processors and recommended ControlNets for, in the order it lists them.
CONTROL_TYPES: tuple[str, ...] = tuple(dict.fromkeys(r.type for r in RECOMMENDED_CONTROLNETS))


def local_controlnets(folders: Sequence[Path] | None = None) -> list[Path]:
    """ControlNet files and folders (downloaded ones included) in ``folders``, each once: the models folder's
    ControlNet folders (None: the studio's own ``models/controlnet``)."""
    found: list[Path] = []
    for folder in folders if folders is not None else [model_folders().controlnets]:
        if folder.is_dir():
            found += sorted(p for p in folder.iterdir() if is_controlnet(p))
    return list(dict.fromkeys(found))


def recommended_for(control_type: str, family: str) -> RecommendedControlNet | None:
    """The recommended ControlNet of ``control_type`` for a model of ``family`` ("sd15-inpaint" counts as sd15)."""
    family = base_family(family)
    return next((r for r in RECOMMENDED_CONTROLNETS if r.type == control_type and r.family == family), None)


@dataclass(frozen=True)
class ControlNetRef:
    """A checked ControlNet reference: ``path`` is a folder holding config.json, or a single weights file."""

    reference: str
    path: Path
    family: str

    @property
    def name(self) -> str:
        """What metadata records: A1111 writes the model's file stem ("control_v11p_sd15_canny")."""
        if looks_like_repo_id(self.reference) and not Path(self.reference).exists():
            return self.reference.split("/", 1)[1]
        return self.path.stem if self.path.is_file() else self.path.name


def resolve_controlnet(reference: str, folders: Sequence[Path | str] = ()) -> ControlNetRef:
    """Find ``reference`` on disk and read its family, loading no weights. Raises ``ModelError``.

    A repo id is looked for as ``download_controlnet`` saves it: in each of ``folders`` (the ControlNet folders
    of the artist's models folder), the studio's own ControlNet folder, then the Hugging Face cache.
    """
    reference = (reference or "").strip()
    if not reference:
        raise ModelError(
            "No ControlNet model is chosen for a control input. Pick one in the ControlNet list."
        )
    path = Path(reference).expanduser()
    if path.is_dir():
        return ControlNetRef(reference, path, _family_of_folder(path))
    if path.is_file():
        return ControlNetRef(reference, path, _family_of_file(path))
    if looks_like_repo_id(reference) and not path.parent.is_dir():
        folder = _downloaded(reference, folders)
        if folder is not None:
            return ControlNetRef(reference, folder, _family_of_folder(folder))
        raise ModelError(
            f"The ControlNet '{reference}' is not downloaded. Download it from the ControlNet list (or with "
            f"huggingface-cli download {reference}), or choose a local ControlNet file or folder."
        )
    raise ModelError(
        f"There is no ControlNet file or folder at '{reference}'. Check the path or pick it again."
    )


def local_download(repo_id: str, folders: Sequence[Path | str] = ()) -> Path | None:
    """Where ``download_controlnet`` saved ``repo_id``: in one of ``folders`` or the studio's own ControlNet
    folder; None when it is not there (the Hugging Face cache is not looked at)."""
    name = repo_id.replace("/", "--")
    # The models folder root too: ControlNets downloaded before they had their own folder went there.
    searched = [Path(f) for f in folders] + [model_folders().controlnets, downloaded_folder(repo_id).parent]
    return next((f / name for f in searched if (f / name / "config.json").is_file()), None)


def _downloaded(repo_id: str, folders: Sequence[Path | str] = ()) -> Path | None:
    local = local_download(repo_id, folders)
    if local is not None:
        return local
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, "config.json")
    except (ImportError, ValueError):
        return None
    return Path(found).parent if isinstance(found, str) else None


def _family_of_folder(folder: Path) -> str:
    config_path = folder / "config.json"
    if not config_path.is_file():
        if (folder / "model_index.json").is_file():
            raise ModelError(
                f"'{folder.name}' is a full image model, not a ControlNet. Choose it as the model, and pick a "
                "ControlNet (a folder with config.json, or a single file) for the control input."
            )
        raise ModelError(
            f"The folder '{folder}' is not a ControlNet (no config.json). A ControlNet folder holds config.json "
            "and diffusion_pytorch_model.safetensors."
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"'{config_path}' cannot be read ({exc}). Download the ControlNet again.") from exc
    name = f"'{folder.name}'"
    if not str(config.get("_class_name", "")).startswith("ControlNet"):
        raise ModelError(f"{name} is a {config.get('_class_name', 'unknown model')}, not a ControlNet.")
    return family_of_config(config, name=name)


def family_of_config(config: dict[str, Any], *, name: str = "This ControlNet") -> str:
    """ "sd15" or "sdxl" from a diffusers ControlNet config."""
    if config.get("addition_embed_type") == "text_time":
        return "sdxl"
    width = config.get("cross_attention_dim")
    return _family_of_width(width, name)


def _family_of_width(width: Any, name: str) -> str:
    if width == 1024:
        raise ModelError(
            f"{name} is a ControlNet for Stable Diffusion 2.x, which the studio does not run. Choose an SD1.5 "
            "or SDXL ControlNet."
        )
    if width == 2048:
        return "sdxl"
    return "sd15"


_CONTROLNET_MARKERS = (
    "controlnet_cond_embedding.",
    "input_hint_block.",
    "zero_convs.",
    "controlnet_down_blocks.",
)
_SDXL_MARKERS = ("add_embedding.", "label_emb.")


def family_of_tensor_shapes(shapes: dict[str, list[int]], *, name: str) -> str:
    """The family of a single-file ControlNet from its tensor names and shapes (diffusers or original layout)."""
    keys = [k.removeprefix("control_model.") for k in shapes]
    if not any(k.startswith(_CONTROLNET_MARKERS) for k in keys):
        raise ModelError(
            f"{name} is not a ControlNet (it has no ControlNet hint or zero-convolution weights). If it is a "
            "checkpoint or a LoRA, put it with those instead."
        )
    if any(k.startswith(_SDXL_MARKERS) for k in keys):
        return "sdxl"
    widths = [
        shape[1] for key, shape in shapes.items() if key.endswith("attn2.to_k.weight") and len(shape) == 2
    ]
    return _family_of_width(widths[0] if widths else None, name)


def _family_of_file(path: Path) -> str:
    name = f"'{path.name}'"
    suffix = path.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        header = read_safetensors_header(path)
        shapes = {k: list(v.get("shape", [])) for k, v in header.items() if k != "__metadata__"}
        return family_of_tensor_shapes(shapes, name=name)
    if suffix in PICKLE_SUFFIXES:
        raise ModelError(
            f"{name} is a pickle file ({suffix}), which can run code when loaded. Use the .safetensors version of "
            "this ControlNet (lllyasviel's and most others are published as .safetensors)."
        )
    raise ModelError(f"{name} is not a ControlNet weights file (expected .safetensors) or folder.")


def is_controlnet(path: Path) -> bool:
    """Whether ``path`` is a ControlNet: a folder whose config names a ``ControlNetModel``, or a .safetensors
    file with ControlNet weights. Reads configs and headers only, so listing a big checkpoint folder is cheap."""
    try:
        if path.is_dir():
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
            return isinstance(config, dict) and config.get("_class_name") == "ControlNetModel"
        if path.suffix.lower() in SAFETENSORS_SUFFIXES:
            keys = (k.removeprefix("control_model.") for k in read_safetensors_header(path))
            return any(key.startswith(_CONTROLNET_MARKERS) for key in keys)
    except (OSError, ValueError, StudioError):
        return False  # unreadable: not offered; choosing it by path still gives the full message
    return False


def check_family(ref: ControlNetRef, model_family: str) -> None:
    """Raise ``RequestError`` when the ControlNet was made for the other family than the model."""
    if ref.family != base_family(model_family):
        raise RequestError(
            f"The ControlNet '{ref.name}' is for {FAMILY_NAMES[ref.family]} models, but the chosen model is "
            f"{FAMILY_NAMES[base_family(model_family)]}. Choose a {FAMILY_NAMES[base_family(model_family)]} "
            "ControlNet, or a model of the ControlNet's family."
        )


def sidecar_config(path: Path) -> Path | None:
    """``NAME.config/`` beside a single file, when present: the diffusers config it is loaded with."""
    folder = path.with_name(path.stem + CONFIG_SIDECAR)
    return folder if (folder / "config.json").is_file() else None


def reference_config(family: str) -> Path:
    """The studio's copy of the standard SD1.5 / SDXL ControlNet config, for single files without a sidecar."""
    from studio.paths import resources_dir

    folder = resources_dir() / "model_configs" / f"controlnet-{family}"
    if not (folder / "config.json").is_file():
        raise ModelError(
            f"The studio's ControlNet configuration for {FAMILY_NAMES[family]} is missing ({folder}). "
            "Reinstall Diffusion Studio, or use the ControlNet's diffusers folder."
        )
    return folder


# --- choosing one for a control input ------------------------------------------------------------------------

# Words in a ControlNet's file or folder name that say what it follows (lllyasviel's, xinsir's, thibaud's and
# most community names carry one); a name with none says nothing, and such a ControlNet may follow anything.
_TYPE_WORDS: dict[str, tuple[str, ...]] = {
    "scribble": ("scribble", "sketch"),
    "lineart": ("lineart", "line_art", "line-art"),
    "canny": ("canny",),
    "openpose": ("openpose", "pose"),
    "depth": ("depth",),
    "softedge": ("softedge", "soft_edge", "soft-edge", "hed", "pidi"),
    "normal": ("normal",),
}
TYPE_NAMES = {
    "scribble": "Scribble",
    "lineart": "Line art",
    "canny": "Canny edges",
    "openpose": "Pose",
    "depth": "Depth",
    "softedge": "Soft edges",
    "normal": "Normal map",
}


def control_type_of_name(name: str) -> str | None:
    """The control type a ControlNet's name says it follows ("canny"...), None when it says none."""
    lowered = name.lower()
    # Longer words first: "lineart" must not be read as something shorter inside it.
    for control_type, words in sorted(_TYPE_WORDS.items(), key=lambda item: -max(map(len, item[1]))):
        if any(word in lowered for word in words):
            return control_type
    return None


@dataclass(frozen=True)
class ControlNetChoice:
    """One entry of a control input's ControlNet list: what to record (``reference``) and what to show."""

    reference: str  # a recommended repo id, or a local folder or file path
    label: str  # what the artist reads: a name, never a cut-off id
    family: str | None  # None when it could not be read
    type: str | None  # None when the name does not say
    installed: bool
    on_server: bool = False  # a file on the generation servers (a name there, never downloaded here)

    @property
    def tooltip(self) -> str:
        family = FAMILY_NAMES.get(self.family or "", "unknown family")
        where = "on this computer" if self.installed else "not downloaded yet: press Download"
        where = "on the server" if self.on_server else where
        return f"{self.label}\n{family} · {where}\n{self.reference}"


def _family_or_none(path: Path) -> str | None:
    try:
        return _family_of_folder(path) if path.is_dir() else _family_of_file(path)
    except (OSError, ValueError, StudioError):
        return None


def _recommended_label(item: RecommendedControlNet) -> str:
    owner = item.repo_id.split("/", 1)[0]
    return f"{TYPE_NAMES.get(item.type, item.type)} · {FAMILY_NAMES.get(item.family, item.family)} ({owner})"


def family_of_name(name: str) -> str | None:
    """The family a ControlNet's file name says ("..._sdxl_..." or "xl"; "sd15", "v11" for SD1.x), else None:
    a server's file is known by its name only."""
    lowered = Path(name).stem.lower().replace("-", "_")
    words = set(lowered.split("_"))
    if "sdxl" in lowered or "xl" in words:
        return "sdxl"
    if "sd15" in lowered or "sd1" in words or any(w.startswith("v11") for w in words):
        return "sd15"
    return None


def served_choices(served: Sequence[str]) -> list[ControlNetChoice]:
    """The pool's ControlNets (``Backend.controlnets``): a server's file name, or this computer's path when the
    local engine takes jobs too. No download is offered: the servers have what they have."""
    choices = []
    for reference in served:
        path = Path(reference)
        local = path.is_absolute()
        name = path.stem if path.suffix else path.name
        found = (_family_or_none(path) if local else None) or family_of_name(name)
        label = f"{name} · {FAMILY_NAMES[found]}" if found in FAMILY_NAMES else name
        choices.append(ControlNetChoice(reference, label, found, control_type_of_name(name), True, not local))
    return choices


def controlnet_choices(
    control_type: str,
    family: str | None,
    folders: Sequence[Path] | None = None,
    served: Sequence[str] | None = None,
) -> list[ControlNetChoice]:
    """The ControlNets a ``control_type`` input can use, best first: installed ones of the model's ``family`` and
    that type, installed ones whose name says no type, then the recommended downloads, then the rest.

    ``folders`` are the ControlNet folders (``local_controlnets``); a recommended ControlNet downloaded there is
    listed once, by its repo id (what metadata records), as installed. ``served`` (while servers are in use) are
    the pool's ControlNets, listed instead of the folders and downloads.
    """
    wanted = base_family(family) if family else None
    choices: list[ControlNetChoice] = []
    if served is not None:
        return sorted(served_choices(served), key=lambda c: _rank(c, control_type, wanted))
    downloaded: set[Path] = set()
    for item in RECOMMENDED_CONTROLNETS:
        folder = local_download(item.repo_id, folders or ())
        if folder is not None:
            downloaded.add(folder)
        if item.type == control_type or folder is not None:
            choices.append(
                ControlNetChoice(item.repo_id, _recommended_label(item), item.family, item.type, folder is not None)
            )
    for path in local_controlnets(folders):
        if path not in downloaded:
            name = path.stem if path.is_file() else path.name
            found = _family_or_none(path)
            label = f"{name} · {FAMILY_NAMES[found]}" if found in FAMILY_NAMES else name
            choices.append(ControlNetChoice(str(path), label, found, control_type_of_name(name), True))

    return sorted(choices, key=lambda c: _rank(c, control_type, wanted))


def _rank(choice: ControlNetChoice, control_type: str, wanted: str | None) -> tuple:
    other_type = choice.type is not None and choice.type != control_type
    other_family = wanted is not None and choice.family is not None and choice.family != wanted
    return (other_type or other_family, not choice.installed, choice.type is None, choice.label.lower())


def preferred_controlnet(
    control_type: str,
    family: str | None,
    folders: Sequence[Path] | None = None,
    served: Sequence[str] | None = None,
) -> str:
    """The reference a new ``control_type`` input starts with: the best of ``controlnet_choices`` ("" if none)."""
    choices = controlnet_choices(control_type, family, folders, served)
    return choices[0].reference if choices else ""


def controlnet_label(reference: str) -> str:
    """A name for a reference no list holds (from an image's metadata, or chosen by path)."""
    for item in RECOMMENDED_CONTROLNETS:
        if item.repo_id == reference:
            return _recommended_label(item)
    path = Path(reference)
    if looks_like_repo_id(reference) and not path.exists():
        return reference.split("/", 1)[1]
    return path.stem if path.suffix else path.name or reference
