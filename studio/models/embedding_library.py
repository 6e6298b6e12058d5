"""Textual-inversion embeddings: the files in the studio's folder and in A1111/ComfyUI folders. No torch.

A1111 keeps them in ``<root>/embeddings``, ComfyUI in ``<root>/models/embeddings``. Only the safetensors header
is read to list one: ``emb_params`` (A1111's SD 1.x file, ``[vectors, 768]``) or ``clip_l`` + ``clip_g`` (SDXL,
768 and 1280 wide). Pickle ``.pt`` files are listed with a problem: opening one can run code.

A prompt uses an embedding by its file name, as a word (A1111) or as ``embedding:name`` (ComfyUI). A1111 records
them as ``TI hashes: "name: 0123456789"``: the first 10 digits of the file's SHA-256.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.models.lora_file import LoraFileError, read_header
from studio.paths import models_dir

EMBEDDING_HASH_LENGTH = 10
_LEAVES = ("embeddings", "models/embeddings")


@dataclass(frozen=True)
class EmbeddingEntry:
    name: str  # the file stem: the word a prompt uses
    path: Path
    family: str | None = None  # "sd15" or "sdxl"
    vectors: int = 0  # tokens it takes in the prompt
    problem: str | None = None

    def short_hash(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()[:EMBEDDING_HASH_LENGTH]


def own_embedding_dir() -> Path:
    return models_dir() / "embeddings"


def embedding_folders(roots: Sequence[str | Path] = ()) -> list[Path]:
    """The studio's own folder, then each A1111/ComfyUI root's embeddings folder (or the folder itself)."""
    folders = [own_embedding_dir()]
    for root in roots:
        root = Path(root).expanduser()
        if root.name.lower() in ("lora", "loras", "lycoris"):  # a LoRA folder given: its tool's embeddings
            root = root.parent.parent if root.parent.name == "models" else root.parent
        leaves = [root / leaf for leaf in _LEAVES if (root / leaf).is_dir()]
        if not leaves and root.name == "embeddings":
            leaves = [root]
        folders += [leaf for leaf in leaves if leaf not in folders]
    return folders


def inspect_embedding(path: Path) -> EmbeddingEntry:
    """One embedding file, from its header; never raises (a file it cannot use has ``problem`` set)."""
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        return EmbeddingEntry(
            path.stem,
            path,
            problem=f"'{path.name}' is a pickle embedding ({path.suffix}), which can run code when opened; the "
            "studio reads .safetensors embeddings. Use a .safetensors version of it.",
        )
    try:
        tensors, _ = read_header(path)
    except LoraFileError as exc:
        return EmbeddingEntry(path.stem, path, problem=str(exc))
    shapes = {key: value["shape"] for key, value in tensors.items()}
    if "clip_l" in shapes and "clip_g" in shapes:
        return EmbeddingEntry(path.stem, path, "sdxl", int(shapes["clip_g"][0]))
    if "emb_params" in shapes and len(shapes["emb_params"]) == 2:
        if int(shapes["emb_params"][1]) == 1024:
            return EmbeddingEntry(
                path.stem,
                path,
                problem=f"'{path.name}' is an embedding for Stable Diffusion 2.x, which the studio does not run.",
            )
        # 768 wide for SD 1.x; any other width is checked against the model's encoder when it is used
        return EmbeddingEntry(path.stem, path, "sd15", int(shapes["emb_params"][0]))
    return EmbeddingEntry(
        path.stem,
        path,
        problem=f"'{path.name}' is not an SD 1.x (emb_params, 768 wide) or SDXL (clip_l + clip_g) embedding.",
    )


def scan_embeddings(roots: Sequence[str | Path] = ()) -> list[EmbeddingEntry]:
    entries, seen = [], set()
    for folder in embedding_folders(roots):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in (".safetensors", ".pt", ".bin") and path.resolve() not in seen:
                seen.add(path.resolve())
                entries.append(inspect_embedding(path))
    return sorted(entries, key=lambda e: e.name.lower())


def used_embeddings(text: str, entries: Sequence[EmbeddingEntry]) -> list[tuple[EmbeddingEntry, list[str]]]:
    """The embeddings ``text`` names, with the exact spellings used (``name`` or ``embedding:name[.ext]``)."""
    found = []
    for entry in entries:
        pattern = re.compile(
            rf"(?<![\w:])(?:embedding:)?{re.escape(entry.name)}(?:\.safetensors|\.pt)?(?!\w)"
        )
        spellings = sorted({match.group() for match in pattern.finditer(text)}, key=len, reverse=True)
        if spellings:
            found.append((entry, spellings))
    return found
