"""Stability Matrix (Inference): a ``parameters-json`` text beside its A1111 ``parameters`` text.

Its PNG writer (``PngDataHelpers``) puts both before the image data, plus ``smproj`` (the project) and a
ComfyUI ``prompt`` graph. The JSON is its ``GenerationParameters`` record with C# property names
(``PositivePrompt``, ``NegativePrompt``, ``Steps``, ``Sampler``, ``Scheduler``, ``CfgScale``, ``Seed``,
``Width``, ``Height``, ``ModelName``, ``ModelHash``): read it first, as it needs no text parsing.
"""

from __future__ import annotations

from collections.abc import Mapping

from studio.metadata.field_mapper import FieldMapper, Found, json_object

STABILITY_MATRIX_KEY = "parameters-json"


def stability_matrix_settings(raw: Mapping[str, str]) -> Found | None:
    data = json_object(raw.get(STABILITY_MATRIX_KEY, ""))
    if data is None:
        return None
    mapped = FieldMapper(data)
    mapped.text("PositivePrompt", "prompt")
    mapped.text("NegativePrompt", "negative_prompt")
    mapped.number("Steps", "steps", int)
    mapped.number("CfgScale", "cfg_scale", float)
    mapped.number("Seed", "seed", int)
    mapped.number("Width", "width", int)
    mapped.number("Height", "height", int)
    mapped.text("ModelName", "model")
    mapped.used.add("ModelHash")
    mapped.model_hash(data.get("ModelHash"))
    sampler, scheduler = data.get("Sampler"), data.get("Scheduler")
    mapped.used.update({"Sampler", "Scheduler"})
    if isinstance(sampler, str) and sampler:
        # Stability Matrix writes ComfyUI's sampler names (``dpmpp_2m``) and, in the A1111 text, A1111's.
        probe = FieldMapper({"s": sampler, "k": scheduler if isinstance(scheduler, str) else ""})
        probe.sampler("s", "k")
        if "sampler" in probe.fields:
            mapped.fields["sampler"] = probe.fields["sampler"]
            mapped.unmapped += [note.replace("s: ", "Sampler: ", 1) for note in probe.unmapped]
        else:
            mapped.unmapped.append(f"Sampler: {sampler} / {scheduler} (the studio has no matching sampler)")
    return mapped.finish("stability-matrix")
