"""Generation settings: model, sampler, steps, CFG, seed, size, batch, img2img and upscale & refine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QRegularExpressionValidator, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from studio.models.demo import DEMO_LABEL
from studio.models.samplers import SAMPLER_NAMES
from studio.request import RANDOM_SEED, SEED_MAX, GenerationRequest
from studio.state.model_list import family_label
from studio.ui.generation.hires_box import HiresBox
from studio.ui.generation.size_picker import SizePicker

ROLE_REFERENCE = Qt.ItemDataRole.UserRole
ROLE_FAMILY = Qt.ItemDataRole.UserRole + 1


def is_demo_model(reference: str) -> bool:
    """The offline demo models live in ``<models>/demo`` (see ``AppState.create_demo_models``)."""
    return bool(reference) and Path(reference).parent.name == "demo"


def _tip(widget: QWidget, name: str, tip: str) -> QWidget:
    widget.setToolTip(tip)
    widget.setAccessibleName(name)
    return widget


class SettingsPanel(QWidget):
    """Edits everything but the prompt. ``changed`` fires on the artist's edits, never on ``set_request``."""

    changed = Signal()
    add_model_requested = Signal()
    download_requested = Signal()
    browse_init_requested = Signal()
    reuse_seed_requested = Signal()  # "Reuse last": the state owns the last seed and fixes it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.model = _tip(
            QComboBox(self), "Model", "The model that paints. SD 1.5 works at 512 px, SDXL at 1024 px."
        )
        self._models = QStandardItemModel(self)
        self.model.setModel(self._models)
        self.add_model = _tip(
            QPushButton("Add model…", self), "Add model", "Use a model file or folder from disk."
        )
        self.download = _tip(
            QPushButton("Download…", self),
            "Download model",
            "Download a model from Hugging Face (needs an internet connection).",
        )
        form.addRow("Model", self.model)
        self.model_note = QLabel(f"Demo model: {DEMO_LABEL}.", self)
        self.model_note.setProperty("role", "warning")
        self.model_note.setWordWrap(True)
        self.model_note.setVisible(False)
        form.addRow("", self.model_note)
        form.addRow("", self._row(self.add_model, self.download))

        self.sampler = _tip(
            QComboBox(self),
            "Sampler",
            "How noise is removed at each step. DPM++ 2M Karras is a good default; Euler a is more varied.",
        )
        self.sampler.addItems(list(SAMPLER_NAMES))
        self.steps = _tip(QSpinBox(self), "Steps", "More steps: more detail and slower. 20–30 is typical.")
        self.steps.setRange(1, 150)
        self.cfg = _tip(
            QDoubleSpinBox(self),
            "CFG scale",
            "How closely to follow the prompt. 5–8 is typical; high values look harsh.",
        )
        self.cfg.setRange(1.0, 30.0)
        self.cfg.setSingleStep(0.5)
        self.cfg.setDecimals(1)
        form.addRow("Sampler", self.sampler)
        form.addRow("Steps", self.steps)
        form.addRow("CFG scale", self.cfg)

        self.random_seed = _tip(
            QCheckBox("Random", self), "Random seed", "A new seed (a new picture) every time."
        )
        self.seed = _tip(
            QLineEdit(self), "Seed", "The same seed with the same settings gives the same picture."
        )
        # As many digits as SEED_MAX has, so a 64-bit seed read from an image shows and survives an edit. The
        # few 20-digit numbers past SEED_MAX are not cut down here: the engine refuses them, saying the range.
        self.seed.setValidator(QRegularExpressionValidator(rf"\d{{0,{len(str(SEED_MAX))}}}", self.seed))
        self.reuse_seed = _tip(
            QPushButton("Reuse last", self),
            "Reuse last seed",
            "Fix the seed of the last picture, to vary it by changing the prompt.",
        )
        self.reuse_seed.setEnabled(False)
        form.addRow("Seed", self._row(self.random_seed, self.seed, self.reuse_seed))

        self.size_picker = SizePicker(self)
        # Short names for the parts other code and tests reach into.
        self.size_preset, self.width, self.height = (
            self.size_picker.preset,
            self.size_picker.width,
            self.size_picker.height,
        )
        form.addRow("Size", self.size_picker)
        self.batch_count = _tip(
            QSpinBox(self), "Batch count", "How many pictures to make, one after another."
        )
        self.batch_count.setRange(1, 100)
        form.addRow("Images", self.batch_count)

        self.init_image = _tip(
            QLineEdit(self),
            "Image to image source",
            "Start from this picture instead of noise (image to image).",
        )
        self.init_image.setReadOnly(True)
        self.init_image.setPlaceholderText("None: start from noise")
        self.browse_init = _tip(QPushButton("Choose…", self), "Choose source image", "Pick a source picture.")
        self.clear_init = _tip(QPushButton("Clear", self), "Clear source image", "Start from noise again.")
        self.strength = _tip(
            QDoubleSpinBox(self),
            "Denoising strength",
            "How much of the source picture to repaint: 0.3 keeps it close, 0.8 changes a lot.",
        )
        self.strength.setRange(0.0, 1.0)
        self.strength.setSingleStep(0.05)
        form.addRow("Source", self.init_image)
        form.addRow("", self._row(self.browse_init, self.clear_init))
        self.strength_label = QLabel("Strength", self)  # greyed with the field: it too is unavailable
        form.addRow(self.strength_label, self.strength)

        self.hires = HiresBox(self)
        form.addRow(self.hires)

        self.add_model.clicked.connect(self.add_model_requested)
        self.download.clicked.connect(self.download_requested)
        self.browse_init.clicked.connect(self.browse_init_requested)
        self.clear_init.clicked.connect(lambda: self.set_init_image(None))
        self.reuse_seed.clicked.connect(self.reuse_seed_requested)
        self.random_seed.toggled.connect(lambda on: (self.seed.setEnabled(not on), self._edited()))
        self.size_picker.changed.connect(self._edited)
        self.model.currentIndexChanged.connect(self._model_changed)
        for widget in (self.steps, self.batch_count):
            widget.valueChanged.connect(self._edited)
        for widget in (self.cfg, self.strength):
            widget.valueChanged.connect(self._edited)
        self.sampler.currentIndexChanged.connect(self._edited)
        self.seed.textEdited.connect(self._edited)
        self.hires.changed.connect(self._edited)
        self.set_request(GenerationRequest())

    def _row(self, *widgets: QWidget) -> QWidget:
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)
        return row

    # --- models -----------------------------------------------------------------------------------------

    def set_models(self, grouped: dict[str, list[Any]]) -> None:
        """Fill the model list: ``grouped`` maps a family label to ModelEntry objects."""
        current = self.model.currentData(ROLE_REFERENCE)
        self._loading = True
        self._models.clear()
        bold = QFont()
        bold.setBold(True)
        for label, entries in grouped.items():
            header = QStandardItem(label)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            header.setFont(bold)
            self._models.appendRow(header)
            for entry in entries:
                item = QStandardItem(f"   {entry.name}")
                item.setData(str(entry.reference), ROLE_REFERENCE)
                item.setData(entry.family, ROLE_FAMILY)
                problem = getattr(entry, "problem", None)
                item.setToolTip(f"{entry.name}\n{problem or family_label(entry.family)}\n{entry.reference}")
                if problem:
                    item.setFlags(Qt.ItemFlag.NoItemFlags)  # listed so the artist sees why, never chosen
                self._models.appendRow(item)
        self._loading = False
        self._select_model(current or "")

    def model_family(self) -> str:
        return self.model.currentData(ROLE_FAMILY) or "sd15"

    def has_models(self) -> bool:
        return any(self._models.item(row).data(ROLE_REFERENCE) for row in range(self._models.rowCount()))

    def _select_model(self, reference: str) -> None:
        self._loading, was_loading = True, self._loading
        try:
            for row in range(self._models.rowCount()):
                if self._models.item(row).data(ROLE_REFERENCE) == reference:
                    self.model.setCurrentIndex(row)
                    break
            else:
                if reference:  # keep a model the list does not know rather than silently switching
                    item = QStandardItem(f"   {Path(reference).name} (not found)")
                    item.setData(reference, ROLE_REFERENCE)
                    self._models.appendRow(item)
                    self.model.setCurrentIndex(self._models.rowCount() - 1)
                else:
                    self.model.setCurrentIndex(-1)
            self.size_picker.set_family(self.model_family())
            # The tiny demo paints noise by design; say so where the model is chosen.
            self.model_note.setVisible(is_demo_model(self.model.currentData(ROLE_REFERENCE) or ""))
        finally:
            self._loading = was_loading

    def _model_changed(self) -> None:
        self.model_note.setVisible(is_demo_model(self.model.currentData(ROLE_REFERENCE) or ""))
        # A new family wants its native size; keep the aspect ratio the artist had picked.
        chosen = not self._loading and bool(self.model.currentData(ROLE_REFERENCE))
        self.size_picker.set_family(self.model_family(), keep_ratio=chosen)
        if chosen:
            self._edited()

    # --- seed and source --------------------------------------------------------------------------------

    def set_last_seed(self, seed: int) -> None:
        """Say which seed "Reuse last" fixes; the seed itself comes back through ``set_request``."""
        self.reuse_seed.setEnabled(True)
        self.reuse_seed.setToolTip(
            f"Fix the seed of the last picture ({seed}) to vary it by changing the prompt."
        )

    def set_init_image(self, path: str | None) -> None:
        self.init_image.setText(path or "")
        self._update_init_controls()
        self._edited()

    def _update_init_controls(self) -> None:
        # Strength only means something with a source picture; greyed out it cannot confuse.
        has_source = bool(self.init_image.text())
        self.strength.setEnabled(has_source)
        self.strength_label.setEnabled(has_source)
        self.clear_init.setEnabled(has_source)

    # --- request <-> widgets ----------------------------------------------------------------------------

    def set_request(self, request: GenerationRequest) -> None:
        """Show ``request``'s settings; does not emit ``changed``."""
        self._loading = True
        try:
            self._select_model(request.model)
            if self.sampler.findText(request.sampler) < 0:
                self.sampler.addItem(request.sampler)  # shown as it is; the engine explains if unusable
            self.sampler.setCurrentText(request.sampler)
            self.steps.setValue(request.steps)
            self.cfg.setValue(request.cfg_scale)
            self.random_seed.setChecked(request.seed == RANDOM_SEED)
            self.seed.setEnabled(request.seed != RANDOM_SEED)
            if request.seed != RANDOM_SEED or not self.seed.text():
                self.seed.setText(str(request.seed) if request.seed != RANDOM_SEED else "")
            self.size_picker.set_size(request.width, request.height)
            self.batch_count.setValue(request.batch_count)
            self.init_image.setText(request.init_image or "")
            self._update_init_controls()
            self.strength.setValue(request.strength)
            self.hires.set_settings(request.hires)
        finally:
            self._loading = False

    def apply_to(self, request: GenerationRequest) -> GenerationRequest:
        seed_text = self.seed.text()
        seed = RANDOM_SEED if self.random_seed.isChecked() or not seed_text else int(seed_text)
        return request.with_changes(
            model=self.model.currentData(ROLE_REFERENCE) or "",
            sampler=self.sampler.currentText(),
            steps=self.steps.value(),
            cfg_scale=round(self.cfg.value(), 2),
            seed=seed,
            width=self.width.value(),
            height=self.height.value(),
            batch_count=self.batch_count.value(),
            init_image=self.init_image.text() or None,
            strength=round(self.strength.value(), 2),
            hires=self.hires.settings(),
        )

    def _edited(self, *_args) -> None:
        if not self._loading:
            self.changed.emit()
