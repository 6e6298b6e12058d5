"""Generation settings: model, sampler, steps, CFG, seed, size, batch, img2img and upscale & refine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, Signal
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
from studio.state.model_list import family_label, model_labels
from studio.ui.binding import FieldBinding, RequestState
from studio.ui.generation.hires_box import HiresBox
from studio.ui.generation.size_picker import SizePicker

ROLE_REFERENCE = Qt.ItemDataRole.UserRole
ROLE_FAMILY = Qt.ItemDataRole.UserRole + 1
ROLE_PROBLEM = Qt.ItemDataRole.UserRole + 2


def is_demo_model(reference: str) -> bool:
    """The offline demo models live in ``<models>/demo`` (see ``AppState.create_demo_models``)."""
    return bool(reference) and Path(reference).parent.name == "demo"


def _tip(widget: QWidget, name: str, tip: str) -> QWidget:
    widget.setToolTip(tip)
    widget.setAccessibleName(name)
    return widget


class SettingsPanel(QWidget):
    """Edits everything but the prompt: ``bind(state)`` ties each field of the state's request to its widget."""

    add_model_requested = Signal()
    download_requested = Signal()
    browse_init_requested = Signal()
    reuse_seed_requested = Signal()  # "Reuse": the state owns the last seed and fixes it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bindings: dict[str, FieldBinding] = {}
        self._last_seed: int | None = None
        self._kept_seed = ""  # the seed typed before Random was ticked, back when it is unticked
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
        self.clip_skip = _tip(
            QSpinBox(self),
            "Clip skip",
            "Which text-encoder layer reads the prompt, counted from the end. 1 for most models; "
            "2 for many anime models (as their pages say).",
        )
        self.clip_skip.setRange(1, 12)
        # Two digits show in 64 px; the style's generous hint (87 px) cut the panel's right edge at 1280x800.
        self.clip_skip.setMinimumWidth(64)
        # Beside the CFG scale: one more row would push the panel past a 1280x800 window's height.
        form.addRow("CFG scale", self._row(self.cfg, QLabel("Clip skip", self), self.clip_skip))

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
            QPushButton("Reuse", self),  # short: the seed field beside it shows "last: 1234"
            "Reuse last seed",
            "Fix the seed of the last picture, to vary it by changing the prompt.",
        )
        self.reuse_seed.setEnabled(False)
        self._update_seed_placeholder()
        self.seed.installEventFilter(self)
        # Room for a ten-digit seed (the largest a random one is), typed or shown as the last one used.
        self.seed.setMinimumWidth(self.seed.fontMetrics().horizontalAdvance("4294967295") + 14)
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
        # "Denoising", not "Strength": the Control tab has a strength too (its "Control weight"). The label is
        # greyed with the field: it too is unavailable.
        self.strength_label = QLabel("Denoising\nstrength", self)  # two lines: the label column stays narrow
        form.addRow(self.strength_label, self.strength)

        self.hires = HiresBox(self)
        form.addRow(self.hires)

        self.add_model.clicked.connect(self.add_model_requested)
        self.download.clicked.connect(self.download_requested)
        self.browse_init.clicked.connect(self.browse_init_requested)
        self.clear_init.clicked.connect(lambda: self.set_init_image(None))
        self.reuse_seed.clicked.connect(self.reuse_seed_requested)
        self.random_seed.toggled.connect(self._random_toggled)  # before the binding's: it reads the field
        self.model.currentIndexChanged.connect(self._model_changed)
        self.init_image.textChanged.connect(self._update_init_controls)
        self.random_seed.setChecked(True)
        self.hires.set_settings(None)
        self._update_init_controls()

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
        blocker = QSignalBlocker(self.model)  # refilling the list is no choice of the artist's
        self._models.clear()
        bold = QFont()
        bold.setBold(True)
        names = model_labels([entry for entries in grouped.values() for entry in entries])
        for label, entries in grouped.items():
            header = QStandardItem(label)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            header.setFont(bold)
            self._models.appendRow(header)
            for entry in entries:
                problem = getattr(entry, "problem", None)
                name = names.get(str(entry.reference), entry.name)
                item = QStandardItem(f"   ⚠ {name}" if problem else f"   {name}")
                item.setData(str(entry.reference), ROLE_REFERENCE)
                item.setData(entry.family, ROLE_FAMILY)
                item.setData(problem, ROLE_PROBLEM)
                item.setToolTip(f"{entry.name}\n{problem or family_label(entry.family)}\n{entry.reference}")
                if problem:
                    item.setFlags(Qt.ItemFlag.NoItemFlags)  # listed so the artist sees why, never chosen
                self._models.appendRow(item)
        self._select_model(current or "")
        blocker.unblock()
        if "model" in self.bindings:
            self.bindings["model"].show()  # the request's model may be listed now

    def model_family(self) -> str:
        return self.model.currentData(ROLE_FAMILY) or "sd15"

    def has_models(self) -> bool:
        return any(self._models.item(row).data(ROLE_REFERENCE) for row in range(self._models.rowCount()))

    def _select_model(self, reference: str) -> None:
        """Show ``reference`` as the chosen model, with no edit sent (the caller blocks the signals)."""
        with QSignalBlocker(self.model):
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
            self._show_model_note()

    def _show_model_note(self) -> None:
        # Beside the list: why the chosen model cannot paint (a session or an image may name a broken one), or
        # that the tiny demo paints noise by design.
        problem = self.model.currentData(ROLE_PROBLEM)
        if problem:
            self.model_note.setText(f"This model cannot be used: {problem} Choose another model.")
        elif is_demo_model(self.model.currentData(ROLE_REFERENCE) or ""):
            self.model_note.setText(f"Demo model: {DEMO_LABEL}.")
        self.model_note.setVisible(bool(problem) or is_demo_model(self.model.currentData(ROLE_REFERENCE) or ""))

    def _model_changed(self) -> None:
        self._show_model_note()
        # A new family wants its native size; keep the aspect ratio the artist had picked.
        # The model goes to the request first: the size the new family brings must not undo the choice.
        chosen = bool(self.model.currentData(ROLE_REFERENCE))
        if chosen and "model" in self.bindings:
            self.bindings["model"].commit()
        self.size_picker.set_family(self.model_family(), keep_ratio=chosen)

    # --- seed and source --------------------------------------------------------------------------------

    def set_last_seed(self, seed: int) -> None:
        """Say which seed "Reuse" fixes; the seed itself comes back through the state's request."""
        self._last_seed = seed
        self._update_seed_placeholder()
        self.reuse_seed.setEnabled(True)
        self.reuse_seed.setToolTip(
            f"Fix the seed of the last picture ({seed}) to vary it by changing the prompt."
        )

    def set_init_image(self, path: str | None) -> None:
        self.init_image.setText(path or "")  # ``textChanged`` sends it to the request

    def _update_init_controls(self) -> None:
        # Strength only means something with a source picture; greyed out it cannot confuse.
        has_source = bool(self.init_image.text())
        self.strength.setEnabled(has_source)
        self.strength_label.setEnabled(has_source)
        self.clear_init.setEnabled(has_source)

    # --- request <-> widgets ----------------------------------------------------------------------------

    def bind(self, state: RequestState) -> None:
        """Tie each field of ``state.request`` to its widget(s), once."""

        def bind(name: str, fields, read, write, edited, widgets) -> None:
            self.bindings[name] = FieldBinding(state, fields, read, write, edited, widgets)

        bind(
            "model",
            ("model",),
            lambda: {"model": self.model.currentData(ROLE_REFERENCE) or ""},
            lambda request: self._select_model(request.model),
            (),  # sent by ``_model_changed``, before the new family's size
            (self.model,),
        )
        bind(
            "sampler",
            ("sampler",),
            lambda: {"sampler": self.sampler.currentText()},
            self._show_sampler,
            (self.sampler.currentIndexChanged,),
            (self.sampler,),
        )
        # The spin boxes that are one number each; fractions are kept to two decimals, as typed.
        for name, spin in (
            ("steps", self.steps),
            ("cfg_scale", self.cfg),
            ("clip_skip", self.clip_skip),
            ("batch_count", self.batch_count),
            ("strength", self.strength),
        ):
            bind(
                name,
                (name,),
                lambda name=name, spin=spin: {name: round(spin.value(), 2)},
                lambda request, name=name, spin=spin: spin.setValue(getattr(request, name)),
                (spin.valueChanged,),
                (spin,),
            )
        bind(
            "seed",
            ("seed",),
            lambda: {"seed": self._shown_seed()},
            self._show_seed,
            (self.random_seed.toggled, self.seed.textEdited),
            (self.random_seed, self.seed),
        )
        bind(
            "size",
            ("width", "height"),
            lambda: {"width": self.width.value(), "height": self.height.value()},
            lambda request: self.size_picker.set_size(request.width, request.height),
            (self.size_picker.changed,),
            (self.size_picker,),
        )
        bind(
            "init_image",
            ("init_image",),
            lambda: {"init_image": self.init_image.text() or None},
            self._show_init_image,
            (self.init_image.textChanged,),
            (self.init_image,),
        )
        bind(
            "hires",
            ("hires",),
            lambda: {"hires": self.hires.settings()},
            lambda request: self.hires.set_settings(request.hires),
            (self.hires.changed,),
            (self.hires,),
        )

    def _show_sampler(self, request: GenerationRequest) -> None:
        if self.sampler.findText(request.sampler) < 0:
            self.sampler.addItem(request.sampler)  # shown as it is; the engine explains if unusable
        self.sampler.setCurrentText(request.sampler)

    def _shown_seed(self) -> int:
        seed_text = self.seed.text()
        return RANDOM_SEED if self.random_seed.isChecked() or not seed_text else int(seed_text)

    def _show_seed(self, request: GenerationRequest) -> None:
        random = request.seed == RANDOM_SEED
        self.random_seed.setChecked(random)
        self.seed.setEnabled(not random)
        if random:
            self._keep_typed_seed()
        else:
            self.seed.setText(str(request.seed))

    def _random_toggled(self, on: bool) -> None:
        """Random on: the field shows the last seed used, greyed; off: the seed typed before, or the last one."""
        if on:
            self._keep_typed_seed()
        elif not self.seed.text():
            last = "" if self._last_seed is None else str(self._last_seed)
            self.seed.setText(self._kept_seed or last)
        self.seed.setEnabled(not on)

    def _keep_typed_seed(self) -> None:
        if self.seed.text():
            self._kept_seed = self.seed.text()
            self.seed.clear()  # the placeholder, "last: 1234", shows instead

    def _update_seed_placeholder(self) -> None:
        if self._last_seed is None:
            self.seed.setPlaceholderText("new each time")
            return
        # "last: 1234"; a ten-digit seed alone when the words do not fit the field (about 95 px at 1280x800).
        text = f"last: {self._last_seed}"
        room = self.seed.width() - 12  # the frame and text margins
        fits = self.seed.fontMetrics().horizontalAdvance(text) <= room or not self.seed.isVisible()
        self.seed.setPlaceholderText(text if fits else str(self._last_seed))
        self.seed.setToolTip(
            f"The same seed with the same settings gives the same picture. The last picture's was {self._last_seed}."
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.seed and event.type() == QEvent.Type.Resize:
            self._update_seed_placeholder()  # the field's width decides how its placeholder reads
        return False

    def _show_init_image(self, request: GenerationRequest) -> None:
        self.init_image.setText(request.init_image or "")
        self._update_init_controls()
