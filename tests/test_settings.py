"""Preferences: defaults, round trip, and a broken file kept aside with a sentence instead of a crash."""

from __future__ import annotations

from studio.settings import AppSettings, load_settings, save_settings, settings_file


def test_defaults_when_missing():
    settings, problem = load_settings()
    assert settings == AppSettings() and problem is None
    assert settings.theme == "dark"


def test_round_trip(studio_home):
    settings = AppSettings(
        theme="light",
        output_folder=str(studio_home / "pics"),
        model_dirs=["/a1111"],
        window_geometry="AAAA",
        torch_threads=3,
    )
    save_settings(settings)
    assert settings_file().is_file()
    loaded, problem = load_settings()
    assert loaded == settings and problem is None
    assert loaded.outputs() == studio_home / "pics"
    assert loaded.engine_threads() == 3


def test_unknown_theme_is_reported_not_silently_fixed(studio_home):
    settings_file().parent.mkdir(parents=True)
    settings_file().write_text('{"version": 1, "theme": "purple"}', encoding="utf-8")
    settings, problem = load_settings()
    assert settings.theme == "dark"
    assert "purple" in problem and "settings.json.bad" in problem


def test_engine_threads_leave_a_core_for_the_window(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert AppSettings().engine_threads() == 7
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert AppSettings().engine_threads() == 1


def test_annotators_folder_round_trips_and_older_files_have_none(studio_home):
    settings_file().parent.mkdir(parents=True)
    # Written before the field existed.
    settings_file().write_text('{"version": 1, "theme": "light"}', encoding="utf-8")
    old, problem = load_settings()
    assert old.annotators_folder is None and old.theme == "light" and problem is None
    save_settings(AppSettings(annotators_folder="/models/annotators"))
    assert load_settings()[0].annotators_folder == "/models/annotators"
    settings_file().write_text('{"version": 1, "annotators_folder": 7}', encoding="utf-8")
    broken, problem = load_settings()
    assert broken.annotators_folder is None and "annotators folder" in problem
