"""Finding the models an artist already has.

Looks in the studio's models folder, the Hugging Face cache (SD1.x / SDXL pipelines only) and any folders the
artist points at: an A1111 webui root (its ``models/Stable-diffusion``), a ComfyUI root (``models/checkpoints``)
or a folder of checkpoints directly. Only headers and small JSON files are read, so a library of large
checkpoints is listed in moments; hashes are computed only when asked (``ModelEntry.hash()``).

One unreadable or foreign file never stops the scan: a checkpoint that cannot be used is listed with its
``problem`` (so the artist sees why), anything else is skipped. Only what could be a checkpoint is listed: a
LoRA or a ControlNet in a checkpoints folder is skipped (they are listed where they are used), and so is a
``.bin``/``.pt``/``.pth`` file that is not a PyTorch file at all (those names also hold embeddings, annotator
weights or plain data). A damaged ``.safetensors`` or ``.ckpt`` is listed with the reason.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from studio.errors import StudioError
from studio.models.controlnets import is_controlnet
from studio.models.hashing import folder_hash10, model_hash10
from studio.models.lora_file import lora_format
from studio.models.model_family import family_of_folder, family_of_header
from studio.models.model_ref import CHECKPOINT_SUFFIXES, PICKLE_SUFFIXES, read_safetensors_header
from studio.paths import models_dir

log = logging.getLogger(__name__)

EntryKind = Literal["folder", "single_file", "hub_cache"]
# Where the other tools keep checkpoints, relative to their install folder.
TOOL_SUBFOLDERS = (Path("models") / "Stable-diffusion", Path("models") / "checkpoints")
LORA_FOLDER_NAMES = ("loras", "lora", "lycoris")
CONTROLNET_FOLDER_NAMES = ("controlnet",)
_MAX_DEPTH = 3  # A1111 and ComfyUI allow subfolders of checkpoints; deeper trees are not model libraries


@dataclass
class ModelEntry:
    """One model found on disk. ``family`` is None when ``problem`` says why the model cannot be used."""

    name: str
    reference: str
    family: str | None
    kind: EntryKind
    size_bytes: int
    problem: str | None = None
    extra_path: str | None = None
    """For hub models: the cached snapshot folder (``reference`` is the repo id)."""
    _hash10: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def hash10(self) -> str | None:
        """The model hash if already computed (by ``hash()``), else None: listing never hashes."""
        return self._hash10

    @property
    def usable(self) -> bool:
        return self.problem is None

    def hash(self) -> str | None:
        """A1111's model hash (first 10 hex of SHA-256), computed on first use and cached on disk.

        Folders and hub models hash their UNet weights file (see ``hashing.folder_hash10``).
        """
        if self._hash10 is None:
            path = Path(self.reference)
            if self.kind == "single_file":
                self._hash10 = model_hash10(path)
            elif self.kind == "folder":
                self._hash10 = folder_hash10(path)
            else:
                self._hash10 = folder_hash10(Path(self.extra_path)) if self.extra_path else None
        return self._hash10


def model_roots(extra_dirs: Iterable[Path] = ()) -> list[Path]:
    """The folders to scan: the studio's models folder, then each extra folder (or its tools' subfolder).

    The artist's chosen models folder is one of ``extra_dirs`` (see ``AppState.model_search_dirs``)."""
    roots = [models_dir()]
    for folder in extra_dirs:
        folder = Path(folder).expanduser()
        inner = [folder / sub for sub in TOOL_SUBFOLDERS if (folder / sub).is_dir()]
        roots += inner or [folder]
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def discover_models(
    extra_dirs: Iterable[Path] = (), *, hub_cache_dir: Path | None = None
) -> list[ModelEntry]:
    """Every model in the models folder, ``extra_dirs`` and the Hugging Face cache, sorted by name.

    ``hub_cache_dir`` defaults to huggingface_hub's cache folder.
    """
    entries: dict[str, ModelEntry] = {}
    for root in model_roots(extra_dirs):
        if root.is_dir():
            # A folder inside another root (the demo set in the models folder) is met twice: list it once.
            for entry in _scan_folder(root, depth=0):
                entries.setdefault(os.path.realpath(entry.reference), entry)
    for entry in _scan_hub_cache(hub_cache_dir):
        entries.setdefault(entry.reference, entry)
    return sorted(entries.values(), key=lambda e: (e.name.lower(), e.reference))


