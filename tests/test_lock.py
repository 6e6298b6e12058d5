"""The lock of known-good versions agrees with pyproject.toml, and this environment was installed from it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli, its forerunner
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))

import locked_env  # noqa: E402


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert set(extras) == set(locked_env.EXTRAS), "the lock is compiled with every extra of pyproject.toml"
    return [
        Requirement(text) for text in [*project["dependencies"], *(r for e in extras.values() for r in e)]
    ]


def test_every_declared_requirement_is_pinned_inside_its_range():
    pins = locked_env.read_lock()
    by_name: dict[str, list[locked_env.Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    for requirement in _declared():
        name = locked_env.canonical(requirement.name)
        assert name in by_name, f"{name} is in pyproject.toml but not in the lock: run python3 dev.py lock"
        for pin in by_name[name]:
            assert requirement.specifier.contains(Version(pin.version), prereleases=True), (
                f"the lock pins {name}=={pin.version}, outside pyproject's '{requirement.specifier}': "
                "run python3 dev.py lock"
            )


def test_the_lock_holds_torch_at_the_tested_release():
    pins = {pin.name: pin.version for pin in locked_env.read_lock() if not pin.marker}
    for line in locked_env.PINS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            assert pins[locked_env.canonical(name)] == version.strip()


def test_the_lock_is_only_exact_pins(tmp_path):
    bad = tmp_path / "lock.txt"
    bad.write_text("torch>=2.1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not an exact pin"):
        locked_env.read_lock(bad)


def test_this_environment_matches_the_lock():
    """CI and the README's commands install through the lock (dev.py); a drift means they did not."""
    assert locked_env.drift() == [], "installed without the lock: python3 dev.py test sets it up"


def test_drift_names_the_package_and_both_versions():
    pin = locked_env.Pin("pytest", "0.0.1", "")
    assert locked_env.drift([pin]) == [f"pytest {pytest.__version__} is installed, the lock says 0.0.1"]
    assert locked_env.drift([locked_env.Pin("pytest", "0.0.1", "sys_platform == 'nonexistent'")]) == []


def test_the_comfyui_test_lock_agrees_with_the_main_lock():
    """ComfyUI's dependencies install into the same environment: what both locks pin, they pin alike."""
    main: dict[str, set[str]] = {}
    for pin in locked_env.read_lock():
        main.setdefault(pin.name, set()).add(pin.version)
    for pin in locked_env.read_lock(locked_env.COMFYUI_LOCK):
        if pin.name in main:
            assert pin.version in main[pin.name], f"{pin.name}=={pin.version}: run python3 dev.py lock"
    required = locked_env.COMFYUI_REQUIREMENTS.read_text(encoding="utf-8")
    assert "torchaudio" not in required.replace("without torchaudio", "") and "requests" in required
