"""Prompt editing while sampling: the embeddings of each step's prompt, switched in the step callback.

``studio.prompt.prompt_editing`` turns ``[cat:dog:0.5]`` into a schedule of plain prompts. Each distinct text is
encoded once (A1111 weighting and chunking, as every prompt), all padded to the same chunk count with the empty
prompt's encoding, and the pipeline starts with step 0's. diffusers' ``callback_on_step_end`` may hand back
``prompt_embeds`` (and SDXL's pooled ``add_text_embeds``): inside the loop these are the negative rows followed
by the positive rows when CFG is on (only the positive ones when it is off), so the callback at the end of step
``i`` rebuilds them for step ``i + 1`` in that layout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from studio.engine.lazy import torch_modules
from studio.engine.prompt_embeds import _pad_to, encode_parsed
from studio.prompt.a1111_syntax import ParsedPrompt, parse_prompt
from studio.prompt.prompt_editing import has_edits, prompt_schedule, text_at


class PromptEdits:
    """The prompt and negative prompt of one run, when either uses prompt editing or alternation."""

    def __init__(self, pipe: Any, prompt: str, negative: str, clip_skip: int = 1) -> None:
        self.pipe, self.clip_skip = pipe, clip_skip
        self.prompt, self.negative = prompt, negative
        self.sdxl = getattr(pipe, "text_encoder_2", None) is not None
        self._encoded: dict[str, tuple[Any, Any, int]] = {}

    @classmethod
    def build(
        cls, pipe: Any, parsed: ParsedPrompt, negative: ParsedPrompt, clip_skip: int = 1
    ) -> PromptEdits | None:
        """None when neither prompt edits anything (then the run's plain embeddings are used)."""
        if not (has_edits(parsed.clean_text) or has_edits(negative.clean_text)):
            return None
        return cls(pipe, parsed.clean_text, negative.clean_text, clip_skip)

    def _encode(self, text: str, label: str) -> tuple[Any, Any, int]:
        if text not in self._encoded:
            torch = torch_modules().torch
            with torch.no_grad():
                self._encoded[text] = encode_parsed(self.pipe, parse_prompt(text), label, self.clip_skip)
        return self._encoded[text]

    def call_args(self, steps: int, reporter: Callable[..., dict]) -> dict[str, Any]:
        """Pipeline arguments for a pass of ``steps`` callbacks: step 0's embeddings and the switching callback."""
        positive = prompt_schedule(self.prompt, steps)
        negative = prompt_schedule(self.negative, steps)
        for _, text in positive:
            self._encode(text, "prompt")
        for _, text in negative:
            self._encode(text, "negative prompt")
        chunks = max(chunk for _, _, chunk in self._encoded.values())
        empty = self._encode("", "prompt")[0]
        dtype = (self.pipe.text_encoder_2 if self.sdxl else self.pipe.text_encoder).dtype

        def embeds(text: str) -> tuple[Any, Any]:
            states, pooled, _ = self._encoded[text]
            return _pad_to(states, chunks, empty).to(dtype), None if pooled is None else pooled.to(dtype)

        def for_step(step: int) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
            return embeds(text_at(positive, step)), embeds(text_at(negative, step))

        (states, pooled), (negative_states, negative_pooled) = for_step(0)
        args: dict[str, Any] = {"prompt_embeds": states, "negative_prompt_embeds": negative_states}
        if self.sdxl:
            args["pooled_prompt_embeds"] = pooled
            args["negative_pooled_prompt_embeds"] = negative_pooled
        inputs = ["latents", "prompt_embeds", *(["add_text_embeds"] if self.sdxl else [])]

        def switch(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            out = dict(reporter(pipe, index, timestep, tensors))
            if index + 1 >= steps or text_pair(index + 1) == text_pair(index):
                return out
            (states, pooled), (negative_states, negative_pooled) = for_step(index + 1)
            cfg = bool(getattr(pipe, "do_classifier_free_guidance", True))
            out["prompt_embeds"] = _rows(tensors["prompt_embeds"], negative_states, states, cfg)
            if self.sdxl:
                out["add_text_embeds"] = _rows(tensors["add_text_embeds"], negative_pooled, pooled, cfg)
            return out

        def text_pair(step: int) -> tuple[str, str]:
            return text_at(positive, step), text_at(negative, step)

        return {**args, "callback_on_step_end": switch, "callback_on_step_end_tensor_inputs": inputs}


def _rows(current: Any, negative: Any, positive: Any, cfg: bool) -> Any:
    """``current``'s layout (negative rows then positive rows with CFG, else positive rows) with new embeddings."""
    torch = torch_modules().torch
    rows = current.shape[0]
    positive = positive.to(current.device, current.dtype)
    negative = negative.to(current.device, current.dtype)
    if cfg:
        half = rows // 2
        return torch.cat(
            [negative.expand(half, *negative.shape[1:]), positive.expand(half, *positive.shape[1:])]
        )
    return positive.expand(rows, *positive.shape[1:])
