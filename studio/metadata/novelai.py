"""NovelAI: PNG text chunks ``Software`` = ``NovelAI``, ``Description`` (the prompt), ``Source`` (the model) and
``Comment`` (the settings JSON); WebP carries the same keys as one JSON object in the EXIF UserComment, and both
may hide them in the alpha channel's lowest bits (stealth; see ``stealth``).

From V4 the Comment's prompt is structured: ``v4_prompt.caption.base_caption`` is the prompt and
``char_captions`` are per-character prompts placed at ``centers`` (the studio has no regional prompts: they
are reported); ``v4_negative_prompt`` likewise. ``noise_schedule`` is the sampler's schedule.
"""

from __future__ import annotations

from typing import Any

from studio.metadata.field_mapper import FieldMapper, Found, json_object

_SCHEDULES = {"native": "", "karras": "karras", "exponential": "exponential"}
# Facts about the request, not settings the artist chose: kept, not listed as lost.
_QUIET = ("signed_hash", "request_type", "n_samples", "version", "legacy", "legacy_v3_extend")


def novelai_settings(raw: dict[str, str], notes: list[str]) -> Found | None:
    comment = json_object(raw.get("Comment", ""))
    if comment is None and raw.get("Software") != "NovelAI":
        return None
    comment = comment or {}
    if raw.get("Software") != "NovelAI" and not {"uc", "scale", "steps"} <= comment.keys():
        return None
    mapped = FieldMapper(comment)
    base, characters = _caption(comment.get("v4_prompt"))
    negative, negative_characters = _caption(comment.get("v4_negative_prompt"))
    mapped.used.update({"v4_prompt", "v4_negative_prompt", "prompt", "uc", "noise_schedule", "sampler"})
    mapped.fields["prompt"] = base or raw.get("Description", "") or _text(comment.get("prompt"))
    mapped.fields["negative_prompt"] = negative or _text(comment.get("uc"))
    mapped.number("steps", "steps", int)
    mapped.number("scale", "cfg_scale", float)
    mapped.number("seed", "seed", int)
    mapped.number("width", "width", int)
    mapped.number("height", "height", int)
    sampler, schedule = comment.get("sampler"), comment.get("noise_schedule")
    if isinstance(sampler, str):
        scheduler = _SCHEDULES.get(str(schedule or "native"))
        probe = FieldMapper({"s": sampler, "k": scheduler or ""})
        probe.sampler("s", "k")
        if scheduler is not None and "sampler" in probe.fields:
            mapped.fields["sampler"] = probe.fields["sampler"]
            mapped.unmapped += [note.replace("s: ", "sampler: ", 1) for note in probe.unmapped]
        else:
            mapped.unmapped.append(f"sampler: {sampler} / {schedule} (the studio has no matching sampler)")
    for index, (text, where) in enumerate(characters, 1):
        mapped.unmapped.append(
            f"Character prompt {index}{where}: {text} (the studio has no regional prompts)"
        )
    for index, (text, _where) in enumerate(negative_characters, 1):
        mapped.unmapped.append(f"Character negative prompt {index}: {text}")
    for key in _QUIET:
        if key in comment:
            mapped.used.add(key)
            mapped.quiet[key] = comment[key]
    if raw.get("Source"):
        mapped.fields["model"] = raw["Source"]
    return mapped.finish("novelai")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _caption(value: Any) -> tuple[str, list[tuple[str, str]]]:
    """(base caption, [(character caption, " at x, y"), ...]) of a V4 prompt object."""
    if not isinstance(value, dict) or not isinstance(value.get("caption"), dict):
        return "", []
    caption = value["caption"]
    characters = []
    for entry in caption.get("char_captions") or []:
        if not isinstance(entry, dict) or not _text(entry.get("char_caption")).strip():
            continue
        centers = entry.get("centers") or []
        where = ""
        if centers and isinstance(centers[0], dict):
            where = f" (at {centers[0].get('x')}, {centers[0].get('y')})"
        characters.append((entry["char_caption"].strip(), where))
    return _text(caption.get("base_caption")), characters
