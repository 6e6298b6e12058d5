"""What a model reference points at: a hub repo id, a diffusers folder or a single checkpoint file.

``resolve_reference`` checks the reference before anything heavy is imported, so a typo, a half-downloaded file
or a folder of the wrong kind is reported in a sentence the artist can act on, not as a traceback from deep
inside diffusers. It reads at most a safetensors header; it never loads weights.
"""

from __future__ import annotations

import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from studio.errors import ModelError
from studio.paths import models_dir

SAFETENSORS_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".ckpt", ".pt", ".bin", ".pth")
CHECKPOINT_SUFFIXES = SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES
# A safetensors header is JSON describing the tensors; real ones are well under a few MB.
_MAX_HEADER_BYTES = 100 * 1024 * 1024
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DIFFUSERS_FOLDER = (
    "A diffusers model folder holds model_index.json beside subfolders such as unet/, vae/, text_encoder/ and "
    "tokenizer/."
)

RefKind = Literal["hub", "folder", "single_file"]


@dataclass(frozen=True)
class ModelRef:
    """A checked reference. ``path`` is the local folder or file (for a hub id: its cached snapshot)."""

    reference: str
    kind: RefKind
    path: Path | None
    repo_id: str | None = None

    @property
    def name(self) -> str:
        """The name recorded in metadata: file stem, folder name or repo id."""
        if self.repo_id:
            return self.repo_id
        assert self.path is not None
        return self.path.stem if self.kind == "single_file" else self.path.name

    @property
    def is_pickle(self) -> bool:
        return (
            self.kind == "single_file"
            and self.path is not None
            and self.path.suffix.lower() in PICKLE_SUFFIXES
        )


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set, read now (huggingface_hub reads it once, at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def looks_like_repo_id(reference: str) -> bool:
    return bool(_REPO_ID.match(reference)) and "\\" not in reference


def downloaded_folder(repo_id: str) -> Path:
    """Where ``download_model`` puts a hub model: ``models_dir()/<org>--<name>``."""
    return models_dir() / repo_id.replace("/", "--")


def cached_snapshot(repo_id: str) -> Path | None:
    """The cached snapshot folder of a hub pipeline, or None when its model_index.json is not cached."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "model_index.json")
    return Path(found).parent if isinstance(found, str) else None


def resolve_reference(reference: str) -> ModelRef:
    """Check ``reference`` and say what it is, or raise ``ModelError`` saying what is wrong and what to do."""
    reference = (reference or "").strip()
    if not reference:
        raise ModelError(
            "No model is chosen. Pick a model from the list, or give a model file, folder or repo id."
        )
    path = Path(reference).expanduser()
    if path.is_dir():
        check_pipeline_folder(path)
        return ModelRef(reference, "folder", path)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix not in CHECKPOINT_SUFFIXES:
            raise ModelError(
                f"'{path.name}' is not a model checkpoint (expected .safetensors, or .ckpt/.pt/.bin/.pth). "
                "Choose the checkpoint file itself, or its diffusers folder."
            )
        if suffix in SAFETENSORS_SUFFIXES:
            read_safetensors_header(path)
        return ModelRef(reference, "single_file", path)
    # "models/foo" beside a real "models" folder is a missing path, not a repo id.
    if looks_like_repo_id(reference) and not path.parent.is_dir():
        return _resolve_repo_id(reference)
    raise ModelError(f"There is no file or folder at '{reference}'. Check the path, or pick the model again.")


def _resolve_repo_id(repo_id: str) -> ModelRef:
    downloaded = downloaded_folder(repo_id)
    if (downloaded / "model_index.json").is_file():
        return ModelRef(repo_id, "hub", downloaded, repo_id=repo_id)
    snapshot = cached_snapshot(repo_id)
    if snapshot is not None:
        return ModelRef(repo_id, "hub", snapshot, repo_id=repo_id)
    if hub_offline():
        raise ModelError(
            f"There is no file or folder at '{repo_id}', and as a Hugging Face repo id it is not downloaded yet "
            "while the studio is offline (HF_HUB_OFFLINE is set). Download it once while online, or choose a "
            "local model folder or checkpoint file instead."
        )
    return ModelRef(repo_id, "hub", None, repo_id=repo_id)


def check_pipeline_folder(folder: Path) -> None:
    """Raise ``ModelError`` unless ``folder`` is a diffusers pipeline folder (has model_index.json)."""
    if (folder / "model_index.json").is_file():
        return
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError as exc:
        raise ModelError(
            f"The folder '{folder}' cannot be read ({exc.strerror}). Check its permissions."
        ) from exc
    checkpoints = [n for n in names if n.lower().endswith(CHECKPOINT_SUFFIXES)]
    if not names:
        found = "it is empty"
    else:
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        found = f"it holds {shown}"
    advice = (
        f" It contains checkpoint files: pick one of them ({', '.join(checkpoints[:3])}) instead of the folder."
        if checkpoints
        else ""
    )
    raise ModelError(
        f"The folder '{folder}' is not a diffusers model (no model_index.json; {found}). {_DIFFUSERS_FOLDER}{advice}"
    )


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a .safetensors file, after checking that the file is as long as it says.

    Raises ``ModelError`` for an empty, truncated or non-safetensors file. Reads only the header.
    """
    size = path.stat().st_size
    redownload = "Download it again."
    if size < 8:
        raise ModelError(f"The model file '{path.name}' is empty or truncated ({size} bytes). {redownload}")
    with path.open("rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        if header_len > _MAX_HEADER_BYTES:
            raise ModelError(
                f"'{path.name}' is not a valid .safetensors file (its header is unreadable). {redownload}"
            )
        if 8 + header_len > size:
            raise ModelError(
                f"The model file '{path.name}' is truncated (expected at least {8 + header_len} bytes for its "
                f"header, found {size}). {redownload}"
            )
        try:
            header = json.loads(handle.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(
                f"'{path.name}' is not a valid .safetensors file (its header is not JSON). {redownload}"
            ) from exc
    if not isinstance(header, dict):
        raise ModelError(f"'{path.name}' is not a valid .safetensors file (unexpected header). {redownload}")
    try:
        ends = [int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ModelError(
            f"'{path.name}' is not a valid .safetensors file (damaged header). {redownload}"
        ) from exc
    expected = 8 + header_len + max(ends, default=0)
    if size < expected:
        raise ModelError(
            f"The model file '{path.name}' is truncated ({_mb(expected)} expected, {_mb(size)} found; "
            f"{expected} vs {size} bytes). The download probably stopped early. {redownload}"
        )
    return header


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size} bytes"
