"""Downloading a pipeline from the Hugging Face hub: only the files it needs, with progress and cancel.

Model repos hold the same weights several times (fp32 and fp16, .safetensors and .bin, a 7 GB single-file
checkpoint at the root, ONNX/Flax exports). ``pipeline_files`` keeps the configs, tokenizers and one copy of
each component's weights: the fp16 variant .safetensors where the repo has one, else the plain .safetensors
(.bin only where there is no .safetensors at all), for the components the pipeline loads (no safety checker:
the studio does not run it).

Files go into ``<folder>/<org>--<name>.partial`` and the folder is renamed to ``<org>--<name>`` only when
everything has arrived (``<folder>``: the models folder's checkpoints or ControlNet folder, see
``model_folders``), so a cancelled or failed download never leaves a half model where discovery and
loading would find it.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from studio.errors import ModelError
from studio.models.model_folders import model_folders
from studio.models.model_ref import hub_offline

ProgressCallback = Callable[[int, int], None]
_CONFIG_SUFFIXES = (".json", ".txt", ".model")
# What an SD1.x/SDXL text-to-image pipeline loads; repos also carry extras (vae_1_0/, vae_decoder/ ONNX, the
# safety checker, which the studio does not run).
_COMPONENTS = {
    "unet",
    "vae",
    "text_encoder",
    "text_encoder_2",
    "tokenizer",
    "tokenizer_2",
    "scheduler",
    "feature_extractor",
}
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json")


class DownloadCancelled(ModelError):
    """The artist stopped the download; nothing was left in the models folder."""


def _is_weight(name: str) -> bool:
    return name.endswith(_WEIGHT_SUFFIXES)


def pipeline_files(repo_files: Iterable[str]) -> list[str]:
    """The files of a diffusers repo that loading its pipeline needs (see the module docstring)."""
    files = sorted(repo_files)
    chosen: list[str] = [f for f in files if f == "model_index.json"]
    by_component: dict[str, list[str]] = {}
    for name in files:
        parts = PurePosixPath(name).parts
        if len(parts) != 2 or parts[0] not in _COMPONENTS:
            continue  # root files (single-file checkpoints, README, images) and deeper folders are not needed
        if _is_weight(name):
            by_component.setdefault(parts[0], []).append(name)
        elif name.endswith(_CONFIG_SUFFIXES):
            chosen.append(name)
    for weights in by_component.values():
        chosen += _one_copy(weights)
    return sorted(chosen)


def _one_copy(weights: list[str]) -> list[str]:
    """fp16 safetensors, else plain safetensors, else fp16 .bin, else .bin (with their shard indexes)."""
    for variant, kind in (("fp16", ".safetensors"), (None, ".safetensors"), ("fp16", ".bin"), (None, ".bin")):
        found = [w for w in weights if _variant(w) == variant and kind in PurePosixPath(w).name]
        if found:
            return found
    return []


def _variant(name: str) -> str | None:
    """ "fp16" for ``x.fp16.safetensors`` or ``x.safetensors.index.fp16.json``; "non_ema", "ema", ...; or None."""
    parts = [
        p for p in PurePosixPath(name).name.split(".")[1:] if p not in ("safetensors", "bin", "index", "json")
    ]
    return parts[0] if parts else None


def _list_repo_files(repo_id: str) -> dict[str, int]:
    """Every file of the repo with its size in bytes (one API call)."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo_id, files_metadata=True)
    return {s.rfilename: int(s.size or 0) for s in info.siblings or []}


def _fetch(repo_id: str, filename: str, local_dir: Path, tqdm_class: Any) -> None:
    from huggingface_hub import hf_hub_download

    hf_hub_download(repo_id, filename, local_dir=str(local_dir), tqdm_class=tqdm_class)


class _Cancel(Exception):
    pass


def _progress_bar_class(report: Callable[[int], None], cancel: threading.Event | None) -> type:
    """A stand-in for tqdm that forwards bytes to ``report`` and stops the download when ``cancel`` is set."""

    class Bar:
        def __init__(self, *args: Any, initial: int = 0, **kwargs: Any) -> None:
            if initial:
                report(int(initial))

        def update(self, n: float | None = 1) -> None:
            if cancel is not None and cancel.is_set():
                raise _Cancel
            report(int(n or 0))

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def __getattr__(self, name: str) -> Callable[..., None]:
            return lambda *args, **kwargs: None  # close, refresh, set_postfix_str, update_transfer, ...

    return Bar


