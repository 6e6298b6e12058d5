"""Where models live: the folder layouts, the setting, the first-run page, File ▸ Models folder… and where a
download lands (the hub is faked at its two network calls, so the real download code writes the files)."""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import pytest
from fake_engine import FakeEngine, fake_backend
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from studio import paths
from studio.models import download
from studio.models.model_folders import model_folders, tool_root
from studio.settings import load_settings
from studio.ui.models.download_dialog import DownloadDialog
from studio.ui.models.models_folder_dialog import ModelsFolderDialog

Usage = namedtuple("Usage", "total used free")
PIPELINE = {"model_index.json": 100, "unet/config.json": 10, "unet/diffusion_pytorch_model.safetensors": 1000}


def _a1111(tmp_path: Path) -> Path:
    root = tmp_path / "stable-diffusion-webui"
    (root / "models" / "Stable-diffusion").mkdir(parents=True)
    (root / "models" / "Lora").mkdir()
    return root


def _comfyui(tmp_path: Path) -> Path:
    root = tmp_path / "ComfyUI"
    for leaf in ("checkpoints", "controlnet", "loras"):
        (root / "models" / leaf).mkdir(parents=True)
    return root


@pytest.fixture
def hub(monkeypatch):
    """A fake hub holding any repo as ``PIPELINE``; fetched files are written for real, with plenty of space."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(download, "_list_repo_files", lambda repo_id: dict(PIPELINE))

    def fetch(repo_id, name, local_dir, bar):
        (local_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (local_dir / name).write_text(repo_id)

    monkeypatch.setattr(download, "_fetch", fetch)
    monkeypatch.setattr(download.shutil, "disk_usage", lambda path: Usage(10**13, 0, 10**13))


@pytest.fixture
def studio(qtbot, qapp):
    """The whole window with no model found (the first-run page); ``scanned`` records each scan's folders."""
    from studio.app import build_studio

    scanned: list[list[Path]] = []
    studio = build_studio(
        qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: scanned.append(list(dirs)) or []
    )
    studio.scanned = scanned
    qtbot.addWidget(studio.window)
    studio.window.resize(1280, 800)
    studio.window.show()
    studio.start_background(warm_up=False)
    qtbot.waitUntil(lambda: studio.window.first_run is not None and studio.window.first_run.isVisible())
    yield studio
    studio.window.canvases.shutdown()
    studio.state.shutdown(2.0)


def test_layouts_of_the_studio_a1111_and_comfyui(tmp_path):
    own = model_folders()
    assert (own.layout, own.checkpoints, own.controlnets, own.loras) == (
        "studio",
        paths.models_dir(),
        paths.models_dir() / "controlnet",
        paths.models_dir() / "loras",
    )
    plain = model_folders(tmp_path / "mine")
    assert (plain.layout, plain.checkpoints, plain.controlnets) == (
        "studio",
        tmp_path / "mine",
        tmp_path / "mine/controlnet",
    )
    a1111 = _a1111(tmp_path)
    found = model_folders(a1111)
    assert (found.layout, found.checkpoints, found.controlnets, found.loras) == (
        "a1111",
        a1111 / "models/Stable-diffusion",
        a1111 / "models/ControlNet",
        a1111 / "models/Lora",
    )
    comfy = _comfyui(tmp_path)
    found = model_folders(comfy)
    assert (found.layout, found.checkpoints, found.controlnets, found.loras) == (
        "comfyui",
        comfy / "models/checkpoints",
        comfy / "models/controlnet",
        comfy / "models/loras",
    )


def test_picking_a_tools_checkpoints_or_models_folder_means_the_whole_install(tmp_path):
    a1111 = _a1111(tmp_path)
    assert tool_root(a1111 / "models" / "Stable-diffusion") == a1111
    assert tool_root(a1111 / "models") == a1111
    assert tool_root(a1111 / "models" / "Lora") == a1111 / "models" / "Lora"  # not a checkpoints folder


