"""Model hashes as A1111 writes them ("Model hash: 0123456789"), computed once per file version.

``model_hash10`` is the first 10 hex digits of the file's SHA-256 (A1111's "sha256" short hash, the one in
its PNG metadata and on Civitai). Hashing a 7 GB checkpoint takes a while, so the full digest is kept in
``data_dir()/model_hashes.json`` keyed by absolute path and checked against size and modification time: a file
replaced in place is hashed again, an unchanged one never.

Diffusers folders have no single file to hash; ``folder_hash10`` uses the UNet weights file (the part that makes
the picture), or None when the UNet is sharded or missing. It will not match any A1111 hash, so metadata writers
should treat it as the studio's own identifier.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from studio.paths import data_dir

CACHE_NAME = "model_hashes.json"
_CHUNK = 1 << 20
_lock = threading.Lock()
_UNET_FILES = (
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.fp16.safetensors",
    "diffusion_pytorch_model.bin",
    "diffusion_pytorch_model.fp16.bin",
)


def cache_file() -> Path:
    return data_dir() / CACHE_NAME


def sha256_file(path: Path) -> str:
    """The SHA-256 of ``path``, read in 1 MB chunks (constant memory for any size)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _read_cache() -> dict[str, dict]:
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a missing or damaged cache only costs a re-hash
    return data if isinstance(data, dict) else {}


def _write_cache(data: dict[str, dict]) -> None:
    target = cache_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass  # the hash is still correct; it is only not remembered


def model_sha256(path: Path) -> str:
    """The full SHA-256 of a checkpoint file, from the cache when the file is unchanged."""
    path = Path(path).resolve()
    stat = path.stat()
    key = str(path)
    with _lock:
        entry = _read_cache().get(key)
    if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return entry["sha256"]
    digest = sha256_file(path)
    with _lock:
        data = _read_cache()
        data[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
        _write_cache(data)
    return digest


def model_hash10(path: Path) -> str:
    """A1111's "Model hash": the first 10 hex digits of the file's SHA-256."""
    return model_sha256(path)[:10]


def folder_hash10(folder: Path) -> str | None:
    """The hash of a diffusers folder's UNet weights file, or None (sharded or missing UNet)."""
    for name in _UNET_FILES:
        candidate = Path(folder) / "unet" / name
        if candidate.is_file():
            return model_hash10(candidate)
    return None
