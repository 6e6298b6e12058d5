"""Choosing a few-step model or LoRA offers its settings; nothing changes until the artist applies them."""

from __future__ import annotations

import pytest
from window_fixture import studio_on_fake_engine

from studio.request import LoraRef


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def test_choosing_a_turbo_model_offers_its_settings_and_apply_sets_them(studio):
    state, live = studio.state, studio.window.live
    before = state.request
    state.update(model="/models/sdxl-turbo")
    assert live.banner.isVisible() and "Turbo" in live.banner.text.text()
    assert (state.request.steps, state.request.sampler) == (
        before.steps,
        before.sampler,
    )  # not a silent change
    live.banner.apply.click()
    assert (state.request.steps, state.request.cfg_scale, state.request.sampler) == (
        1,
        1.0,
        "Euler a SGM Uniform",
    )
    assert live.view.steps.value() == 1 and not live.banner.isVisible()


def test_switching_on_an_lcm_lora_offers_lcm_and_not_now_is_remembered(studio):
    state, live = studio.state, studio.window.live
    state.update(loras=(LoraRef("lcm-lora-sdv1-5", 1.0),))
    assert live.banner.isVisible() and "LCM" in live.banner.text.text()
    live.banner.dismiss.click()
    assert not live.banner.isVisible() and state.request.sampler != "LCM"
    state.update(loras=())
    state.update(loras=(LoraRef("lcm-lora-sdv1-5", 1.0),))
    assert not live.banner.isVisible()


def test_an_ordinary_model_offers_nothing(studio):
    studio.state.update(model="/models/dreamshaper_8.safetensors")
    assert not studio.window.live.banner.isVisible()
