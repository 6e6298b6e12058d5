"""Settings panel: request round trip, grouped models, size presets per family, seed reuse, hires."""

from __future__ import annotations

from types import SimpleNamespace

from studio.request import RANDOM_SEED, SEED_MAX, GenerationRequest, HiresSettings
from studio.ui.generation.settings_panel import ROLE_REFERENCE, SettingsPanel

GROUPS = {
    "Stable Diffusion 1.5": [SimpleNamespace(name="dreamy", reference="/m/dreamy", family="sd15")],
    "Stable Diffusion XL": [SimpleNamespace(name="xl-base", reference="/m/xl", family="sdxl")],
}


def make(qtbot) -> SettingsPanel:
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.set_models(GROUPS)
    return panel


def test_request_round_trips_through_the_widgets(qtbot):
    panel = make(qtbot)
    request = GenerationRequest(
        model="/m/xl",
        sampler="Euler a",
        steps=31,
        cfg_scale=5.5,
        seed=4_000_000_000,
        width=832,
        height=1216,
        batch_count=3,
        init_image="/tmp/in.png",
        strength=0.4,
        hires=HiresSettings(1.5, 0.35, 12, "Lanczos"),
    )
    panel.set_request(request)
    assert panel.apply_to(GenerationRequest()) == request.with_changes(prompt="")
    assert panel.size_preset.currentText().startswith("2:3 Portrait")


def test_models_are_grouped_with_headers_that_cannot_be_chosen(qtbot):
    panel = make(qtbot)
    texts = [panel.model.itemText(i).strip() for i in range(panel.model.count())]
    assert texts == ["Stable Diffusion 1.5", "dreamy", "Stable Diffusion XL", "xl-base"]
    header = panel.model.model().item(0)
    assert not header.isEnabled() and header.data(ROLE_REFERENCE) is None
    assert panel.has_models()


def test_size_presets_follow_the_model_family(qtbot):
    panel = make(qtbot)
    panel.set_request(GenerationRequest(model="/m/dreamy", width=512, height=768))
    assert panel.size_preset.currentText().startswith("2:3")
    changes = []
    panel.changed.connect(lambda: changes.append(1))
    panel.model.setCurrentIndex(panel.model.findData("/m/xl", ROLE_REFERENCE))
    request = panel.apply_to(GenerationRequest())
    assert (request.width, request.height) == (832, 1216)  # same aspect ratio at SDXL's native size
    assert changes
    panel.width.setValue(1000)
    assert panel.size_preset.currentText() == "Custom"


def test_seed_random_fixed_and_reuse_last(qtbot):
    panel = make(qtbot)
    panel.set_request(GenerationRequest(model="/m/dreamy"))
    assert panel.random_seed.isChecked() and not panel.seed.isEnabled()
    assert not panel.reuse_seed.isEnabled()
    panel.set_last_seed(987654)
    assert panel.reuse_seed.isEnabled() and "987654" in panel.reuse_seed.toolTip()
    with qtbot.waitSignal(panel.reuse_seed_requested, timeout=1000):  # the state owns the seed and fixes it
        panel.reuse_seed.click()
    panel.set_request(GenerationRequest(model="/m/dreamy", seed=987654))
    assert not panel.random_seed.isChecked() and panel.apply_to(GenerationRequest()).seed == 987654
    panel.random_seed.setChecked(True)
    assert panel.apply_to(GenerationRequest()).seed == RANDOM_SEED


def test_a_64_bit_seed_from_an_image_survives_an_edit(qtbot):
    """ComfyUI writes seeds past 32 bits: the field keeps them whole instead of cutting them to 32 bits."""
    panel = make(qtbot)
    panel.set_request(GenerationRequest(model="/m/dreamy", seed=SEED_MAX))
    panel.steps.setValue(31)
    assert panel.apply_to(GenerationRequest()).seed == SEED_MAX
    panel.seed.clear()
    panel.seed.setFocus()
    qtbot.keyClicks(panel.seed, "123456789012345678901")  # one digit more than SEED_MAX has: refused
    assert panel.seed.text() == "12345678901234567890"


def test_unknown_model_and_sampler_are_kept_visible(qtbot):
    panel = make(qtbot)
    panel.set_request(GenerationRequest(model="/elsewhere/old.safetensors", sampler="Restart"))
    request = panel.apply_to(GenerationRequest())
    assert request.model == "/elsewhere/old.safetensors" and request.sampler == "Restart"
    assert "not found" in panel.model.currentText()


def test_every_control_has_a_tooltip_and_accessible_name(qtbot):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    panel = make(qtbot)
    widgets = [
        w
        for kind in (QComboBox, QAbstractSpinBox, QLineEdit, QAbstractButton)
        for w in panel.findChildren(kind)
    ]
    assert len(widgets) > 15
    for widget in widgets:
        if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QComboBox, QAbstractSpinBox)):
            continue  # the editor inside a spin box or combo box
        assert widget.toolTip(), widget
        assert widget.accessibleName(), widget


def test_strength_only_with_a_source_picture(qtbot):
    panel = make(qtbot)
    panel.set_request(GenerationRequest(model="/m/dreamy"))
    assert not panel.strength.isEnabled() and not panel.clear_init.isEnabled()
    panel.set_init_image("/pics/sketch.png")
    assert panel.strength.isEnabled()
    assert panel.apply_to(GenerationRequest()).init_image == "/pics/sketch.png"
    panel.clear_init.click()
    assert panel.apply_to(GenerationRequest()).init_image is None and not panel.strength.isEnabled()


def test_the_demo_model_is_labelled(qtbot):
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.show()
    demo = SimpleNamespace(name="sd15", reference="/data/models/demo/sd15", family="sd15")
    panel.set_models({"Stable Diffusion 1.5": [demo, *GROUPS["Stable Diffusion 1.5"]]})
    panel.set_request(GenerationRequest(model="/data/models/demo/sd15"))
    assert panel.model_note.isVisible() and "random weights" in panel.model_note.text()
    panel.model.setCurrentIndex(panel.model.findData("/m/dreamy", ROLE_REFERENCE))
    assert not panel.model_note.isVisible()
