"""Prompt text → text-encoder embeddings, the way AUTOMATIC1111 makes them.

A1111 (modules/sd_hijack_clip.py) reads attention weights, then fills 75-token chunks: each chunk is
``BOS + 75 tokens + EOS``, short chunks padded with EOS (the second SDXL encoder pads with its own pad token
after the first EOS), BREAK starts a new chunk, and a chunk that fills up moves the words after its last comma
(within 20 tokens) into the next one. Every chunk is encoded alone; its hidden states are multiplied by the
token weights and then rescaled so their mean is what it was ("Original" emphasis); the chunks are concatenated.
SDXL does this for both encoders (penultimate hidden states, side by side); the pooled embedding is the second
encoder's for the first chunk. When the prompt and negative differ in chunk count the shorter one is padded with
the encoding of the empty prompt (A1111's ``pad_cond_uncond``), since diffusers needs equal lengths.

For a plain prompt (one chunk, no weights) every step is the identity, so the result equals diffusers' own
``encode_prompt`` exactly (an empty negative is the encoded empty prompt in both, as in A1111; diffusers' SDXL
zeros only a negative that is None, which the studio never passes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.engine.lazy import torch_modules
from studio.engine.validation import check_prompt_chunks
from studio.errors import RequestError
from studio.prompt.a1111_syntax import ParsedPrompt, parse_prompt

COMMA_BACKTRACK = 20  # A1111's default "comma_padding_backtrack"


@dataclass
class Chunk:
    """One encoder window: ``tokens`` and ``multipliers`` both BOS + 75 + EOS long."""

    tokens: list[int] = field(default_factory=list)
    multipliers: list[float] = field(default_factory=list)


def tokenize_chunks(tokenizer: Any, parsed: ParsedPrompt, window: int = 77) -> list[Chunk]:
    """A1111's ``tokenize_line``: the weighted segments of ``parsed`` as full chunks of ``window`` tokens.

    ``window`` is the encoder's position count (77 for every SD text encoder); a tokenizer saved without a
    ``model_max_length`` reports a huge one, so the smaller of the two is used.
    """
    length = min(window, tokenizer.model_max_length) - 2
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    comma = tokenizer.get_vocab().get(",</w>")
    pairs = parsed.a1111_pairs()
    texts = [text for text, _ in pairs]
    token_lists = tokenizer(texts, truncation=False, add_special_tokens=False).input_ids if texts else []
    chunks: list[Chunk] = []
    chunk = Chunk()
    last_comma = -1

    def next_chunk() -> None:
        nonlocal chunk, last_comma
        padding = length - len(chunk.tokens)
        chunk.tokens = [bos, *chunk.tokens, *[eos] * padding, eos]
        chunk.multipliers = [1.0, *chunk.multipliers, *[1.0] * padding, 1.0]
        chunks.append(chunk)
        chunk = Chunk()
        last_comma = -1

    for tokens, (text, weight) in zip(token_lists, pairs, strict=True):
        if text == "BREAK" and weight == -1.0:
            next_chunk()
            continue
        for token in tokens:
            if token == comma:
                last_comma = len(chunk.tokens)
            elif len(chunk.tokens) == length and last_comma != -1 and length - last_comma <= COMMA_BACKTRACK:
                cut = last_comma + 1
                moved = chunk.tokens[cut:], chunk.multipliers[cut:]
                chunk.tokens, chunk.multipliers = chunk.tokens[:cut], chunk.multipliers[:cut]
                next_chunk()
                chunk.tokens, chunk.multipliers = list(moved[0]), list(moved[1])
            if len(chunk.tokens) == length:
                next_chunk()
            chunk.tokens.append(token)
            chunk.multipliers.append(weight)
    if chunk.tokens or not chunks:
        next_chunk()
    return chunks


def _layer(encoder, penultimate: bool, clip_skip: int) -> int:
    """How many layers from the end the hidden states are taken (1: the last layer's output).

    A1111's "Clip skip" N on SD 1.x: the output of the N-th layer from the end, through the final layer norm (as
    A1111 and diffusers both do). SDXL reads the penultimate layer anyway, so clip skip 1 and 2 both mean that
    one, as in A1111 (which ignores clip skip on SDXL) and ComfyUI; a larger N goes N layers back on both encoders.
    """
    layer = max(2, clip_skip) if penultimate else clip_skip
    layers = encoder.config.num_hidden_layers
    if layer > layers:
        raise RequestError(
            f"Clip skip {clip_skip} skips more layers than this model's text encoder has ({layers}). "
            f"Choose a clip skip from 1 to {layers}."
        )
    return layer


def _encode_chunks(
    tokenizer, encoder, chunks: list[Chunk], penultimate: bool, clip_skip: int = 1
) -> tuple[Any, Any]:
    """Hidden states of every chunk (weighted, mean restored) concatenated; pooled output of the first."""
    torch = torch_modules().torch
    device = encoder.device
    pad = tokenizer.pad_token_id
    eos = tokenizer.eos_token_id
    states, pooled = [], None
    layer = _layer(encoder, penultimate, clip_skip)
    for chunk in chunks:
        ids = list(chunk.tokens)
        if pad != eos:  # SDXL's second encoder: everything after the first EOS is its pad token
            first_end = ids.index(eos)
            ids[first_end + 1 :] = [pad] * (len(ids) - first_end - 1)
        output = encoder(torch.tensor([ids], device=device), output_hidden_states=layer > 1)
        z = output.hidden_states[-layer] if layer > 1 else output[0]
        if layer > 1 and not penultimate:  # SD 1.x clip skip: the skipped-to layer through the final norm
            z = getattr(encoder, "text_model", encoder).final_layer_norm(z)
        if pooled is None and penultimate:
            pooled = output[0]
        if any(m != 1.0 for m in chunk.multipliers):
            weights = torch.tensor(chunk.multipliers, device=z.device, dtype=z.dtype)  # offloaded: not `device`
            original_mean = z.mean()
            z = z * weights.reshape(1, -1, 1).expand(z.shape)
            z = z * (original_mean / z.mean())
        states.append(z)
    return torch.cat(states, dim=1), pooled


def _encoders(pipe) -> list[tuple[Any, Any]]:
    pairs = [(pipe.tokenizer, pipe.text_encoder)]
    if getattr(pipe, "text_encoder_2", None) is not None:
        pairs.append((pipe.tokenizer_2, pipe.text_encoder_2))
    return [(t, e) for t, e in pairs if t is not None and e is not None]


def encode_parsed(
    pipe, parsed: ParsedPrompt, label: str = "prompt", clip_skip: int = 1
) -> tuple[Any, Any, int]:
    """(hidden states, pooled or None, chunk count) for one parsed prompt on ``pipe``'s text encoder(s).

    Raises ``RequestError`` naming ``label`` when the prompt is longer than the studio encodes.
    """
    encoders = _encoders(pipe)
    sdxl = getattr(pipe, "text_encoder_2", None) is not None
    chunk_lists = [tokenize_chunks(t, parsed, e.config.max_position_embeddings) for t, e in encoders]
    check_prompt_chunks(label, max(len(chunks) for chunks in chunk_lists))
    states, pooled = [], None
    for (tokenizer, encoder), chunks in zip(encoders, chunk_lists, strict=True):
        z, pool = _encode_chunks(tokenizer, encoder, chunks, penultimate=sdxl, clip_skip=clip_skip)
        states.append(z)
        pooled = pool if pool is not None else pooled
    torch = torch_modules().torch
    return torch.cat(states, dim=-1), pooled, len(chunk_lists[0])


def _pad_to(states, chunks: int, empty) -> Any:
    """Append encodings of the empty prompt until ``states`` holds ``chunks`` chunks."""
    torch = torch_modules().torch
    missing = chunks - states.shape[1] // empty.shape[1]
    return torch.cat([states, *[empty] * missing], dim=1) if missing > 0 else states


def prompt_embeds(
    pipe, prompt: str | ParsedPrompt, negative: str | ParsedPrompt, clip_skip: int = 1
) -> dict[str, Any]:
    """The embedding arguments for a diffusers SD/SDXL pipeline call, in place of ``prompt``/``negative_prompt``.

    ``prompt`` and ``negative`` are texts (A1111 syntax; ``<lora:...>`` tags are ignored here) or parsed prompts.
    """
    torch = torch_modules().torch
    parsed = prompt if isinstance(prompt, ParsedPrompt) else parse_prompt(prompt)
    parsed_negative = negative if isinstance(negative, ParsedPrompt) else parse_prompt(negative)
    sdxl = getattr(pipe, "text_encoder_2", None) is not None
    dtype = (pipe.text_encoder_2 if sdxl else pipe.text_encoder).dtype
    with torch.no_grad():
        states, pooled, chunks = encode_parsed(pipe, parsed, clip_skip=clip_skip)
        negative_states, negative_pooled, negative_chunks = encode_parsed(
            pipe, parsed_negative, "negative prompt", clip_skip
        )
        if negative_chunks != chunks:
            empty, _, _ = encode_parsed(pipe, parse_prompt(""), clip_skip=clip_skip)
            total = max(chunks, negative_chunks)
            states, negative_states = _pad_to(states, total, empty), _pad_to(negative_states, total, empty)
    args = {"prompt_embeds": states.to(dtype), "negative_prompt_embeds": negative_states.to(dtype)}
    if sdxl:
        args["pooled_prompt_embeds"] = pooled.to(dtype)
        args["negative_pooled_prompt_embeds"] = negative_pooled.to(dtype)
    return args


def chunk_count(pipe, prompt: str) -> int:
    """How many 77-token chunks ``prompt`` takes on ``pipe`` (1 for anything up to 75 tokens)."""
    return len(
        tokenize_chunks(
            pipe.tokenizer, parse_prompt(prompt), pipe.text_encoder.config.max_position_embeddings
        )
    )


def prompt_notices(label: str, parsed: ParsedPrompt) -> list[str]:
    """The syntax diagnostics of one prompt as notices for the result (they never stop a generation)."""
    return [
        f"The {label} at character {diagnostic.position + 1}: {diagnostic.message}"
        for diagnostic in parsed.diagnostics
    ]
