"""Few-step files recognised from their names, their metadata and their scheduler, with their settings."""

from __future__ import annotations

import json

import pytest

from studio.models.few_step import few_step_hint, hint_from_metadata, hint_from_text
from studio.models.samplers import SAMPLER_NAMES


@pytest.mark.parametrize(
    ("name", "kind", "steps", "sampler"),
    [
        ("lcm-lora-sdv1-5.safetensors", "LCM", 4, "LCM"),
        ("LCM_LoRA_SDXL.safetensors", "LCM", 4, "LCM"),
        ("Hyper-SD15-8steps-lora.safetensors", "Hyper-SD", 8, "Euler SGM Uniform"),
        ("Hyper-SDXL-1step-lora.safetensors", "Hyper-SD", 1, "TCD"),
        ("sdxl_lightning_4step_lora.safetensors", "Lightning", 4, "Euler SGM Uniform"),
        ("sdxl_lightning_2step.safetensors", "Lightning", 2, "Euler SGM Uniform"),
        ("TCD-SD15-LoRA.safetensors", "TCD", 4, "TCD"),
        ("sd_xl_turbo_1.0_fp16.safetensors", "Turbo", 1, "Euler a SGM Uniform"),
        ("stabilityai/sdxl-turbo", "Turbo", 1, "Euler a SGM Uniform"),
    ],
)
def test_names(name, kind, steps, sampler):
    hint = few_step_hint(name)
    assert hint is not None and (hint.kind, hint.steps, hint.sampler) == (kind, steps, sampler)
    assert hint.sampler in SAMPLER_NAMES
    assert 1.0 <= hint.cfg_scale <= 2.0


@pytest.mark.parametrize(
    "name",
    ["dreamshaper_8.safetensors", "v1-5-pruned-emaonly.safetensors", "clcmart_style.safetensors", "tcdx"],
)
def test_ordinary_files_are_not_few_step(name):
    assert few_step_hint(name) is None


def test_hyper_sd_cfg_loras_keep_guidance():
    hint = hint_from_text("Hyper-SD15-8steps-CFG-lora", "its name")
    assert hint is not None and hint.cfg_scale > 2


def test_metadata_names_a_renamed_file(tmp_path):
    from studio.engine.tiny_addons import write_tiny_lora  # a real safetensors file with kohya metadata

    path = write_tiny_lora(tmp_path / "my_style.safetensors", "sd15")
    assert few_step_hint(path) is None  # its metadata names no few-step kind
    assert hint_from_metadata({"ss_output_name": "sdxl_lightning_8step_lora"}).steps == 8
    assert hint_from_metadata({"modelspec.title": "LCM LoRA SD1.5"}).sampler == "LCM"


def test_renamed_lora_recognised_by_its_embedded_title(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    path = tmp_path / "renamed.safetensors"
    save_file(
        {"x": np.zeros(1, dtype=np.float32)}, str(path), metadata={"modelspec.title": "Hyper-SD 4-step"}
    )
    hint = few_step_hint(path)
    assert hint is not None and hint.kind == "Hyper-SD" and hint.steps == 4 and "metadata" in hint.found_in


def test_diffusers_folder_with_an_lcm_scheduler(tmp_path):
    folder = tmp_path / "my-model"
    (folder / "scheduler").mkdir(parents=True)
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"_class_name": "LCMScheduler"}))
    hint = few_step_hint(folder)
    assert hint is not None and hint.sampler == "LCM" and "scheduler" in hint.found_in


def test_a_damaged_file_is_left_to_the_lora_list(tmp_path):
    path = tmp_path / "lcm-lora.safetensors"
    path.write_bytes(b"\x01")
    assert few_step_hint(path).kind == "LCM"  # the name still speaks
