"""A1111 sampler names (``studio.models.samplers``) as ComfyUI's sampler + scheduler pair."""

from __future__ import annotations

from studio.errors import RequestError

# name without its schedule -> ComfyUI sampler; the schedule type is "normal" unless the name ends in Karras.
_SAMPLERS: dict[str, str] = {
    "DPM++ 2M": "dpmpp_2m",
    "DPM++ 2M SDE": "dpmpp_2m_sde",
    "DPM++ 3M SDE": "dpmpp_3m_sde",
    "DPM++ SDE": "dpmpp_sde",
    "DPM2": "dpm_2",
    "DPM2 a": "dpm_2_ancestral",
    "Euler": "euler",
    "Euler a": "euler_ancestral",
    "Heun": "heun",
    "LMS": "lms",
    "DDIM": "ddim",
    "UniPC": "uni_pc",
}
_KARRAS_TOO = {"DPM++ 2M", "DPM++ 2M SDE", "DPM++ 3M SDE", "DPM++ SDE", "DPM2", "DPM2 a", "LMS"}
# DDIM's own schedule spaces the steps as A1111's DDIM does.
_SCHEDULES = {"DDIM": "ddim_uniform"}

A1111_TO_COMFY: dict[str, tuple[str, str]] = {}
for _name, _sampler in _SAMPLERS.items():
    A1111_TO_COMFY[_name] = (_sampler, _SCHEDULES.get(_name, "normal"))
    if _name in _KARRAS_TOO:
        A1111_TO_COMFY[f"{_name} Karras"] = (_sampler, "karras")


def comfy_sampler(name: str, available: tuple[str, ...] | None = None) -> tuple[str, str]:
    """ComfyUI's (sampler, scheduler) for the A1111 sampler ``name``; ``available`` are the server's samplers."""
    pair = A1111_TO_COMFY.get(name)
    if pair is None:
        usable = ", ".join(server_samplers(available))
        raise RequestError(
            f"The sampler '{name}' has no counterpart on a ComfyUI server. Choose one of: {usable}."
        )
    if available is not None and pair[0] not in available:
        raise RequestError(
            f"This ComfyUI server has no '{pair[0]}' sampler for '{name}'; choose another sampler."
        )
    return pair


def server_samplers(available: tuple[str, ...] | None) -> tuple[str, ...]:
    """The A1111 names a server with the ComfyUI samplers ``available`` can run (all when not known)."""
    return tuple(name for name, pair in A1111_TO_COMFY.items() if available is None or pair[0] in available)
