"""Textual-inversion embeddings on a loaded pipeline: new tokens whose vectors are the file's.

Each embedding used by a prompt is added once per loaded model as tokens ``tiemb_name``, ``tiemb_name_1``, ...
(one per vector) to the tokenizer(s) and text encoder(s) (diffusers' ``load_textual_inversion``; SDXL files
carry ``clip_l`` for the first encoder and ``clip_g`` for the second), and the prompt text sent to the encoder
has the name replaced by those tokens. The prompt the artist typed (and the metadata) keeps the name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from studio.engine.lazy import torch_modules
from studio.engine.validation import FAMILY_NAMES
from studio.errors import RequestError
from studio.models.embedding_library import EmbeddingEntry, scan_embeddings, used_embeddings
from studio.prompt.a1111_syntax import ParsedPrompt, parse_prompt


def _tokens(entry: EmbeddingEntry) -> list[str]:
    # Letters, digits and '_' only: brackets, colons and '<…:…>' mean something to the prompt parsers.
    base = "tiemb_" + re.sub(r"\W", "_", entry.name.lower())
    return [base] + [f"{base}_{i}" for i in range(1, max(1, entry.vectors))]


class EmbeddingState:
    """The embeddings added to one pipeline (reset when the model is loaded again)."""

    def __init__(self) -> None:
        self.loaded: dict[str, str] = {}  # name -> file path

    def apply(
        self,
        pipe: Any,
        texts: Sequence[str],
        entries: Sequence[EmbeddingEntry],
        family: str,
        notices: list[str],
    ) -> tuple[list[str], list[EmbeddingEntry]]:
        """``texts`` with every embedding name replaced by its tokens, and the embeddings used."""
        family = family.split("-", 1)[0]
        used: dict[str, EmbeddingEntry] = {}
        out = []
        for text in texts:
            for entry, spellings in used_embeddings(text, entries):
                if entry.problem is not None or entry.family != family:
                    reason = entry.problem or (
                        f"it was made for {FAMILY_NAMES.get(entry.family or '', entry.family)} models, not "
                        f"{FAMILY_NAMES.get(family, family)}"
                    )
                    notices.append(f"The embedding '{entry.name}' was not used: {reason}")
                    continue
                self._load(pipe, entry)
                used[entry.name] = entry
                tokens = " ".join(_tokens(entry))
                for spelling in spellings:
                    text = re.sub(rf"(?<![\w:]){re.escape(spelling)}(?!\w)", tokens, text)
            out.append(text)
        return out, list(used.values())

    def encoder_prompts(
        self, pipe: Any, prompt: str, negative: str, roots: Sequence[str], family: str, notices: list[str]
    ) -> tuple[ParsedPrompt, ParsedPrompt, list[EmbeddingEntry]] | None:
        """The prompts as the text encoders read them when they use embeddings (None when they use none)."""
        entries = scan_embeddings(roots)
        if not entries:
            return None
        (prompt, negative), used = self.apply(pipe, [prompt, negative], entries, family, notices)
        if not used:
            return None
        return parse_prompt(prompt), parse_prompt(negative), used

    def _load(self, pipe: Any, entry: EmbeddingEntry) -> None:
        if self.loaded.get(entry.name) == str(entry.path):
            return
        from safetensors.torch import load_file

        torch = torch_modules().torch
        state = load_file(str(entry.path), device="cpu")
        pairs = [("clip_l", pipe.tokenizer, pipe.text_encoder)]
        if entry.family == "sdxl":
            pairs.append(("clip_g", pipe.tokenizer_2, pipe.text_encoder_2))
        else:
            pairs = [("emb_params", pipe.tokenizer, pipe.text_encoder)]
        for key, tokenizer, encoder in pairs:
            vectors = state[key].to(encoder.dtype)
            if vectors.shape[-1] != encoder.get_input_embeddings().weight.shape[-1]:
                raise RequestError(
                    f"The embedding '{entry.name}' does not fit this model's text encoder "
                    f"({vectors.shape[-1]} wide, the encoder is {encoder.get_input_embeddings().weight.shape[-1]})."
                )
            with torch.no_grad():
                pipe.load_textual_inversion(
                    list(vectors), token=_tokens(entry), text_encoder=encoder, tokenizer=tokenizer
                )
        self.loaded[entry.name] = str(entry.path)
