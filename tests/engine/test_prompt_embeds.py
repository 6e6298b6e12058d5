"""A1111 prompt weighting and 77-token chunking, checked against diffusers' own encoder and by hand."""

from __future__ import annotations

import pytest
import torch

from studio.engine import loading
from studio.engine.prompt_embeds import chunk_count, encode_parsed, prompt_embeds, tokenize_chunks
from studio.prompt.a1111_syntax import parse_prompt


@pytest.fixture(scope="module", params=["sd15", "sdxl"])
def pipe(request, tiny_models):
    return loading.load_model(str(tiny_models / request.param)).pipe


def _diffusers(pipe, prompt, negative):
    return pipe.encode_prompt(
        prompt,
        device="cpu",
        num_images_per_prompt=1,
        do_classifier_free_guidance=True,
        negative_prompt=negative,
    )


@pytest.mark.parametrize("negative", ["blurry, dark", ""])
def test_a_plain_prompt_equals_diffusers_exactly(pipe, negative):
    ours = list(prompt_embeds(pipe, "a red fox in a snowy forest, oil painting", negative).values())
    theirs = [t for t in _diffusers(pipe, "a red fox in a snowy forest, oil painting", negative)]
    assert len(ours) == len(theirs) == (4 if hasattr(pipe, "text_encoder_2") else 2)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_chunks_are_bos_75_eos_padded_with_eos(pipe):
    tokenizer = pipe.tokenizer
    chunks = tokenize_chunks(tokenizer, parse_prompt("ab BREAK c"))
    assert len(chunks) == 2 and all(len(c.tokens) == 77 for c in chunks)
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    assert chunks[0].tokens[:3] == [bos, *tokenizer("ab", add_special_tokens=False).input_ids]
    assert chunks[0].tokens[3:] == [eos] * 74
    # The tiny tokenizer makes one token per character: 75 fit, 76 need a second chunk, 151 a third.
    assert (
        chunk_count(pipe, "a" * 75) == 1
        and chunk_count(pipe, "a" * 76) == 2
        and chunk_count(pipe, "a" * 151) == 3
    )


def test_a_full_chunk_moves_the_words_after_the_last_comma(pipe):
    chunks = tokenize_chunks(pipe.tokenizer, parse_prompt("a" * 70 + ",bcdef" + "g"))
    comma = pipe.tokenizer.get_vocab()[",</w>"]
    # 70 a's and the comma stay; "bcdefg" (within 20 tokens of the comma) opens the next chunk.
    assert chunks[0].tokens[71] == comma and chunks[0].tokens[72:] == [pipe.tokenizer.eos_token_id] * 5
    assert pipe.tokenizer.decode(chunks[1].tokens[1:7]).replace(" ", "") == "bcdefg"


def test_long_prompts_concatenate_chunks_and_pad_the_negative(pipe):
    args = prompt_embeds(pipe, "a " * 100, "short")  # one token per "a "
    assert args["prompt_embeds"].shape[1] == args["negative_prompt_embeds"].shape[1] == 154
    empty, _, _ = encode_parsed(pipe, parse_prompt(""))
    assert torch.equal(args["negative_prompt_embeds"][:, 77:], empty)
    first, pooled, _ = encode_parsed(pipe, parse_prompt("a " * 75))
    assert torch.equal(args["prompt_embeds"][:, :77], first)  # chunk 1 is encoded alone
    if "pooled_prompt_embeds" in args:
        assert torch.equal(args["pooled_prompt_embeds"], pooled)  # pooled output of the first chunk


def test_weights_scale_their_tokens_and_restore_the_mean(pipe):
    plain, _, _ = encode_parsed(pipe, parse_prompt("a cat sat"))
    weighted, _, _ = encode_parsed(pipe, parse_prompt("a (cat:1.5) sat"))
    # Tokens: BOS "a</w>" "c" "a" "t</w>" ... ; the weighted word's three tokens sit at 2..4.
    assert torch.allclose(weighted.mean(), plain.mean(), atol=1e-6)
    widths = [pipe.text_encoder.config.hidden_size]
    if hasattr(pipe, "text_encoder_2"):
        widths.append(pipe.text_encoder_2.config.hidden_size)
    start = 0
    for width in widths:  # SDXL: each encoder is weighted and mean-restored on its own
        p, w = plain[..., start : start + width], weighted[..., start : start + width]
        ratio = p.mean() / (p * _multipliers(p.shape[1], {2: 1.5, 3: 1.5, 4: 1.5})).mean()
        assert torch.allclose(w[0, 2:5], p[0, 2:5] * 1.5 * ratio, atol=1e-5)
        assert torch.allclose(w[0, 5:], p[0, 5:] * ratio, atol=1e-5)
        start += width


def _multipliers(length, weights):
    values = torch.ones(length)
    for index, weight in weights.items():
        values[index] = weight
    return values.reshape(1, -1, 1)


def test_brackets_mean_what_a1111_says(pipe):
    def tokens_weights(text):
        return tokenize_chunks(pipe.tokenizer, parse_prompt(text))[0].multipliers[1:4]

    assert tokens_weights("((ab))c") == pytest.approx([1.21, 1.21, 1.0])
    assert tokens_weights("[ab]c") == pytest.approx([1 / 1.1, 1 / 1.1, 1.0])
    assert tokens_weights(r"\(ab\)") == [1.0, 1.0, 1.0]


def test_lora_tags_are_not_encoded(pipe):
    tagged = prompt_embeds(pipe, "a fox <lora:ink:0.8>", "")
    plain = prompt_embeds(pipe, "a fox ", "")
    assert torch.equal(tagged["prompt_embeds"], plain["prompt_embeds"])
