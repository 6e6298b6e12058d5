"""The few-step samplers: LCM, TCD and Euler / Euler a on the SGM Uniform (trailing) schedule, by their A1111
names, through the scheduler table, the CLI and the metadata."""

from __future__ import annotations

import numpy as np
import pytest
from engine_fixtures import SD_CONFIG
from PIL import Image

from studio.engine.samplers import callbacks_for, make_scheduler
from studio.metadata.infotext import format_infotext, infotext_to_request, parse_infotext
from studio.metadata.sampler_aliases import foreign_sampler_name, split_schedule
from studio.models.samplers import FEW_STEP_SAMPLERS, SAMPLER_NAMES, sampler_recipe
from studio.request import GenerationRequest


@pytest.mark.parametrize(
    ("name", "cls", "spacing"),
    [
        ("LCM", "LCMScheduler", None),
        ("TCD", "TCDScheduler", None),
        ("Euler SGM Uniform", "EulerDiscreteScheduler", "trailing"),
        ("Euler a SGM Uniform", "EulerAncestralDiscreteScheduler", "trailing"),
    ],
)
def test_each_few_step_name_makes_its_scheduler(name, cls, spacing):
    assert name in SAMPLER_NAMES and name in FEW_STEP_SAMPLERS
    assert sampler_recipe(name).scheduler == cls
    scheduler = make_scheduler(name, SD_CONFIG)
    assert type(scheduler).__name__ == cls
    if spacing is not None:
        assert scheduler.config.timestep_spacing == spacing
    # Four steps are four model calls, and img2img at half strength runs the second half.
    assert callbacks_for(make_scheduler(name, SD_CONFIG), 4) == 4
    assert callbacks_for(make_scheduler(name, SD_CONFIG), 4, strength=0.5) == 2


def test_trailing_spacing_starts_at_the_last_timestep():
    # What Lightning/Turbo need: the first step is the noisiest timestep (999), not 751 as "leading" gives.
    euler = make_scheduler("Euler", SD_CONFIG)
    euler.set_timesteps(4)
    trailing = make_scheduler("Euler SGM Uniform", SD_CONFIG)
    trailing.set_timesteps(4)
    assert int(trailing.timesteps[0]) == 999 and int(euler.timesteps[0]) < 999


@pytest.mark.parametrize(
    ("name", "a1111_sampler", "schedule"),
    [
        ("LCM", "LCM", None),
        ("TCD", "TCD", None),
        ("Euler SGM Uniform", "Euler", "SGM Uniform"),
        ("Euler a SGM Uniform", "Euler a", "SGM Uniform"),
    ],
)
def test_infotext_round_trip(name, a1111_sampler, schedule):
    request = GenerationRequest(model="m", prompt="a fox", sampler=name, steps=4, cfg_scale=1.5, seed=7)
    text = format_infotext(request)
    assert f"Sampler: {a1111_sampler}" in text
    assert (f"Schedule type: {schedule}" in text) == (schedule is not None)
    assert split_schedule(name) == (a1111_sampler, schedule)
    back, unmapped = infotext_to_request(parse_infotext(text))
    assert back.sampler == name and not unmapped


def test_a1111_lcm_with_a_schedule_type_stays_lcm():
    # A1111/Forge write "Schedule type: SGM Uniform" (or Automatic) beside LCM: LCM keeps its own timesteps.
    for schedule in ("SGM Uniform", "Automatic", "Uniform"):
        back, unmapped = infotext_to_request(
            parse_infotext(f"a fox\nSteps: 4, Sampler: LCM, Schedule type: {schedule}")
        )
        assert back.sampler == "LCM" and not unmapped


@pytest.mark.parametrize(
    ("sampler", "scheduler", "expected"),
    [
        ("lcm", "sgm_uniform", "LCM"),
        ("lcm", "simple", "LCM"),
        ("tcd", "normal", "TCD"),
        ("euler", "sgm_uniform", "Euler SGM Uniform"),
        ("euler_ancestral", "sgm_uniform", "Euler a SGM Uniform"),
        ("euler", "trailing", "Euler SGM Uniform"),
    ],
)
def test_comfyui_names(sampler, scheduler, expected):
    assert foreign_sampler_name(sampler, scheduler) == expected


@pytest.mark.slow
@pytest.mark.parametrize("name", FEW_STEP_SAMPLERS)
def test_same_request_and_seed_give_the_same_image(tiny_models, name):
    from studio.engine import Engine

    engine = Engine()
    request = GenerationRequest(
        model=str(tiny_models / "sd15"),
        prompt="x",
        seed=11,
        steps=2,
        sampler=name,
        width=64,
        height=64,
        cfg_scale=1.0,
    )
    first, second = engine.generate(request), engine.generate(request)
    assert first.request.sampler == name
    assert np.array_equal(np.asarray(first.images[0]), np.asarray(second.images[0]))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["LCM", "TCD"])
def test_cli_sampler_flag_runs_and_records_it(tiny_models, tmp_path, studio_home, name):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "cli"))
    from cli_process import run_cli, tiny_generate

    from studio.metadata.reader import read_image_settings

    out = tmp_path / "out"
    run = run_cli(
        *tiny_generate(tiny_models / "sd15", "--sampler", name, "--out", str(out)), env_home=studio_home
    )
    assert run.returncode == 0, run.stderr
    written = sorted(out.glob("*.png"))
    assert len(written) == 1 and Image.open(written[0]).size == (64, 64)
    settings = read_image_settings(written[0])
    assert settings.request.sampler == name and f"Sampler: {name}" in settings.raw["parameters"]