def _scan_folder(folder: Path, depth: int) -> Iterator[ModelEntry]:
    try:
        children = sorted(folder.iterdir())
    except OSError as exc:
        log.warning("Skipped %s: %s", folder, exc)
        return
    for child in children:
        try:
            if child.name.startswith(".") or child.name.endswith((".partial", ".config")):
                continue  # hidden files, downloads in progress, single-file sidecar configs
            if child.is_dir():
                if child.name.lower() in LORA_FOLDER_NAMES + CONTROLNET_FOLDER_NAMES:
                    continue  # LoRAs and ControlNets are listed where they are used, not as checkpoints
                if (child / "config.json").is_file() and not (child / "model_index.json").is_file():
                    continue  # one diffusers part (a downloaded ControlNet, a lone UNet): not a checkpoint
                if (child / "model_index.json").is_file():
                    yield _folder_entry(child)
                elif depth < _MAX_DEPTH:
                    yield from _scan_folder(child, depth + 1)
            elif child.suffix.lower() in CHECKPOINT_SUFFIXES:
                entry = _file_entry(child)
                if entry is not None:
                    yield entry
        except Exception as exc:  # one odd file (permissions, a broken link) never ends the scan
            log.warning("Skipped %s: %s", child, exc)


def _folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(dirpath) / name).stat().st_size
            except OSError:
                pass
    return total


def _folder_entry(folder: Path) -> ModelEntry:
    family, problem = None, None
    try:
        family = family_of_folder(folder)
    except StudioError as exc:
        problem = str(exc)
    return ModelEntry(folder.name, str(folder), family, "folder", _folder_size(folder), problem)


def _file_entry(path: Path) -> ModelEntry | None:
    """The entry of a checkpoint file, None when the file is not a checkpoint at all."""
    family, problem = None, None
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        if not _is_torch_file(path):
            if suffix != ".ckpt":
                return None
            problem = (
                f"'{path.name}' is not a PyTorch checkpoint: it is damaged or not a model. Download it again."
            )
        else:
            # Its family can only be read by unpickling, which waits until pickles are allowed and it is picked.
            problem = (
                "A pickle checkpoint: it opens only when pickle checkpoints are allowed "
                "(Settings, --allow-pickle)."
            )
    else:
        try:
            header = read_safetensors_header(path)
        except StudioError as exc:
            problem = str(exc)  # damaged: it may well be the checkpoint the artist is looking for
        else:
            if lora_format(key for key in header if key != "__metadata__") != "unknown":
                return None
            try:
                family = family_of_header(header, name=f"'{path.name}'")
            except StudioError as exc:
                if is_controlnet(path):
                    return None
                problem = str(exc)
    return ModelEntry(path.stem, str(path), family, "single_file", path.stat().st_size, problem)


# How a file written by torch.save starts: a zip archive (PyTorch 1.6+) or a pickle (protocol 2 and later).
_TORCH_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def _is_torch_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4).startswith(_TORCH_MAGIC)


def _scan_hub_cache(cache_dir: Path | None) -> list[ModelEntry]:
    from huggingface_hub import scan_cache_dir

    try:
        info = scan_cache_dir(cache_dir)
    except Exception as exc:  # no cache yet, or one huggingface_hub cannot read: nothing to list
        log.info("Hugging Face cache not scanned: %s", exc)
        return []
    entries = []
    for repo in info.repos:
        if repo.repo_type != "model" or not repo.revisions:
            continue
        revision = max(repo.revisions, key=lambda r: r.last_modified)
        snapshot = Path(revision.snapshot_path)
        if not (snapshot / "model_index.json").is_file():
            continue  # not a pipeline (a LoRA, a text model, a ControlNet...)
        try:
            family = family_of_folder(snapshot)
        except StudioError as exc:
            log.info("Skipped %s from the Hugging Face cache: %s", repo.repo_id, exc)
            continue
        entries.append(
            ModelEntry(
                repo.repo_id,
                repo.repo_id,
                family,
                "hub_cache",
                revision.size_on_disk,
                extra_path=str(snapshot),
            )
        )
    return entries