def download_model(
    repo_id: str,
    *,
    folder: Path | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download the pipeline ``repo_id`` into the checkpoints folder of the models folder ``folder`` (None:
    ``models_dir()``; an A1111/ComfyUI install: its checkpoints folder) and return its folder.

    ``on_progress(done_bytes, total_bytes)`` is called as data arrives. Setting ``cancel`` stops the download
    and raises ``DownloadCancelled``; the partial files are removed. Raises ``ModelError`` when offline or when
    the repo is not a diffusers pipeline.
    """
    target = model_folders(folder).checkpoints
    return _download(repo_id, target, pipeline_files, "model_index.json", on_progress, cancel)


def controlnet_files(repo_files: Iterable[str]) -> list[str]:
    """The files of a diffusers ControlNet repo to fetch: its root config.json and one copy of its weights
    (``diffusion_pytorch_model``: fp16 .safetensors first, as for pipelines; other weight files, such as a
    second version beside the first, are left)."""
    files = [f for f in repo_files if "/" not in f]
    weights = [f for f in files if f.startswith("diffusion_pytorch_model.") and _is_weight(f)]
    return sorted(([f for f in files if f == "config.json"]) + _one_copy(weights))


def download_controlnet(
    repo_id: str,
    *,
    folder: Path | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Download the ControlNet ``repo_id`` into the ControlNet folder of the models folder ``folder``
    (``<root>/controlnet/<org>--<name>``, or an A1111/ComfyUI install's), as ``download_model``."""
    target = model_folders(folder).controlnets
    return _download(repo_id, target, controlnet_files, "config.json", on_progress, cancel)


def _not_a_pipeline(repo_id: str, repo_files: Iterable[str]) -> str:
    """Why ``repo_id`` cannot be downloaded as an image model, with what to do instead."""
    if len(controlnet_files(repo_files)) > 1:  # a root config.json beside diffusion_pytorch_model weights
        return (
            f"'{repo_id}' is a ControlNet (or another single part of a model), not a full image model: it has no "
            "model_index.json. To use it as a ControlNet, download it with File ▸ Download ControlNet… or the "
            "Download button of a control input."
        )
    return (
        f"'{repo_id}' is not a diffusers pipeline (it has no model_index.json). Look for the model's diffusers "
        "version, or download its .safetensors file and open that file."
    )


# Room to spare beyond the files: the drive keeps working, and the hub's listing can round sizes down.
SPACE_MARGIN_BYTES = 512 * 1024 * 1024


def free_space(folder: Path) -> int:
    """Free bytes on the drive that holds ``folder`` (or its nearest existing parent)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def _check_free_space(repo_id: str, folder: Path, needed: int) -> None:
    """Refuse before the first byte when the models folder's drive cannot hold the download."""
    free = free_space(folder)
    if free < needed + SPACE_MARGIN_BYTES:
        raise ModelError(
            f"Not enough free disk space to download '{repo_id}': it needs {needed / 1e9:.1f} GB and the drive of "
            f"{folder} has {free / 1e9:.1f} GB free. Free some space, or choose a models folder on another drive."
        )


def _download(
    repo_id: str,
    parent: Path,
    choose: Callable[[Iterable[str]], list[str]],
    marker: str,
    on_progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> Path:
    """Fetch the files ``choose`` picks; ``marker`` (the file that makes the folder a model) comes last."""
    final = parent / repo_id.replace("/", "--")
    if (final / marker).is_file():
        return final
    if hub_offline():
        raise ModelError(
            f"The model '{repo_id}' cannot be downloaded while the studio is offline (HF_HUB_OFFLINE is set). "
            "Unset HF_HUB_OFFLINE and try again while online, or choose a model file or folder on this computer."
        )
    try:
        sizes = _list_repo_files(repo_id)
    except Exception as exc:  # network, missing repo, gated repo: all reported the same way
        raise ModelError(
            f"Could not look up '{repo_id}' on Hugging Face ({exc.__class__.__name__}: {str(exc)[:200]}). Check "
            "the repo id and your connection; gated models need you to accept their license on the website."
        ) from exc
    files = choose(sizes)
    if marker not in files:
        if marker == "model_index.json":
            raise ModelError(_not_a_pipeline(repo_id, sizes))
        if "model_index.json" in sizes:
            raise ModelError(
                f"'{repo_id}' is a full image model, not a ControlNet. Download it with File ▸ Download model… "
                "and choose a ControlNet for the control input."
            )
        raise ModelError(
            f"'{repo_id}' is not a diffusers ControlNet (it has no config.json). Look for the ControlNet's "
            "diffusers version, or download its .safetensors file and choose that file in the control input."
        )
    total = sum(sizes[f] for f in files)
    _check_free_space(repo_id, final.parent, total)
    done = 0

    def report(n: int) -> None:
        nonlocal done
        done += n
        if on_progress is not None:
            on_progress(min(done, total), total)

    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    bar = _progress_bar_class(report, cancel)
    try:
        # The marker last: until it is there, the folder is not a model to anything that looks.
        for name in sorted(files, key=lambda f: f == marker):
            if cancel is not None and cancel.is_set():
                raise _Cancel
            _fetch(repo_id, name, partial, bar)
    except _Cancel:
        shutil.rmtree(partial, ignore_errors=True)
        raise DownloadCancelled(f"The download of '{repo_id}' was cancelled; nothing was kept.") from None
    except Exception as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise ModelError(
            f"The download of '{repo_id}' failed ({exc.__class__.__name__}: {str(exc)[:200]}). Nothing was kept; "
            "check your connection and disk space, then try again."
        ) from exc
    shutil.rmtree(partial / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping for local_dir
    partial.rename(final)
    return final
