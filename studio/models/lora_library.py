"""The LoRA library: the LoRA files in the studio's folder and in A1111/ComfyUI folders, found by name or hash.

Scanning reads only headers (see ``lora_file``), so a folder of hundreds of LoRAs lists in moments; a damaged or
foreign file is listed with its ``problem``, never stops the scan.
"""

from __future__ import annotations

import difflib
import struct
from collections.abc import Sequence
from pathlib import Path

from studio.errors import RequestError
from studio.models.lora_file import SHORT_HASH_LENGTH, LoraEntry, inspect_lora
from studio.paths import models_dir

# LoraEntry and inspect_lora are re-exported: callers (the state layer's LoRA list) know them from here.
__all__ = ["LoraEntry", "LoraLibrary", "inspect_lora", "lora_folders", "own_lora_dir", "scan_loras"]

# Leaf folder names the other tools keep LoRAs in, under their root (A1111: models/Lora, ComfyUI: models/loras).
_LEAVES = ("models/Lora", "models/loras", "models/LyCORIS", "Lora", "loras")


# --- folders ------------------------------------------------------------------------------------------------


def own_lora_dir() -> Path:
    return models_dir() / "loras"


def lora_folders(roots: Sequence[str | Path] = ()) -> list[Path]:
    """The studio's own LoRA folder, then each root's LoRA leaf (an A1111/ComfyUI root or the leaf itself)."""
    folders = [own_lora_dir()]
    for root in roots:
        root = Path(root).expanduser()
        leaves = [root / leaf for leaf in _LEAVES if (root / leaf).is_dir()]
        folders.extend(leaves or [root])
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def scan_loras(roots: Sequence[str | Path] = ()) -> list[LoraEntry]:
    """Every ``.safetensors`` file under the LoRA folders (subfolders included), sorted by name."""
    entries: list[LoraEntry] = []
    seen: set[Path] = set()
    for folder in lora_folders(roots):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.safetensors")):
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                entries.append(inspect_lora(path))
    return sorted(entries, key=lambda e: (e.name.lower(), str(e.path)))


class LoraLibrary:
    """The scanned LoRAs, with lookup by name, path or hash, and search."""

    def __init__(self, entries: Sequence[LoraEntry]) -> None:
        self.entries = list(entries)

    @classmethod
    def scan(cls, roots: Sequence[str | Path] = ()) -> LoraLibrary:
        return cls(scan_loras(roots))

    def search(self, text: str) -> list[LoraEntry]:
        """Entries whose name, title or a trigger word contains ``text`` (case-insensitive)."""
        needle = text.strip().lower()
        if not needle:
            return list(self.entries)
        return [
            e
            for e in self.entries
            if needle in e.name.lower()
            or needle in (e.title or "").lower()
            or any(needle in word.lower() for word in e.triggers)
        ]

    def by_hash(self, short_hash: str) -> LoraEntry | None:
        short_hash = short_hash.strip().lower()
        if not short_hash:
            return None
        for entry in self.entries:
            if entry.stored_hash and entry.stored_hash.lower().startswith(short_hash):
                return entry
        for entry in self.entries:
            try:
                if entry.short_hash().startswith(short_hash[:SHORT_HASH_LENGTH]):
                    return entry
            except (OSError, struct.error):
                continue  # a damaged file has no hash; it cannot be the one asked for
        return None

    def get(self, reference: str) -> LoraEntry | None:
        """The entry for a file path or a name (file stem, then title; case-insensitive), or None."""
        path = Path(reference).expanduser()
        if path.suffix.lower() == ".safetensors" and path.is_file():
            resolved = path.resolve()
            for entry in self.entries:
                if entry.path.resolve() == resolved:
                    return entry
            return inspect_lora(path)
        wanted = reference.strip().lower()
        for attribute in ("name", "title"):
            for entry in self.entries:
                if (getattr(entry, attribute) or "").lower() == wanted:
                    return entry
        return None

    def find(self, reference: str) -> LoraEntry:
        """Like ``get`` but raises ``RequestError`` naming the closest library names."""
        entry = self.get(reference)
        if entry is not None:
            return entry
        names = [e.name for e in self.entries]
        close = difflib.get_close_matches(reference, names, n=3, cutoff=0.5) or difflib.get_close_matches(
            reference.lower(), [n.lower() for n in names], n=3, cutoff=0.5
        )
        if close:
            hint = "Did you mean " + ", ".join(f"'{n}'" for n in close) + "?"
        elif names:
            hint = f"The library has {len(names)} LoRAs; check the spelling or add the folder that holds it."
        else:
            hint = f"The LoRA library is empty; put LoRA files in '{own_lora_dir()}' or add a LoRA folder."
        raise RequestError(f"The LoRA '{reference}' is not in the LoRA library. {hint}")
