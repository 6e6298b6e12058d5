"""Applying LoRAs to a loaded pipeline: load once, re-weight freely, fuse when the set stops changing.

Each LoRA file is loaded once as a named peft adapter. A new weight or an on/off toggle is a ``set_adapters``
call (no reload, base weights untouched); a LoRA no longer asked for is deleted. When the same LoRAs at the same
weights are asked for twice in a row they are fused into the base weights (``fuse_lora``), which removes the
per-step cost of the extra matrices; any change first unfuses, because deleting a fused adapter would leave it
baked into the weights. Unfusing subtracts what fusing added, which in floating point is not exactly the old
weight (measured: 32 of 208 tiny-UNet tensors differ after three fuse/unfuse rounds), so the weights of the
adapted layers are copied to the CPU before fusing and copied back after unfusing: the base stays bit-exact.

kohya files are mapped onto the pipeline's layers by the studio (``kohya_keys``) before peft loads them. LyCORIS
files (LoHa, LoKr, Tucker LoCon, full diffs), which peft-in-diffusers cannot load, are merged instead
(``lycoris``): their change is added to the base weights, re-weighting restores the base and adds again (no file
read), removal restores the saved base copies; being merged already, they are never part of a fuse.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.engine.kohya_keys import kohya_to_peft
from studio.engine.lycoris import LycorisAdapters
from studio.engine.validation import FAMILY_NAMES, check_lora_weight
from studio.errors import RequestError
from studio.models.lora_file import format_problem
from studio.models.lora_library import LoraEntry

log = logging.getLogger("studio.lora")


@dataclass(frozen=True)
class ActiveLora:
    """One LoRA to apply: the library entry, its weight, and whether it is switched on."""

    entry: LoraEntry
    weight: float
    enabled: bool = True


def adapter_name(entry: LoraEntry) -> str:
    """A peft adapter name: the file stem made safe, plus a short digest of the path (two files, one stem)."""
    stem = re.sub(r"[^A-Za-z0-9_]", "_", entry.name)[:40]
    digest = hashlib.sha1(str(Path(entry.path).resolve()).encode()).hexdigest()[:8]
    return f"{stem}_{digest}"


def check_lora(lora: ActiveLora, family: str) -> None:
    """Raise ``RequestError`` for a LoRA that cannot run on a ``family`` model, before any work is done."""
    entry = lora.entry
    family = family.split("-", 1)[0]  # an inpainting model ("sd15-inpaint") takes its base family's LoRAs
    if entry.problem is not None:
        raise RequestError(f"The LoRA '{entry.name}' cannot be used: {entry.problem}")
    refused = format_problem(entry.format, entry.path.name)
    if refused:  # an entry made without a scan (``problem`` unset) is judged as the scan would
        raise RequestError(refused)
    if entry.family is not None and entry.family != family:
        raise RequestError(
            f"The LoRA '{entry.name}' was made for {FAMILY_NAMES.get(entry.family, entry.family)} models, but the "
            f"model is {FAMILY_NAMES.get(family, family)}. Choose a {FAMILY_NAMES.get(family, family)} LoRA "
            "or switch models."
        )
    check_lora_weight(entry.name, lora.weight)


@dataclass
class LoraState:
    """What is applied to one pipeline now. Reset whenever the base model is loaded again."""

    loaded: dict[str, str] = field(default_factory=dict)  # adapter name -> file path
    active: tuple[tuple[str, float], ...] = ()  # (adapter, weight) as set last time
    fused: bool = False
    uses: int = 0  # consecutive generations with ``active`` unchanged
    saved: list[tuple[Any, Any]] = field(default_factory=list)  # (weight, CPU copy) while fused
    lycoris: LycorisAdapters = field(default_factory=LycorisAdapters)  # LyCORIS files: added to the weights

    def apply(self, pipe: Any, loras: Sequence[ActiveLora], family: str, *, fuse: bool = True) -> None:
        """Make ``pipe`` run with exactly ``loras`` (enabled ones at their weights).

        A switched-off LoRA is kept loaded (switching it back on is then a ``set_adapters`` call), unless it
        cannot run on this model: then it is left out instead of stopping the run (the LoRA panel says why).
        """
        wanted: dict[str, ActiveLora] = {}
        for lora in loras:
            try:
                check_lora(lora, family)
            except RequestError:
                if lora.enabled:
                    raise
                continue
            wanted[adapter_name(lora.entry)] = lora
        active = tuple(sorted((name, float(lora.weight)) for name, lora in wanted.items() if lora.enabled))
        if active == self.active and self.loaded.keys() == wanted.keys():
            self.uses += 1
            peft_names = [name for name, _ in active if name not in self.lycoris.files]
            if fuse and peft_names and not self.fused and self.uses >= 2:
                self.saved = _adapted_weights(pipe)
                pipe.fuse_lora(adapter_names=peft_names, lora_scale=1.0)
                self.fused = True
            return
        self.unfuse(pipe)
        gone = [name for name in self.loaded if name not in wanted]
        if not wanted and gone:
            self.clear(pipe)
            return
        if gone:
            peft_gone = [name for name in gone if name not in self.lycoris.files]
            if peft_gone:
                pipe.delete_adapters(peft_gone)
            self.lycoris.drop(gone)
            for name in gone:
                del self.loaded[name]
        for name, lora in list(wanted.items()):
            if name not in self.loaded:
                try:
                    if lora.entry.format == "lycoris":
                        with _library_chatter_to_log(lora.entry):
                            self.lycoris.load(pipe, lora.entry.path, name, lora.entry.name)
                    else:
                        _load(pipe, lora.entry, name, family)
                except RequestError:
                    if lora.enabled:
                        raise
                    del wanted[name]  # switched off and unloadable (a LyCORIS file, say): left out
                    continue
                self.loaded[name] = str(lora.entry.path)
        self.lycoris.set(pipe, [(name, w) for name, w in active if name in self.lycoris.files])
        peft_active = [(name, w) for name, w in active if name not in self.lycoris.files]
        if peft_active:
            pipe.set_adapters([name for name, _ in peft_active], adapter_weights=[w for _, w in peft_active])
            pipe.enable_lora()
        elif any(name not in self.lycoris.files for name in self.loaded):
            pipe.disable_lora()
        self.active, self.uses = active, 1

    def unfuse(self, pipe: Any) -> None:
        if self.fused:
            pipe.unfuse_lora()
            for weight, copy in self.saved:
                weight.data.copy_(copy)
            self.saved, self.fused = [], False

    def clear(self, pipe: Any) -> None:
        """Remove every LoRA, leaving the base weights exactly as loaded.

        ``unload_lora_weights`` also takes out peft's wrapper layers, which ``delete_adapters`` leaves in place
        and which cost time every step even with no adapter in them.
        """
        self.unfuse(pipe)
        if any(name not in self.lycoris.files for name in self.loaded):
            pipe.unload_lora_weights()
        self.lycoris.restore()
        self.lycoris.files.clear()
        self.loaded, self.active, self.uses = {}, (), 0


def _adapted_weights(pipe: Any) -> list[tuple[Any, Any]]:
    """The base weight of every LoRA-wrapped layer, with a CPU copy of it."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    saved = []
    for component in ("unet", "text_encoder", "text_encoder_2"):
        module = getattr(pipe, component, None)
        if module is None:
            continue
        for layer in module.modules():
            if isinstance(layer, BaseTunerLayer):
                base: Any = layer.get_base_layer()  # peft types it loosely; it is the wrapped nn.Module
                weight = base.weight
                saved.append((weight, weight.detach().to("cpu", copy=True)))
    return saved