def test_downloads_go_into_the_models_folders_checkpoints_folder(hub, tmp_path):
    a1111 = _a1111(tmp_path)
    saved = download.download_model("org/model", folder=a1111)
    assert saved == a1111 / "models" / "Stable-diffusion" / "org--model"
    assert (saved / "model_index.json").read_text() == "org/model"
    assert download.download_model("org/other") == paths.models_dir() / "org--other"  # the default


def test_choosing_the_folder_on_the_first_run_page(studio, qtbot, monkeypatch, tmp_path):
    window, state = studio.window, studio.state
    page = window.first_run
    assert f"Models are kept in: <b>{paths.models_dir()}</b>" in page.space_label.text()
    comfy = _comfyui(tmp_path)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(comfy))
    scans = len(studio.scanned)
    with qtbot.waitSignal(state.models_folder_changed):
        qtbot.mouseClick(page.change_folder_button, Qt.MouseButton.LeftButton)
    assert state.settings.models_folder == str(comfy)
    assert load_settings()[0].models_folder == str(comfy)  # saved
    assert f"Models are kept in: <b>{comfy}</b>" in page.space_label.text()
    assert "ComfyUI: downloads go into models/checkpoints" in page.space_label.text()
    qtbot.waitUntil(lambda: len(studio.scanned) > scans)
    assert studio.scanned[-1][0] == comfy / "models" / "checkpoints"  # discovery includes it
    assert str(comfy / "models" / "loras") in state.lora_roots()
    assert state.controlnet_folders()[0] == comfy / "models" / "controlnet"
    assert window.canvases.control_panel.controlnet_folders == state.controlnet_folders()


def test_a_download_from_the_window_lands_in_the_chosen_folder(studio, qtbot, hub, tmp_path):
    a1111 = _a1111(tmp_path)
    studio.state.set_models_folder(a1111)
    studio.window.menus.download_model("org/model")
    dialog = studio.window.findChildren(DownloadDialog)[-1]
    assert dialog.folder_label.text() == f"Saved in {a1111 / 'models' / 'Stable-diffusion'}"
    with qtbot.waitSignal(dialog.model_downloaded, timeout=5000) as blocker:
        assert dialog.start_download()
    assert blocker.args == [a1111 / "models" / "Stable-diffusion" / "org--model"]
    assert (blocker.args[0] / "unet" / "diffusion_pytorch_model.safetensors").is_file()


def test_models_folder_dialog_from_the_file_menu(studio, qtbot, monkeypatch, tmp_path):
    menus, state = studio.window.menus, studio.state
    action = next(a for a in studio.window.actions() if a.text() == "Models folder…")
    a1111 = _a1111(tmp_path)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(a1111 / "models"))
    action.trigger()
    dialog = menus.models_folder_dialog
    assert isinstance(dialog, ModelsFolderDialog) and dialog.folder() == paths.models_dir()
    qtbot.mouseClick(dialog.choose, Qt.MouseButton.LeftButton)
    assert (
        "AUTOMATIC1111" in dialog.status.text()
        and str(a1111 / "models" / "ControlNet") in dialog.status.text()
    )
    assert "free there" in dialog.status.text()
    with qtbot.waitSignal(state.models_folder_changed) as blocker:
        dialog.accept()
    assert blocker.args == [a1111 / "models"] and state.settings.models_folder == str(a1111 / "models")
    assert state.model_folders().checkpoints == a1111 / "models" / "Stable-diffusion"
    action.trigger()
    dialog = menus.models_folder_dialog
    qtbot.mouseClick(dialog.default, Qt.MouseButton.LeftButton)
    dialog.accept()
    assert state.settings.models_folder is None and state.settings.models() == paths.models_dir()


def test_an_unusable_models_folder_setting_gives_the_defaults_and_a_sentence(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"version": 1, "models_folder": 5}')
    settings, problem = load_settings(path)
    assert settings.models_folder is None and settings.models() == paths.models_dir()
    assert "unusable models folder 5" in problem
