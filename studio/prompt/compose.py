"""Building the exact text sent to the model. (First version: presets not applied yet.)"""

from __future__ import annotations

from studio.request import GenerationRequest


def compose(request: GenerationRequest) -> tuple[str, str]:
    """Return ``(final_prompt, final_negative)`` for ``request``; pure."""
    return request.prompt.strip(), request.negative_prompt.strip()
