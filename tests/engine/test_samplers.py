"""Every listed sampler runs on the tiny model and reports the true number of step callbacks."""

from __future__ import annotations

import pytest
from engine_fixtures import SD_CONFIG

from studio.engine import Engine
from studio.engine.samplers import callbacks_for, make_scheduler
from studio.errors import RequestError
from studio.models import samplers
from studio.models.samplers import SAMPLER_NAMES
from studio.request import GenerationRequest


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_sampler_runs_and_reports_every_callback(engine, tiny_models, name):
    request = GenerationRequest(
        model=str(tiny_models / "sd15"), prompt="x", seed=3, steps=3, sampler=name, width=64, height=64
    )
    previews = []
    result = engine.generate(request, on_step=previews.append)
    assert len(result.images) == 1 and result.request.sampler == name
    total = callbacks_for(make_scheduler(name, SD_CONFIG), 3)
    assert [p.step for p in previews] == list(range(1, total + 1))
    assert {p.total for p in previews} == {total}


def test_order_two_samplers_call_back_more_often_than_steps():
    assert callbacks_for(make_scheduler("Heun", SD_CONFIG), 10) == 19
    assert callbacks_for(make_scheduler("DPM2", SD_CONFIG), 10) == 19
    assert callbacks_for(make_scheduler("Euler", SD_CONFIG), 10) == 10
    # img2img at strength 0.5 runs the second half: 5 steps, each evaluated twice but the first.
    assert callbacks_for(make_scheduler("Heun", SD_CONFIG), 10, strength=0.5) == 9
    assert callbacks_for(make_scheduler("Euler", SD_CONFIG), 10, strength=0.5) == 5


@pytest.mark.parametrize(
    ("name", "cls", "settings"),
    [
        (
            "DPM++ 2M Karras",
            "DPMSolverMultistepScheduler",
            {"use_karras_sigmas": True, "algorithm_type": "dpmsolver++"},
        ),
        (
            "DPM++ 2M SDE",
            "DPMSolverMultistepScheduler",
            {"use_karras_sigmas": False, "algorithm_type": "sde-dpmsolver++"},
        ),
        (
            "DPM++ 3M SDE Karras",
            "DPMSolverMultistepScheduler",
            {"solver_order": 3, "use_karras_sigmas": True},
        ),
        ("Euler a", "EulerAncestralDiscreteScheduler", {}),
        ("LMS Karras", "LMSDiscreteScheduler", {"use_karras_sigmas": True}),
        ("PLMS", "PNDMScheduler", {"skip_prk_steps": True}),
    ],
)
def test_names_map_to_the_documented_schedulers(name, cls, settings):
    scheduler = make_scheduler(name, {**SD_CONFIG, "_class_name": "PNDMScheduler"})
    assert type(scheduler).__name__ == cls
    assert {key: scheduler.config[key] for key in settings} == settings
    assert scheduler.config.beta_schedule == "scaled_linear"  # the model's own betas are kept


def test_unknown_sampler_lists_the_valid_ones():
    with pytest.raises(RequestError) as caught:
        make_scheduler("Euler b", SD_CONFIG)
    message = str(caught.value)
    assert "Euler b" in message and all(name in message for name in SAMPLER_NAMES)


def test_sampler_with_a_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(samplers, "_installed", lambda package: package is None)
    with pytest.raises(RequestError, match="pip install torchsde"):
        make_scheduler("DPM++ SDE", SD_CONFIG)


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_sampler_survives_the_png_metadata(name):
    """The A1111 "Sampler" + "Schedule type" pair written for each name reads back as the same name."""
    from studio.metadata.infotext import format_infotext, infotext_to_request, parse_infotext

    text = format_infotext(GenerationRequest(prompt="x", sampler=name, seed=1))
    request, _ = infotext_to_request(parse_infotext(text))
    assert request.sampler == name
