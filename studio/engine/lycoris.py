"""LyCORIS files (LoCon, LoHa, LoKr, full diffs; linear and conv layers) on a diffusers pipeline.

diffusers converts only plain kohya layers, so these are applied the way A1111's built-in Lora extension does:
each layer's weight change is computed from the file's factors and added to the base weight. The factors stay
in memory (they are small; the full changes are not), so a new weight is "restore the base, add the changes
again" with no file read, and removing the LoRA restores the CPU copy of every touched weight bit-exactly.

The math per layer (``scale`` is ``alpha / rank`` when the file has an alpha and the layer a rank, else 1):

- LoCon / LoRA: ``up @ down``; with a ``lora_mid`` (Tucker) core, ``W[p,q,k,l] = Σ up[p,i] mid[i,j,k,l] down[j,q]``.
- LoHa: ``(w1_a @ w1_b) ⊙ (w2_a @ w2_b)`` (Hadamard product); with ``hada_t1/t2`` each factor is a Tucker core.
  The rank is ``hada_w1_b``'s first dimension.
- LoKr: ``kron(w1, w2)`` where each of ``w1``/``w2`` is stored whole or as ``_a @ _b`` (``w2`` optionally with a
  Tucker core ``lokr_t2``); for a conv layer ``w2`` carries the kernel. The rank is ``lokr_w2_b``'s first
  dimension, else ``lokr_w1_b``'s; a file with both factors whole has no rank and scale 1.
- Full: ``diff`` is the change itself (``diff_b`` the bias change).

Key names are kohya's (see ``kohya_keys``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.engine.kohya_keys import base_module, kohya_module_names
from studio.engine.lazy import torch_modules
from studio.errors import RequestError

SUPPORTED_SUFFIXES = frozenset(
    {
        "alpha",
        "lora_down.weight",
        "lora_up.weight",
        "lora_mid.weight",
        "hada_w1_a",
        "hada_w1_b",
        "hada_w2_a",
        "hada_w2_b",
        "hada_t1",
        "hada_t2",
        "lokr_w1",
        "lokr_w1_a",
        "lokr_w1_b",
        "lokr_w2",
        "lokr_w2_a",
        "lokr_w2_b",
        "lokr_t2",
        "diff",
        "diff_b",
    }
)


def group_layers(state: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The file's tensors by layer name (``{layer: {suffix: tensor}}``) and the keys the studio cannot apply."""
    layers: dict[str, dict[str, Any]] = {}
    unsupported = []
    for key, tensor in state.items():
        layer, _, suffix = key.partition(".")
        if suffix in SUPPORTED_SUFFIXES:
            layers.setdefault(layer, {})[suffix] = tensor
        else:
            unsupported.append(key)
    return layers, unsupported


def _rank(factors: dict[str, Any]) -> int | None:
    for key in ("lora_down.weight", "hada_w1_b", "lokr_w2_b", "lokr_w1_b"):
        if key in factors:
            return int(factors[key].shape[0])
    return None


def layer_scale(factors: dict[str, Any]) -> float:
    """``alpha / rank`` as A1111 computes it; 1 without an alpha or a rank (or for a full diff)."""
    rank, alpha = _rank(factors), factors.get("alpha")
    if rank is None or alpha is None or "diff" in factors:
        return 1.0
    return float(alpha) / rank


def _tucker(core: Any, a: Any, b: Any) -> Any:
    """A Tucker-decomposed conv weight: ``core`` (r, r, kh, kw) between ``a`` (r, out) and ``b`` (r, in)."""
    torch = torch_modules().torch
    return torch.einsum("ijkl,jr,ip->prkl", core, b.flatten(1), a.flatten(1))


def _product(a: Any, b: Any) -> Any:
    return a.flatten(1) @ b.flatten(1)


