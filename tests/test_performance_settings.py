"""The performance preferences in settings.json: defaults for older files, a sentence for a bad tier name."""

from __future__ import annotations

import json

from studio.backend.factory import engine_config
from studio.settings import AppSettings, load_settings, save_settings


def test_an_older_file_gets_the_defaults(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "theme": "light"}), encoding="utf-8")
    settings, problem = load_settings(path)
    assert problem is None
    assert (settings.vram, settings.fast_mode, settings.fp8_weights, settings.taesd_folder) == (
        "auto",
        False,
        False,
        None,
    )


def test_saved_performance_settings_reach_the_engine_config(tmp_path):
    path = tmp_path / "settings.json"
    save_settings(AppSettings(vram="low", fast_mode=True, fp8_weights=True, taesd_folder="/t"), path)
    settings, _ = load_settings(path)
    config = engine_config(settings)
    assert (config.vram, config.fast, config.fp8_weights, config.taesd_path) == ("low", True, True, "/t")


def test_an_unknown_tier_is_reported_and_the_defaults_used(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "vram": "huge"}), encoding="utf-8")
    settings, problem = load_settings(path)
    assert settings.vram == "auto"
    assert problem is not None and "unknown VRAM setting 'huge'" in problem and "defaults are used" in problem
