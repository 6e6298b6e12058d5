"""The first-run empty state: recommended downloads with sizes and licences, disk space, folders, the demo."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QLabel

from studio.ui.models.first_run import DEMO_LABEL, FirstRunWidget
from studio.ui.models.recommended_models import format_bytes, load_recommended_models

GB = 1_000_000_000


def _widget(qtbot, free_bytes: int = 500 * GB, **kwargs) -> FirstRunWidget:
    widget = FirstRunWidget(space_probe=lambda folder: free_bytes, **kwargs)
    qtbot.addWidget(widget)
    widget.resize(760, 720)
    widget.show()
    return widget


def _texts(widget) -> str:
    return "\n".join(label.text() for label in widget.findChildren(QLabel))


def test_recommended_models_file_lists_sd15_and_sdxl():
    models = {m.repo_id: m for m in load_recommended_models()}
    sd15 = models["stable-diffusion-v1-5/stable-diffusion-v1-5"]
    sdxl = models["stabilityai/stable-diffusion-xl-base-1.0"]
    assert (sd15.family, sd15.license, sd15.size_text) == ("sd15", "CreativeML OpenRAIL-M", "about 2.1 GB")
    assert (sdxl.family, sdxl.license, sdxl.size_text) == ("sdxl", "CreativeML Open RAIL++-M", "about 6.9 GB")


def test_format_bytes():
    assert format_bytes(2_100_000_000) == "2.1 GB"
    assert format_bytes(640_000_000) == "640 MB"
    assert format_bytes(12_345) == "12.3 KB"
    assert format_bytes(5) == "5 bytes"


def test_lists_each_model_with_size_and_licence(qtbot):
    widget = _widget(qtbot)
    text = _texts(widget)
    for model in widget.models:
        assert model.name in text and model.size_text in text and model.license in text


def test_download_buttons_emit_the_repo_id(qtbot):
    widget = _widget(qtbot)
    for repo_id, button in widget.download_buttons.items():
        with qtbot.waitSignal(widget.download_requested) as blocker:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert blocker.args == [repo_id]


def test_shows_free_space_and_warns_only_for_models_that_do_not_fit(qtbot, tmp_path):
    widget = _widget(qtbot, free_bytes=4 * GB, models_folder=tmp_path / "models")
    assert (
        "4.0 GB free" in widget.space_label.text() and str(tmp_path / "models") in widget.space_label.text()
    )
    warnings = {repo: label for repo, label in widget._space_warnings.items()}
    assert not warnings["stable-diffusion-v1-5/stable-diffusion-v1-5"].isVisible()
    sdxl_warning = warnings["stabilityai/stable-diffusion-xl-base-1.0"]
    assert sdxl_warning.isVisible() and "Not enough free space" in sdxl_warning.text()


def test_plenty_of_space_means_no_warning(qtbot):
    widget = _widget(qtbot, free_bytes=500 * GB)
    assert not any(label.isVisible() for label in widget._space_warnings.values())


def test_free_space_is_measured_on_the_real_drive(qtbot, tmp_path):
    widget = FirstRunWidget(models_folder=tmp_path / "not" / "made" / "yet")
    qtbot.addWidget(widget)
    assert widget.refresh_disk_space() > 0


def test_choosing_a_folder_emits_it(qtbot, monkeypatch, tmp_path):
    widget = _widget(qtbot)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    with qtbot.waitSignal(widget.folder_chosen) as blocker:
        qtbot.mouseClick(widget.folder_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [Path(tmp_path)]


def test_cancelling_the_folder_dialog_emits_nothing(qtbot, monkeypatch):
    widget = _widget(qtbot)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")
    with qtbot.assertNotEmitted(widget.folder_chosen):
        qtbot.mouseClick(widget.folder_button, Qt.MouseButton.LeftButton)


def test_demo_is_labelled_as_random_weights(qtbot):
    widget = _widget(qtbot)
    assert "random weights" in DEMO_LABEL and "not a picture" in DEMO_LABEL
    assert DEMO_LABEL in _texts(widget)
    assert "random weights" in widget.demo_button.toolTip().lower()
    with qtbot.waitSignal(widget.demo_requested):
        qtbot.mouseClick(widget.demo_button, Qt.MouseButton.LeftButton)


def test_every_button_has_a_tooltip_and_accessible_name(qtbot):
    widget = _widget(qtbot)
    buttons = widget.findChildren(QAbstractButton)
    # downloads, change the models folder, use a folder, demo; look for / use / not now (other tools' folders)
    assert len(buttons) == len(widget.models) + 6
    for button in buttons:
        assert button.toolTip() and button.accessibleName(), button.text()