def _load(pipe: Any, entry: LoraEntry, name: str, family: str) -> None:
    try:
        with _library_chatter_to_log(entry):
            pipe.load_lora_weights(_kohya_as_peft(pipe, entry) or str(entry.path), adapter_name=name)
    except (ValueError, KeyError, RuntimeError, TypeError, IndexError) as exc:
        log.info("The LoRA %s did not load", entry.path, exc_info=True)
        _remove_partial(pipe, name)
        refused = format_problem(entry.format, entry.path.name)
        if refused:  # the library's verdict on the format, in the same words
            raise RequestError(refused) from exc
        model = FAMILY_NAMES.get(family.split("-", 1)[0], family)
        raise RequestError(
            f"The LoRA file '{entry.path.name}' was made for a different model: its layers do not fit this "
            f"{model} model. Use a LoRA made for this model, or switch to the model it was made for."
        ) from exc


def _kohya_as_peft(pipe: Any, entry: LoraEntry) -> dict[str, Any] | None:
    """A plain kohya file (lora_down/lora_up/alpha only) mapped by the studio (see ``kohya_keys``); else None."""
    if entry.format != "kohya":
        return None
    from safetensors.torch import load_file

    try:
        state = load_file(str(entry.path), device="cpu")
    except Exception:  # noqa: BLE001 - safetensors' own error type; diffusers then reports the file itself
        return None
    if any(not key.endswith(("lora_down.weight", "lora_up.weight", ".alpha")) for key in state):
        return None  # DoRA scales and the like: diffusers' own converter knows them
    return kohya_to_peft(pipe, state, entry.path.name)


