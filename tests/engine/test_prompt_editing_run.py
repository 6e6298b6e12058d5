"""Prompt editing on the tiny models: `[cat:dog:0.5]` is a switch of embeddings mid-sampling, not text."""

from __future__ import annotations

import numpy as np
import pytest

from studio.engine.config import EngineConfig
from studio.engine.engine import Engine
from studio.request import GenerationRequest

pytestmark = pytest.mark.slow


def _pixels(engine, model, prompt, negative=""):
    size = 256 if str(model).endswith("sdxl") else 64
    request = GenerationRequest(
        model=str(model), prompt=prompt, negative_prompt=negative, width=size, height=size, steps=4, seed=5
    )
    return np.asarray(engine.generate(request).images[0])


@pytest.mark.parametrize("family", ["sd15"])  # SDXL: the same code path, checked step by step below
def test_the_edited_picture_is_its_own_and_the_limits_are_the_plain_prompts(tiny_models, family):
    engine = Engine(EngineConfig(device="cpu"))
    model = tiny_models / family
    edited = _pixels(engine, model, "a [cat:dog:0.5]")
    cat, dog = _pixels(engine, model, "a cat"), _pixels(engine, model, "a dog")
    literal = _pixels(engine, model, r"a \[cat:dog:0.5\]")  # what was sent before: the words as text
    for other in (cat, dog, literal):
        assert not np.array_equal(edited, other)
    # 4 steps: a switch at step 4 never happens (0-based steps 0..3 all use 'cat'), one before step 1 always has.
    assert np.array_equal(_pixels(engine, model, "a [cat:dog:4]"), cat)
    assert np.array_equal(_pixels(engine, model, "a [cat:dog:0]"), dog)
    assert np.array_equal(
        _pixels(engine, model, "a cat", "[ugly:blurry:0]"), _pixels(engine, model, "a cat", "blurry")
    )


@pytest.mark.parametrize("family", ["sd15", "sdxl"])
def test_the_switch_equals_a_manual_two_phase_run(tiny_models, family):
    """The pipeline with the studio's schedule equals the pipeline run by hand: 'cat' for steps 0-2, 'dog' for 3."""
    import torch

    from studio.engine import loading
    from studio.engine.prompt_embeds import prompt_embeds
    from studio.engine.prompt_schedule import PromptEdits
    from studio.prompt.a1111_syntax import parse_prompt

    pipe = loading.load_model(str(tiny_models / family)).pipe
    size = 256 if family == "sdxl" else 64
    common = {
        "num_inference_steps": 4,
        "guidance_scale": 6.0,
        "num_images_per_prompt": 2,
        "output_type": "latent",
    }
    common |= {"width": size, "height": size}

    def run(**args):
        generator = [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)]
        return pipe(generator=generator, **common, **args).images

    edits = PromptEdits.build(pipe, parse_prompt("a [cat:dog:0.5]"), parse_prompt("ugly"))
    assert edits is not None
    studio = run(**edits.call_args(4, lambda *args: {}))

    cat, dog = prompt_embeds(pipe, "a cat", "ugly"), prompt_embeds(pipe, "a dog", "ugly")
    switched = []

    def by_hand(pipe_, index, timestep, tensors):
        if index != 2:  # the end of 0-based step 2: step 3 is the first with 'dog'
            return {}
        switched.append(index)
        out = {"prompt_embeds": torch.cat([dog["negative_prompt_embeds"]] * 2 + [dog["prompt_embeds"]] * 2)}
        if family == "sdxl":
            pooled = [dog["negative_pooled_prompt_embeds"]] * 2 + [dog["pooled_prompt_embeds"]] * 2
            out["add_text_embeds"] = torch.cat(pooled)
        return out

    inputs = ["prompt_embeds"] + (["add_text_embeds"] if family == "sdxl" else [])
    manual = run(**cat, callback_on_step_end=by_hand, callback_on_step_end_tensor_inputs=inputs)
    assert switched == [2]
    assert torch.equal(studio, manual)
    assert not torch.equal(manual, run(**cat))