def layer_delta(factors: dict[str, Any], shape: Sequence[int]) -> Any:
    """The weight change of one layer (float32, ``shape``), ``alpha / rank`` included."""
    torch = torch_modules().torch
    f = {k: v.float() for k, v in factors.items()}
    if "diff" in f:
        delta = f["diff"]
    elif "lora_up.weight" in f:
        up, down = f["lora_up.weight"], f["lora_down.weight"]
        if "lora_mid.weight" in f:  # up (out, r, 1, 1) · mid (r, r, kh, kw) · down (r, in, 1, 1)
            delta = _tucker(f["lora_mid.weight"], up.flatten(1).T, down)
        else:
            delta = _product(up, down)
    elif "hada_w1_a" in f:
        one = (
            _tucker(f["hada_t1"], f["hada_w1_a"], f["hada_w1_b"])
            if "hada_t1" in f
            else _product(f["hada_w1_a"], f["hada_w1_b"])
        )
        two = (
            _tucker(f["hada_t2"], f["hada_w2_a"], f["hada_w2_b"])
            if "hada_t2" in f
            else _product(f["hada_w2_a"], f["hada_w2_b"])
        )
        delta = one.reshape(shape) * two.reshape(shape)
    else:
        w1 = f["lokr_w1"] if "lokr_w1" in f else _product(f["lokr_w1_a"], f["lokr_w1_b"])
        if "lokr_w2" in f:
            w2 = f["lokr_w2"]
        elif "lokr_t2" in f:
            w2 = _tucker(f["lokr_t2"], f["lokr_w2_a"], f["lokr_w2_b"])
        else:
            w2 = _product(f["lokr_w2_a"], f["lokr_w2_b"])
        if len(shape) == 4:  # the kernel lives in w2: (out / w1 rows, in / w1 columns, kh, kw)
            w2 = w2.reshape(shape[0] // w1.shape[0], shape[1] // w1.shape[1], *shape[2:])
            w1 = w1.reshape(*w1.shape, 1, 1)
        delta = torch.kron(w1, w2)
    return delta.reshape(shape) * layer_scale(factors)


def delta_size(factors: dict[str, Any]) -> int | None:
    """How many numbers the layer's change has, from the factor shapes alone (to check a file without math)."""

    def size(*keys: str) -> int:
        total = 1
        for key in keys:
            total *= int(factors[key].shape[0])
        return total

    def cols(key: str) -> int:
        tensor_shape = factors[key].shape
        total = 1
        for dim in tensor_shape[1:]:
            total *= int(dim)
        return total

    if "diff" in factors:
        return int(factors["diff"].numel())
    if "lora_up.weight" in factors:
        if "lora_mid.weight" in factors:
            mid = factors["lora_mid.weight"].shape
            return size("lora_up.weight") * cols("lora_down.weight") * int(mid[2]) * int(mid[3])
        return size("lora_up.weight") * cols("lora_down.weight")
    if "hada_w1_a" in factors:
        if "hada_t1" in factors:
            t = factors["hada_t1"].shape
            return cols("hada_w1_a") * cols("hada_w1_b") * int(t[2]) * int(t[3])
        return size("hada_w1_a") * cols("hada_w1_b")
    parts = []
    for n in ("1", "2"):
        if f"lokr_w{n}" in factors:
            parts.append(int(factors[f"lokr_w{n}"].numel()))
        elif f"lokr_t{n}" in factors:
            t = factors[f"lokr_t{n}"].shape
            parts.append(cols(f"lokr_w{n}_a") * cols(f"lokr_w{n}_b") * int(t[2]) * int(t[3]))
        elif f"lokr_w{n}_a" in factors and f"lokr_w{n}_b" in factors:
            parts.append(size(f"lokr_w{n}_a") * cols(f"lokr_w{n}_b"))
        else:
            return None
    return parts[0] * parts[1]


def _complete(factors: dict[str, Any]) -> bool:
    if "diff" in factors:
        return True
    if "lora_up.weight" in factors or "lora_down.weight" in factors:
        return "lora_up.weight" in factors and "lora_down.weight" in factors
    if any(k.startswith("hada_") for k in factors):
        return all(f"hada_w{n}_{p}" in factors for n in "12" for p in "ab")
    return any(k.startswith("lokr_") for k in factors) and delta_size(factors) is not None


@dataclass
class Layer:
    """One adapted layer of the pipeline: its module (``component``, ``path``) and the file's factors."""

    component: str
    path: str
    factors: dict[str, Any]


def plan_layers(pipe: Any, state: dict[str, Any], file_name: str) -> list[Layer]:
    """Map a LyCORIS state dict onto ``pipe``'s layers, checking every shape before anything is changed.

    Raises ``RequestError`` for algorithms the studio does not apply (OFT, GLoRA, IA3, DoRA...), for a file whose
    layers are not in this model or whose shapes do not fit it (a LoRA made for another model).
    """
    layers, unsupported = group_layers(state)
    if unsupported:
        kinds = sorted({key.partition(".")[2] for key in unsupported})
        raise RequestError(
            f"The LoRA '{file_name}' uses LyCORIS layers the studio cannot apply ({', '.join(kinds[:4])}); it "
            "applies LoCon, LoHa, LoKr and full-difference layers. Use another version of this LoRA."
        )
    names = kohya_module_names(pipe)
    planned, unknown, misfit = [], [], []
    for layer, factors in layers.items():
        if not _complete(factors):
            unsupported.append(layer)
            continue
        target = names.get(layer)
        if target is None:
            unknown.append(layer)
            continue
        weight = _weight(pipe, *target)
        if delta_size(factors) != weight.numel():
            misfit.append(layer)
            continue
        planned.append(Layer(target[0], target[1], factors))
    if unsupported:
        raise RequestError(
            f"The LoRA '{file_name}' is damaged: {len(unsupported)} of its layers miss part of their weights "
            f"(first: {unsupported[0]}). Download it again."
        )
    if misfit or unknown or not planned:
        raise RequestError(
            f"The LoRA file '{file_name}' was made for a different model: {len(misfit) + len(unknown)} of its "
            f"{len(layers)} layers do not fit this model. Use a LoRA made for this model, or switch to the model "
            "it was made for."
        )
    return planned


def _module(pipe: Any, component: str, path: str) -> Any:
    return base_module(getattr(pipe, component).get_submodule(path))


def _weight(pipe: Any, component: str, path: str) -> Any:
    return _module(pipe, component, path).weight


def _changes(pipe: Any, layer: Layer) -> list[tuple[Any, Any]]:
    """(parameter, change at weight 1) pairs of one layer: its weight, and its bias for a full diff."""
    param = _weight(pipe, layer.component, layer.path)
    changes = [(param, layer_delta(layer.factors, tuple(param.shape)))]
    if "diff_b" in layer.factors:
        bias = _module(pipe, layer.component, layer.path).bias
        changes.append((bias, layer.factors["diff_b"].float().reshape(bias.shape)))
    return changes


@dataclass
class LycorisAdapters:
    """The LyCORIS files loaded on one pipeline, and the base weights their changes were added to."""

    files: dict[str, list[Layer]] = field(default_factory=dict)  # adapter name -> layers
    applied: tuple[tuple[str, float], ...] = ()
    # id(weight) -> (weight, CPU copy of its base value)
    saved: dict[int, tuple[Any, Any]] = field(default_factory=dict)

    def load(self, pipe: Any, path: Path, name: str, file_name: str) -> None:
        from safetensors.torch import load_file

        try:
            state = load_file(str(path), device="cpu")
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type for a damaged file
            raise RequestError(
                f"The LoRA '{file_name}' could not be read ({exc}). Download it again."
            ) from exc
        self.files[name] = plan_layers(pipe, state, file_name)

    def drop(self, names: Iterable[str]) -> None:
        for name in names:
            self.files.pop(name, None)

    def set(self, pipe: Any, active: Sequence[tuple[str, float]]) -> None:
        """Make the weights base + Σ weight · change over ``active`` (adapter, weight) pairs of loaded files."""
        torch = torch_modules().torch
        active = tuple((name, weight) for name, weight in active if name in self.files and weight != 0.0)
        if active == self.applied:
            return
        self.restore()
        totals: dict[int, tuple[Any, Any]] = {}
        for name, weight in active:
            for layer in self.files[name]:
                for param, change in _changes(pipe, layer):
                    key = id(param)
                    if key not in totals:
                        self.saved[key] = (param, param.detach().to("cpu", copy=True))
                        totals[key] = (param, self.saved[key][1].float())
                    totals[key] = (param, totals[key][1] + change * weight)
        with torch.no_grad():
            for param, total in totals.values():
                param.copy_(total.to(device=param.device, dtype=param.dtype))
        self.applied = active

    def restore(self) -> None:
        """Put every touched weight back exactly as it was before any change was added."""
        torch = torch_modules().torch
        with torch.no_grad():
            for param, copy in self.saved.values():
                param.copy_(copy)
        self.saved, self.applied = {}, ()