@contextmanager
def _library_chatter_to_log(entry: LoraEntry) -> Iterator[None]:
    """Keep diffusers' and peft's own reports of a LoRA load off the console, in the studio's log instead.

    A LoRA for another model makes diffusers log one "size mismatch" line per tensor (66 for a real one) before
    the exception the studio turns into one sentence; peft warns when a second adapter joins the first, which
    is the point here. Neither is news to the artist, both help whoever reads the log.
    """
    loggers = [logging.getLogger(name) for name in ("diffusers", "peft")]
    saved = [(logger, logger.handlers[:], logger.propagate) for logger in loggers]
    capture = _Capture()
    for logger in loggers:
        logger.handlers, logger.propagate = [capture], False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate
        said = capture.lines + [str(warning.message) for warning in caught]
        if said:
            log.debug("Loading the LoRA %s, diffusers/peft said:\n%s", entry.path, "\n".join(said))


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _remove_partial(pipe: Any, name: str) -> None:
    """A failed load can leave the adapter on some components; take it off so the next run is clean."""
    try:
        if any(name in names for names in pipe.get_list_adapters().values()):
            pipe.delete_adapters([name])
    except Exception:  # noqa: BLE001 - best effort after an error that is already being reported
        pass


def requested_loras(
    refs: Sequence[Any], tags: Sequence[Any], library: Any, notices: list[str]
) -> list[ActiveLora]:
    """The LoRAs a run asks for: ``request.loras`` (``LoraRef``) merged with ``<lora:name:w>`` prompt tags.

    A tag wins over a request entry for the same file (it is what the artist typed last, and what A1111 would
    apply); of several tags for one file the last wins. A tag whose weight is not a number is skipped (the
    prompt's diagnostics already say so). An unknown name raises ``RequestError`` naming the closest ones, except
    for a switched-off ``LoraRef``, which is then simply left out.
    """
    chosen: dict[Path, ActiveLora] = {}
    for ref in refs:
        if not ref.enabled:
            # A switched-off LoRA that is not (or no longer) in the library must not stop the run.
            entry = library.get(ref.name)
            if entry is None:
                continue
        else:
            entry = library.find(ref.name)
        chosen[entry.path.resolve()] = ActiveLora(entry, float(ref.weight), bool(ref.enabled))
    for tag in tags:
        if tag.weight is None or not tag.name.strip():
            continue
        entry = library.find(tag.name.strip())
        key = entry.path.resolve()
        if key in chosen and chosen[key].weight != tag.weight:
            notices.append(
                f"The LoRA '{entry.name}' is both in the LoRA list (weight {chosen[key].weight:g}) and in the "
                f"prompt (weight {tag.weight:g}); the prompt's weight was used."
            )
        chosen[key] = ActiveLora(entry, float(tag.weight), True)
    return list(chosen.values())
