"""Other tools' sampler names turned into the A1111 names the studio uses ("DPM++ 2M Karras").

ComfyUI and Fooocus say ``dpmpp_2m`` plus a scheduler ``karras``; early ComfyUI ``sample_dpmpp_2m``; InvokeAI
2.x and NovelAI ``k_dpmpp_2m`` / ``k_euler_ancestral``; InvokeAI 3.x ``dpmpp_2m_k`` (``_k`` = Karras). A name
with no A1111 counterpart maps to ``None`` so the caller reports it instead of guessing.
"""

from __future__ import annotations

_BASE_NAMES = {
    "euler": "Euler",
    "euler_a": "Euler a",
    "euler_ancestral": "Euler a",
    "heun": "Heun",
    "dpm_2": "DPM2",
    "kdpm_2": "DPM2",
    "dpm_2_a": "DPM2 a",
    "kdpm_2_a": "DPM2 a",
    "dpm_2_ancestral": "DPM2 a",
    "lms": "LMS",
    "dpm_fast": "DPM fast",
    "dpm_adaptive": "DPM adaptive",
    "dpmpp_2s_a": "DPM++ 2S a",
    "dpmpp_2s_ancestral": "DPM++ 2S a",
    "dpmpp_2_a": "DPM++ 2S a",  # InvokeAI 2.x
    "dpmpp_2": "DPM++ 2M",  # InvokeAI 2.x
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_sde": "DPM++ SDE",
    "dpmpp_2m_sde": "DPM++ 2M SDE",
    "dpmpp_2m_sde_heun": "DPM++ 2M SDE Heun",
    "dpmpp_3m_sde": "DPM++ 3M SDE",
    "ddim": "DDIM",
    "plms": "PLMS",
    "pndm": "PLMS",
    "uni_pc": "UniPC",
    "unipc": "UniPC",
    "lcm": "LCM",
    "tcd": "TCD",
}

# ComfyUI/Fooocus scheduler names -> the A1111 suffix. "normal" is the model's own schedule (no suffix).
_SCHEDULER_SUFFIX = {
    "": "",
    "normal": "",
    "karras": " Karras",
    "exponential": " Exponential",
    "sgm_uniform": " SGM Uniform",
    "trailing": " SGM Uniform",  # diffusers' name for the same spacing
}

# A1111 1.9+: "Schedule type: Automatic" means the sampler's own default, which for these is not uniform.
AUTOMATIC_SCHEDULE = {
    "DPM++ 2M": "Karras",
    "DPM++ SDE": "Karras",
    "DPM++ 2S a": "Karras",
    "DPM++ 2M SDE": "Exponential",
    "DPM++ 2M SDE Heun": "Exponential",
    "DPM++ 3M SDE": "Exponential",
}

SCHEDULE_SUFFIXES = ("Karras", "Exponential", "SGM Uniform")

# Samplers that bring their own timesteps: the studio runs them one way, whatever schedule a file names with them
# (ComfyUI workflows pair "lcm" with "sgm_uniform" or "simple").
OWN_SCHEDULE = ("LCM", "TCD")


def foreign_sampler_name(sampler: str, scheduler: str = "") -> str | None:
    """The A1111 name for another tool's ``sampler`` (+ ``scheduler``), or ``None`` when there is none."""
    name = sampler.strip().lower()
    for prefix in ("sample_", "k_"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    if name.endswith("_gpu"):
        name = name[: -len("_gpu")]
    karras = False
    for suffix in ("_karras", "_ka", "_k"):
        if name.endswith(suffix) and name[: -len(suffix)] in _BASE_NAMES:
            name, karras = name[: -len(suffix)], True
            break
    base = _BASE_NAMES.get(name)
    schedule = scheduler.strip().lower()
    if base in OWN_SCHEDULE and not karras:
        return base
    if base is None or schedule not in _SCHEDULER_SUFFIX:
        return None
    if karras:
        return f"{base} Karras" if schedule in ("", "normal", "karras") else None
    return base + _SCHEDULER_SUFFIX[schedule]


def split_schedule(sampler: str) -> tuple[str, str | None]:
    """``"DPM++ 2M Karras"`` -> ``("DPM++ 2M", "Karras")``; ``"Euler a"`` -> ``("Euler a", None)``."""
    for suffix in SCHEDULE_SUFFIXES:
        if sampler.endswith(" " + suffix):
            return sampler[: -len(suffix) - 1], suffix
    return sampler, None
