"""ComfyUI's WebSocket messages for one running graph as the studio's step previews and its end.

``progress`` messages say the step of a sampler node; the binary preview frame of that step follows. A step
whose frame never comes (previews off on the server) is still reported, with the last picture (or a grey one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.backend.comfyui.answers import MAX_PREVIEW_BYTES, picture
from studio.backend.comfyui.errors import ServerError
from studio.results import StepPreview


@dataclass
class PromptEnd:
    """How a graph ended: ``"success"``, ``"interrupted"`` or ``"error"`` (with the artist's ``message``)."""

    kind: str
    message: str = ""


def error_message(data: Any, width: int, height: int, where: str) -> str:
    """An ``execution_error`` in the artist's words; out-of-memory gets its own advice."""
    if not isinstance(data, dict):
        return f"The ComfyUI server '{where}' reported an error."
    text = str(data.get("exception_message", ""))[:400].strip()
    kind = str(data.get("exception_type", ""))[:80]
    node = str(data.get("node_type", ""))[:60]
    if "OutOfMemory" in kind or "out of memory" in text.lower():
        return (
            f"The ComfyUI server '{where}' ran out of memory making a {width}×{height} image. Lower the size, "
            "use fewer ControlNets, or free the server's GPU, then retry (the job is kept as failed)."
        )
    where_node = f" in its {node} node" if node else ""
    return f"The ComfyUI server '{where}' failed{where_node}: {text or kind or 'no reason given'}."


class ProgressTracker:
    """Turns one graph's messages into ``StepPreview``s; ``offsets`` maps a sampler node to (steps before it,
    pass name)."""

    def __init__(
        self,
        offsets: dict[str, tuple[int, str]],
        total: int,
        image_index: int,
        latent_size: tuple[int, int] | None = None,
    ) -> None:
        self.offsets = offsets
        self.latent_size = latent_size
        self.total = total
        self.image_index = image_index
        self._pending: tuple[int, str] | None = None  # a step whose preview frame has not come yet
        self._last_image: Any = None

    def _preview(self, image: Any) -> StepPreview:
        assert self._pending is not None
        step, pass_name = self._pending
        self._pending = None
        return StepPreview(step, self.total, image, pass_name, self.image_index)

    def _stand_in(self) -> Any:
        import numpy as np

        return self._last_image if self._last_image is not None else np.full((8, 8, 3), 128, np.uint8)

    def on_progress(self, data: dict[str, Any]) -> list[StepPreview]:
        """A ``progress`` message: the step before it, if its frame never came, is reported now."""
        out = [self._preview(self._stand_in())] if self._pending is not None else []
        node = str(data.get("node", ""))
        value = data.get("value")
        if node in self.offsets and isinstance(value, int) and not isinstance(value, bool):
            before, pass_name = self.offsets[node]
            self._pending = (min(before + max(value, 0), self.total), pass_name)
        return out

    def on_frame(self, data: bytes) -> list[StepPreview]:
        """A preview frame: the picture of the pending step (frames of other nodes are ignored)."""
        if self._pending is None:
            return []
        import numpy as np

        try:
            shown = picture(data, "a preview", MAX_PREVIEW_BYTES)
            if self.latent_size and (shown.width > self.latent_size[0] or shown.height > self.latent_size[1]):
                # Previews are latent-size pictures, as the local engine's (ComfyUI enlarges them to 512 px).
                shown = shown.resize(self.latent_size)
            image = np.asarray(shown)
        except ServerError:
            return [self._preview(self._stand_in())]  # a broken frame loses the picture, not the step
        self._last_image = image
        return [self._preview(image)]

    def flush(self) -> list[StepPreview]:
        return [self._preview(self._stand_in())] if self._pending is not None else []


def prompt_end(message: dict[str, Any], prompt_id: str) -> PromptEnd | None:
    """The end of ``prompt_id`` that ``message`` announces, or None."""
    data = message.get("data")
    if not isinstance(data, dict) or data.get("prompt_id") != prompt_id:
        return None
    kind = message.get("type")
    if kind == "execution_success":
        return PromptEnd("success")
    if kind == "execution_interrupted":
        return PromptEnd("interrupted")
    if kind == "execution_error":
        return PromptEnd("error")
    if kind == "executing" and data.get("node") is None:  # older servers end a run this way
        return PromptEnd("success")
    return None
