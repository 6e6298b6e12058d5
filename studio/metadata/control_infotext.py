"""ControlNet and inpainting settings in A1111 infotext, as A1111 and its ControlNet extension write them.

    ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1.0, Threshold A: 100,
    Threshold B: 200, Guidance Start: 0.0, Guidance End: 1.0, ..."
    Mask blur: 4, Inpaint area: Only masked, Masked area padding: 32

A1111 writes "Inpaint area" and "Masked area padding" only for "only masked" (whole picture is its default). The
control image and the mask are not in the text: reading reports them as not restored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from studio.request import ControlInput, GenerationRequest

# our pre-processor -> the A1111 ControlNet extension's module name
MODULES = {
    "none": "none",
    "invert": "invert",
    "canny": "canny",
    "pose": "none",  # a rendered pose map goes in as a ready image
    "depth": "depth_midas",
    "softedge": "softedge_hed",
    "softedge_pidinet": "softedge_pidinet",
    "lineart_model": "lineart_realistic",
    "normal": "normal_bae",
    "openpose_detect": "openpose_full",
}
_TYPES = ("scribble", "lineart", "canny", "openpose", "depth", "softedge", "normal", "seg", "tile", "mlsd")
_CONTROL_KEY = re.compile(r"^ControlNet \d+$")
_HASH_SUFFIX = re.compile(r"\s*\[[0-9a-fA-F]{6,}\]\s*$")
ONLY_MASKED = "Only masked"


def _module(control: ControlInput) -> str:
    from studio.models.annotators import resolve_preprocessor  # pure Python: no torch, no Qt

    return MODULES.get(resolve_preprocessor(control), "none")


def _model_name(reference: str) -> str:
    path = Path(reference)
    if path.suffix.lower() == ".safetensors":
        return path.stem
    return path.name or reference


def control_params(request: GenerationRequest) -> dict[str, Any]:
    """The infotext keys of ``request``'s ControlNets and inpainting, in A1111's order and spelling."""
    params: dict[str, Any] = {}
    for index, control in enumerate(request.active_controls):
        fields = {
            "Module": _module(control),
            "Model": _model_name(control.model),
            "Weight": control.scale,
            "Guidance Start": control.start,
            "Guidance End": control.end,
        }
        if control.params.get("low_threshold") is not None:
            fields["Threshold A"] = control.params["low_threshold"]
        if control.params.get("high_threshold") is not None:
            fields["Threshold B"] = control.params["high_threshold"]
        params[f"ControlNet {index}"] = ", ".join(f"{key}: {value}" for key, value in fields.items())
    if request.mask is not None:
        params["Mask blur"] = request.mask_blur
        if request.inpaint_area == "masked":
            params["Inpaint area"] = ONLY_MASKED
            params["Masked area padding"] = request.inpaint_padding
    return params


def read_control_params(rest: dict[str, str], fields: dict[str, Any], unmapped: list[str]) -> None:
    """Take the ControlNet and inpainting keys out of ``rest`` into request ``fields``; note what is lost."""
    controls = []
    for key in sorted((k for k in rest if _CONTROL_KEY.match(k)), key=lambda k: int(k.split()[1])):
        control = _control_from_text(rest.pop(key))
        if control is None:
            unmapped.append(f"{key} (not readable)")
            continue
        controls.append(control)
        unmapped.append(f"{key}: the control image is not stored in A1111 settings; choose it again")
    if controls:
        fields["controls"] = tuple(controls)
    try:
        if "Mask blur" in rest:
            fields["mask_blur"] = int(float(rest.pop("Mask blur")))
            unmapped.append("Mask blur: the inpainting mask is not stored in the settings; paint it again")
        if "Inpaint area" in rest:
            area = rest.pop("Inpaint area").strip()
            fields["inpaint_area"] = "masked" if area == ONLY_MASKED else "whole"
        if "Masked area padding" in rest:
            fields["inpaint_padding"] = int(float(rest.pop("Masked area padding")))
    except ValueError:
        unmapped.append("Inpainting settings (not usable values)")


def _control_from_text(text: str) -> ControlInput | None:
    values = _pairs(text)
    model = _HASH_SUFFIX.sub("", values.get("Model", "")).strip()
    if not model or model.lower() == "none":
        return None
    module = values.get("Module", "none").strip()
    if module.startswith("invert"):
        module = "invert"  # A1111 names it "invert (from white bg & black line)"
    try:
        scale = float(values.get("Weight", 1.0))
        start = float(values.get("Guidance Start", 0.0))
        end = float(values.get("Guidance End", 1.0))
        params = {}
        if module == "canny":
            for ours, theirs in (("low_threshold", "Threshold A"), ("high_threshold", "Threshold B")):
                if theirs in values:
                    params[ours] = int(float(values[theirs]))
    except ValueError:
        return None
    preprocessor = next(
        (ours for ours, theirs in MODULES.items() if theirs == module and ours != "pose"), None
    )
    return ControlInput(
        type=_control_type(model, module),
        image="",
        model=model,
        scale=scale,
        start=start,
        end=end,
        preprocessor=preprocessor or "auto",
        params=params,
    )


def _control_type(model: str, module: str) -> str:
    lowered = f"{model} {module}".lower()
    if "pose" in lowered:
        return "openpose"
    return next((kind for kind in _TYPES if kind in lowered), "other")


def _pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition(":")
        if sep:
            pairs[key.strip()] = value.strip()
    return pairs
