"""A1111 prompt syntax in ComfyUI's words: weights as ``(text:1.21)``, escapes kept, one text per BREAK chunk
(the graph joins them with ``ConditioningConcat``, as A1111 joins chunks), LoRA tags taken out (LoraLoader)."""

from __future__ import annotations

from studio.prompt.a1111_syntax import ParsedPrompt, PromptSegment

WEIGHT_NOTE = (
    "ComfyUI weighs emphasised words its own way (towards an empty prompt, without A1111's rescaling), so "
    "strongly weighted words may come out a little differently than on this computer."
)


def _escape(text: str) -> str:
    # ComfyUI reads "(" and ")" as weighting and "\(" "\)" as the literal brackets; square brackets are plain text.
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def segment_text(segment: PromptSegment) -> str:
    text = _escape(segment.text)
    if abs(segment.weight - 1.0) < 1e-9:
        return text
    return f"({text}:{round(segment.weight, 4):g})"


def comfy_texts(parsed: ParsedPrompt) -> tuple[list[str], list[str]]:
    """One ComfyUI text per BREAK chunk (at least one), and notes on what ComfyUI reads differently."""
    texts = ["".join(segment_text(segment) for segment in chunk) for chunk in parsed.chunks()]
    weighted = any(abs(segment.weight - 1.0) > 1e-9 for segment in parsed.segments)
    return texts or [""], [WEIGHT_NOTE] if weighted else []
