"""Settings panel: request round trip, grouped models, size presets per family, seed reuse, hires."""

from __future__ import annotations

from types import SimpleNamespace

from request_state import RequestState

from studio.request import RANDOM_SEED, SEED_MAX, GenerationRequest, HiresSettings
from studio.ui.generation.settings_panel import ROLE_REFERENCE, SettingsPanel

GROUPS = {
    "Stable Diffusion 1.5": [SimpleNamespace(name="dreamy", reference="/m/dreamy", family="sd15")],
    "Stable Diffusion XL": [SimpleNamespace(name="xl-base", reference="/m/xl", family="sdxl")],
}


def make(qtbot, request: GenerationRequest | None = None) -> tuple[SettingsPanel, RequestState]:
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    state = RequestState(request)
    panel.bind(state)
    panel.set_models(GROUPS)
    return panel, state


def test_request_round_trips_through_the_widgets(qtbot):
    panel, state = make(qtbot)
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
    state.set_request(request)
    assert state.updates == []  # showing a request sends nothing back
    assert panel.model.currentData(ROLE_REFERENCE) == "/m/xl" and panel.sampler.currentText() == "Euler a"
    assert (panel.steps.value(), panel.cfg.value(), panel.seed.text()) == (31, 5.5, "4000000000")
    assert (panel.width.value(), panel.height.value(), panel.batch_count.value()) == (832, 1216, 3)
    assert panel.init_image.text() == "/tmp/in.png" and panel.strength.value() == 0.4
    assert panel.hires.settings() == request.hires
    assert panel.size_preset.currentText().startswith("2:3 Portrait")
    state.set_request(GenerationRequest())
    state.set_request(request)  # and the widgets read it back whole
    for name, binding in panel.bindings.items():
        assert binding._read() == binding.values(request), name


def test_each_edit_sends_only_its_own_fields(qtbot):
    panel, state = make(qtbot, GenerationRequest(model="/m/dreamy"))
    panel.steps.setValue(31)
    panel.cfg.setValue(6.5)
    panel.batch_count.setValue(2)
    panel.width.setValue(640)
    panel.hires.setChecked(True)
    assert state.updates == [
        {"steps": 31},
        {"cfg_scale": 6.5},
        {"batch_count": 2},
        {"width": 640, "height": 512},
        {"hires": HiresSettings()},
    ]


def test_a_change_from_elsewhere_writes_only_its_widget(qtbot):
    panel, state = make(qtbot, GenerationRequest(model="/m/dreamy"))
    written = []
    for name, binding in panel.bindings.items():
        binding._write = lambda request, _name=name, _write=binding._write: (
            written.append(_name),
            _write(request),
        )
    state.update(steps=7)
    assert written == ["steps"] and panel.steps.value() == 7
    assert state.updates == [{"steps": 7}]  # nothing sent back


def test_models_are_grouped_with_headers_that_cannot_be_chosen(qtbot):
    panel, _state = make(qtbot)
    texts = [panel.model.itemText(i).strip() for i in range(panel.model.count())]
    assert texts == ["Stable Diffusion 1.5", "dreamy", "Stable Diffusion XL", "xl-base"]
    header = panel.model.model().item(0)
    assert not header.isEnabled() and header.data(ROLE_REFERENCE) is None
    assert panel.has_models()


def test_size_presets_follow_the_model_family(qtbot):
    panel, state = make(qtbot, GenerationRequest(model="/m/dreamy", width=512, height=768))
    assert panel.size_preset.currentText().startswith("2:3")
    panel.model.setCurrentIndex(panel.model.findData("/m/xl", ROLE_REFERENCE))
    request = state.request
    assert request.model == "/m/xl"
    assert (request.width, request.height) == (832, 1216)  # same aspect ratio at SDXL's native size
    panel.width.setValue(1000)
    assert panel.size_preset.currentText() == "Custom"


def test_seed_random_fixed_and_reuse_last(qtbot):
    panel, state = make(qtbot, GenerationRequest(model="/m/dreamy"))
    assert panel.random_seed.isChecked() and not panel.seed.isEnabled()
    assert not panel.reuse_seed.isEnabled()
    panel.set_last_seed(987654)
    assert panel.reuse_seed.isEnabled() and "987654" in panel.reuse_seed.toolTip()
    with qtbot.waitSignal(panel.reuse_seed_requested, timeout=1000):  # the state owns the seed and fixes it
        panel.reuse_seed.click()
    state.set_request(GenerationRequest(model="/m/dreamy", seed=987654))
    assert not panel.random_seed.isChecked() and panel.seed.text() == "987654" and panel.seed.isEnabled()
    panel.random_seed.setChecked(True)
    assert state.request.seed == RANDOM_SEED and not panel.seed.isEnabled()
    assert panel.seed.text() == ""  # the last seed shows instead, greyed; the typed one is kept for unticking
    panel.random_seed.setChecked(False)
    assert state.request.seed == 987654
    panel.seed.clear()
    panel.seed.textEdited.emit("")
    assert state.request.seed == RANDOM_SEED  # an empty seed is a random one


