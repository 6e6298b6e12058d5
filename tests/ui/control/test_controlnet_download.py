"""ControlNet downloads: the dialog's ControlNet mode, where the files land, and the control row listing them."""

from __future__ import annotations

import json
from collections import namedtuple
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from window_fixture import studio_on_fake_engine

from studio.errors import ModelError
from studio.models import download
from studio.models.controlnets import RECOMMENDED_CONTROLNETS, resolve_controlnet
from studio.models.discovery import discover_models
from studio.request import ControlInput
from studio.state.download_task import DownloadTask
from studio.ui.control.control_row import ControlRow
from studio.ui.models.download_dialog import DownloadDialog

Usage = namedtuple("Usage", "total used free")
CONTROLNET_REPO = {"config.json": 10, "diffusion_pytorch_model.fp16.safetensors": 700, "README.md": 1}
CONFIG = {"_class_name": "ControlNetModel", "cross_attention_dim": 768}


@pytest.fixture
def hub(monkeypatch):
    """A fake hub where every repo is a ControlNet; fetched files are written for real."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(download, "_list_repo_files", lambda repo_id: dict(CONTROLNET_REPO))

    def fetch(repo_id, name, local_dir, bar):
        local_dir.mkdir(parents=True, exist_ok=True)
        (local_dir / name).write_text(json.dumps(CONFIG) if name == "config.json" else repo_id)

    monkeypatch.setattr(download, "_fetch", fetch)
    monkeypatch.setattr(download.shutil, "disk_usage", lambda path: Usage(10**13, 0, 10**13))


def _controlnet(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(CONFIG))
    (folder / "diffusion_pytorch_model.fp16.safetensors").write_bytes(b"weights")
    return folder


def test_controlnet_mode_lists_the_recommended_controlnets_with_type_and_family(qtbot, tmp_path):
    dialog = DownloadDialog(kind="controlnet", models_folder=tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Download a ControlNet"
    items = [dialog.recommended.item(i) for i in range(dialog.recommended.count())]
    assert [i.data(Qt.ItemDataRole.UserRole + 1) for i in items] == [
        r.repo_id for r in RECOMMENDED_CONTROLNETS
    ]
    texts = [i.text() for i in items]
    assert "Canny · SD 1.5 — lllyasviel/control_v11p_sd15_canny" in texts
    assert "Depth · SDXL — diffusers/controlnet-depth-sdxl-1.0" in texts
    assert dialog.folder_label.text() == f"Saved in {tmp_path / 'controlnet'}"


def test_controlnet_mode_runs_the_controlnet_download_into_the_models_folder(qtbot, monkeypatch, tmp_path):
    calls = []

    def fake_controlnet_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs["folder"]))
        return tmp_path / "controlnet" / "org--net"

    monkeypatch.setattr(download, "download_controlnet", fake_controlnet_download)
    monkeypatch.setattr(download, "download_model", lambda *a, **k: pytest.fail("a pipeline download ran"))
    dialog = DownloadDialog(kind="controlnet", models_folder=tmp_path)
    qtbot.addWidget(dialog)
    dialog.recommended.itemClicked.emit(dialog.recommended.item(2))
    with qtbot.waitSignal(dialog.model_downloaded, timeout=5000) as blocker:
        assert dialog.start_download()
    assert calls == [(RECOMMENDED_CONTROLNETS[2].repo_id, tmp_path)]
    assert blocker.args == [tmp_path / "controlnet" / "org--net"]


def test_the_real_controlnet_download_lands_in_the_controlnet_folder(hub, tmp_path):
    comfy = tmp_path / "ComfyUI"
    (comfy / "models" / "checkpoints").mkdir(parents=True)
    saved = download.download_controlnet("org/net", folder=comfy)
    assert saved == comfy / "models" / "controlnet" / "org--net"
    assert sorted(p.name for p in saved.iterdir()) == [
        "config.json",
        "diffusion_pytorch_model.fp16.safetensors",
    ]
    # The engine finds it by repo id in that folder, and discovery does not take it for a checkpoint.
    assert resolve_controlnet("org/net", [saved.parent]).path == saved
    assert discover_models([comfy], hub_cache_dir=tmp_path / "no-cache") == []


def test_a_controlnet_typed_into_the_model_dialog_points_to_the_controlnet_download(qtbot, hub):
    calls = []
    dialog = DownloadDialog(
        repo_id="lllyasviel/control_v11p_sd15_canny", task=DownloadTask(download=calls.append)
    )
    qtbot.addWidget(dialog)
    assert dialog.start_download() is False and calls == []
    assert "is a ControlNet, not an image model" in dialog.error_label.text()
    assert "Download ControlNet" in dialog.error_label.text()
    # One the studio does not know is recognised from its files, before anything is fetched.
    with pytest.raises(ModelError, match=r"'org/net' is a ControlNet.*Download ControlNet"):
        download.download_model("org/net")


def test_a_downloaded_controlnet_folder_shows_up_in_the_control_row(qtbot, tmp_path):
    folders = [tmp_path / "models" / "ControlNet"]
    canny = RECOMMENDED_CONTROLNETS[2]
    row = ControlRow(
        ControlInput(type="canny", image="", model=canny.repo_id, source="image"), controlnet_folders=folders
    )
    qtbot.addWidget(row)
    row.show()
    listed = lambda: [row.model.itemData(i) for i in range(row.model.count())]  # noqa: E731
    assert row.download.isVisible()
    mine = _controlnet(folders[0] / "someone--canny-anime")
    _controlnet(folders[0] / canny.repo_id.replace("/", "--"))
    row.refresh_models()
    assert str(mine) in listed()
    # A recommended one downloaded is listed once, by its repo id, and needs no Download button any more.
    assert listed().count(canny.repo_id) == 1 and not any(
        "control_v11p_sd15_canny" in t for t in listed()[1:]
    )
    assert not row.download.isVisible()
    assert "on this computer" in row.model.itemData(row.model.currentIndex(), Qt.ItemDataRole.ToolTipRole)
    assert row.control().model == canny.repo_id


@pytest.fixture
def studio(qtbot, qapp):
    yield from studio_on_fake_engine(qtbot, qapp)


def test_the_rows_download_button_downloads_the_controlnet_into_the_models_folder(
    studio, qtbot, hub, tmp_path
):
    state, panel = studio.state, studio.window.canvases.control_panel
    state.set_models_folder(tmp_path / "library")
    studio.window.side_tabs.setCurrentWidget(panel)
    row = panel.add_control("canny", "image")
    qtbot.waitUntil(row.download.isVisible)  # a row added to a shown panel appears on the next event loop turn
    qtbot.mouseClick(row.download, Qt.MouseButton.LeftButton)
    dialog = studio.window.findChildren(DownloadDialog)[-1]
    assert dialog.kind == "controlnet" and dialog.repo_edit.text() == row.model_reference()
    with qtbot.waitSignal(dialog.model_downloaded, timeout=5000) as blocker:
        assert dialog.start_download()
    assert blocker.args[0].parent == tmp_path / "library" / "controlnet"
    assert not row.download.isVisible()
    assert resolve_controlnet(row.model_reference(), state.controlnet_folders()).path == blocker.args[0]


def test_controlnets_in_an_added_model_folder_are_offered(tiny_controlnets, tiny_models):
    """The demo set (and any folder added with Add model…) holds ControlNets beside the checkpoints."""
    from studio.models.controlnets import local_controlnets
    from studio.settings import AppSettings

    settings = AppSettings(model_dirs=[str(tiny_controlnets), str(tiny_models)])
    offered = local_controlnets(settings.controlnet_folders())
    assert tiny_controlnets / "controlnet-sd15" in offered and tiny_controlnets / "controlnet-sdxl" in offered
    assert tiny_models / "sd15" not in offered and tiny_controlnets / "sd15-inpaint" not in offered