def test_with_random_on_the_seed_field_shows_the_last_seed_used(qtbot):
    panel, state = make(qtbot, GenerationRequest(model="/m/dreamy"))
    assert panel.seed.text() == "" and panel.seed.placeholderText() == "new each time"
    panel.set_last_seed(1234)
    assert panel.seed.placeholderText() == "last: 1234" and not panel.seed.isEnabled()
    panel.random_seed.setChecked(False)  # nothing typed before: unticking starts from the last seed
    assert panel.seed.text() == "1234" and state.request.seed == 1234


def test_size_boxes_are_labelled_and_the_two_strengths_are_named_apart(qtbot):
    from PySide6.QtWidgets import QLabel

    from studio.request import ControlInput
    from studio.ui.control.control_row import ControlRow

    panel, _state = make(qtbot, GenerationRequest(model="/m/dreamy"))
    buddies = {label.text(): label.buddy() for label in panel.size_picker.findChildren(QLabel)}
    assert buddies == {"W": panel.width, "H": panel.height}
    assert panel.strength_label.text().split() == ["Denoising", "strength"]
    row = ControlRow(ControlInput(type="canny", image=""), controlnet_folders=[])
    qtbot.addWidget(row)
    texts = {label.text() for label in row.findChildren(QLabel)}
    assert "Control weight" in texts and "Strength" not in texts


def test_a_64_bit_seed_from_an_image_survives_an_edit(qtbot):
    """ComfyUI writes seeds past 32 bits: the field keeps them whole instead of cutting them to 32 bits."""
    panel, state = make(qtbot, GenerationRequest(model="/m/dreamy", seed=SEED_MAX))
    panel.steps.setValue(31)
    assert state.request.seed == SEED_MAX and panel.seed.text() == str(SEED_MAX)
    panel.seed.clear()
    panel.seed.setFocus()
    qtbot.keyClicks(panel.seed, "123456789012345678901")  # one digit more than SEED_MAX has: refused
    assert panel.seed.text() == "12345678901234567890"


def test_unknown_model_and_sampler_are_kept_visible(qtbot):
    panel, state = make(qtbot, GenerationRequest(model="/elsewhere/old.safetensors", sampler="Restart"))
    panel.steps.setValue(31)
    request = state.request
    assert panel.model.currentData(ROLE_REFERENCE) == "/elsewhere/old.safetensors"
    assert panel.sampler.currentText() == "Restart"
    assert request.model == "/elsewhere/old.safetensors" and request.sampler == "Restart"
    assert "not found" in panel.model.currentText()


def test_every_control_has_a_tooltip_and_accessible_name(qtbot):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit

    panel, _state = make(qtbot)
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
    panel, state = make(qtbot, GenerationRequest(model="/m/dreamy"))
    assert not panel.strength.isEnabled() and not panel.clear_init.isEnabled()
    panel.set_init_image("/pics/sketch.png")
    assert panel.strength.isEnabled()
    assert state.request.init_image == "/pics/sketch.png"
    panel.clear_init.click()
    assert state.request.init_image is None and not panel.strength.isEnabled()
    state.update(init_image="/pics/photo.png", strength=0.35)
    assert panel.strength.isEnabled() and panel.strength.value() == 0.35


def test_the_demo_model_is_labelled(qtbot):
    panel = SettingsPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.bind(RequestState(GenerationRequest(model="/data/models/demo/sd15")))
    demo = SimpleNamespace(name="sd15", reference="/data/models/demo/sd15", family="sd15")
    panel.set_models({"Stable Diffusion 1.5": [demo, *GROUPS["Stable Diffusion 1.5"]]})
    assert panel.model_note.isVisible() and "random weights" in panel.model_note.text()
    panel.model.setCurrentIndex(panel.model.findData("/m/dreamy", ROLE_REFERENCE))
    assert not panel.model_note.isVisible()


def test_a_long_last_seed_still_fits_the_seed_field(qtbot):
    panel, _state = make(qtbot, GenerationRequest(model="/m/dreamy"))
    panel.resize(330, 800)
    panel.show()
    qtbot.waitExposed(panel)
    for seed in (1234, 3309153994):
        panel.set_last_seed(seed)
        shown = panel.seed.placeholderText()
        assert shown in (f"last: {seed}", str(seed))
        assert panel.seed.fontMetrics().horizontalAdvance(shown) <= panel.seed.width() - 12
    panel.set_last_seed(1234)
    assert panel.seed.placeholderText() == "last: 1234"


def test_clip_skip_shows_and_sends_its_field(qtbot):
    panel, state = make(qtbot, GenerationRequest(model="/m/dreamy", clip_skip=2))
    assert panel.clip_skip.value() == 2
    panel.clip_skip.setValue(1)
    assert state.updates == [{"clip_skip": 1}]
