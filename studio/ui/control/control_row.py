"""One ControlNet input in the control panel: what it follows, from where, through which model, how strongly,
with a small preview of the pre-processed image the model will see."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.models.annotators import CANNY_DEFAULTS
from studio.models.controlnets import (
    CONTROL_TYPES,
    RECOMMENDED_CONTROLNETS,
    controlnet_choices,
    controlnet_label,
    local_download,
    preferred_controlnet,
)
from studio.models.model_folders import model_folders
from studio.request import ControlInput
from studio.ui.shell.icons import icon

SOURCES = (("canvas", "This sketch"), ("image", "An image file"), ("pose", "A pose"))
PREPROCESSORS = (("auto", "Automatic"), ("none", "None (a ready control map)"))
PREVIEW_SIZE = 96
_IMAGE_FILES = "Images (*.png *.jpg *.jpeg *.webp);;All files (*)"
_MODEL_FILES = "ControlNet (*.safetensors *.pth *.bin);;All files (*)"


def _spin(low: float, high: float, step: float, name: str, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(2)
    spin.setAccessibleName(name)
    spin.setToolTip(tip)
    return spin


class ControlRow(QFrame):
    """``control()`` builds the ``ControlInput``; ``changed`` fires on the artist's edits only."""

    changed = Signal()
    remove_requested = Signal(object)  # this row
    download_requested = Signal(str)  # a recommended repo id

    def __init__(
        self,
        control: ControlInput,
        parent: QWidget | None = None,
        *,
        controlnet_folders: Sequence[Path] | None = None,
        model_family: str | None = None,
        served: Sequence[str] | None = None,
    ) -> None:
        super().__init__(parent)
        # Where ControlNets are listed from and downloads are looked for (None: the studio's own folder).
        self.controlnet_folders = list(controlnet_folders) if controlnet_folders is not None else None
        self.model_family = model_family  # the image model's family: its ControlNets are listed first
        # While servers are in use: the pool's ControlNets (server file names), listed instead of the folders.
        self.served = list(served) if served is not None else None
        self.auto_model = True  # the row picked the ControlNet itself (a type change may pick again)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("controlRow")
        self._loading = False
        self._params: dict = {}
        self.canvas_path = ""
        self.enabled = QCheckBox("On")
        self.enabled.setToolTip("Use this control input (unticked ones are kept here but not used)")
        self.type = QComboBox()
        self.type.addItems(list(CONTROL_TYPES))
        self.type.setAccessibleName("Control type")
        self.type.setToolTip("What the picture must follow: lines, edges, a pose, depth…")
        self.remove = QToolButton()
        self.remove.setText("Remove")
        self.remove.setIcon(icon("trash"))
        self.remove.setToolTip("Remove this control input")
        self.preview = QLabel("…")
        self.preview.setFixedSize(PREVIEW_SIZE, PREVIEW_SIZE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setObjectName("controlPreview")
        self.preview.setToolTip("What the ControlNet will follow (the pre-processed control image)")
        self.preview.setWordWrap(True)
        self.source = QComboBox()
        for key, label in SOURCES:
            self.source.addItem(label, key)
        self.source.setAccessibleName("Control source")
        self.image = QLineEdit()
        self.image.setPlaceholderText("Image file")
        self.image.setAccessibleName("Control image file")
        self.browse = QPushButton(icon("folder"), "")
        self.browse.setToolTip("Choose the image")
        self.browse.setFixedWidth(28)
        # Names, not ids: each item's data is the reference recorded (repo id, folder or file).
        self.model = QComboBox()
        self.model.setAccessibleName("ControlNet model")
        self.model.setToolTip(
            "The ControlNet that makes the picture follow this input; installed ones of the model's family "
            "come first. The folder button picks a file."
        )
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(12)
        self.model_browse = QPushButton(icon("folder"), "")
        self.model_browse.setFixedWidth(28)
        self.model_browse.setToolTip("Choose a ControlNet file")
        self.download = QPushButton("Download")
        self.download.setToolTip("Download the recommended ControlNet shown")
        self.scale = _spin(
            0.0, 2.0, 0.05, "Control weight", "How strongly the picture follows the control"
        )
        self.start = _spin(0.0, 1.0, 0.05, "Guidance start", "When the control starts acting (0: first step)")
        self.end = _spin(
            0.0, 1.0, 0.05, "Guidance end", "When it stops (1: last step); stopping early frees details"
        )
        self.preprocessor = QComboBox()
        for key, label in PREPROCESSORS:
            self.preprocessor.addItem(label, key)
        self.preprocessor.setAccessibleName("Pre-processor")
        self.low = QSpinBox()
        self.high = QSpinBox()
        for spin, name in ((self.low, "Canny low threshold"), (self.high, "Canny high threshold")):
            spin.setRange(0, 255)
            spin.setAccessibleName(name)
            spin.setToolTip(f"{name}: lower finds more edges")
        self._layout()
        self.set_control(control)
        self.enabled.toggled.connect(self._edited)
        self.type.currentIndexChanged.connect(self._type_changed)
        self.source.currentIndexChanged.connect(self._edited)
        self.image.editingFinished.connect(self._edited)
        self.model.currentIndexChanged.connect(self._edited)
        self.model.activated.connect(self._model_picked)  # the artist's pick (even of the shown one)
        self.preprocessor.currentIndexChanged.connect(self._edited)
        for spin in (self.scale, self.start, self.end, self.low, self.high):
            spin.valueChanged.connect(self._edited)
        self.browse.clicked.connect(self._choose_image)
        self.model_browse.clicked.connect(self._choose_model)
        self.download.clicked.connect(lambda: self.download_requested.emit(self.model_reference()))
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))

    def _layout(self) -> None:
        # One column: the side panel is about 330 px wide, too narrow for the preview beside the fields.
        column = QVBoxLayout(self)
        for combo in (self.type, self.source, self.preprocessor):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        column.setContentsMargins(6, 6, 6, 6)
        head = QHBoxLayout()
        head.addWidget(self.enabled)
        head.addWidget(self.type, 1)
        head.addWidget(self.remove)
        column.addLayout(head)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.image_row = QWidget()
        image_line = QHBoxLayout(self.image_row)
        image_line.setContentsMargins(0, 0, 0, 0)
        image_line.addWidget(self.image, 1)
        image_line.addWidget(self.browse)
        form.addRow("From", self.source)
        form.addRow("", self.image_row)
        model_line = QHBoxLayout()
        model_line.addWidget(self.model, 1)
        model_line.addWidget(self.model_browse)
        form.addRow("Model", model_line)
        form.addRow("", self.download)
        form.addRow("Control weight", self.scale)  # not "Strength": that is denoising
        steps = QHBoxLayout()
        steps.addWidget(self.start, 1)
        steps.addWidget(QLabel("to"))
        steps.addWidget(self.end, 1)
        form.addRow("Acts from", steps)
        form.addRow("Pre-process", self.preprocessor)
        self.canny_row = QWidget()
        canny = QHBoxLayout(self.canny_row)
        canny.setContentsMargins(0, 0, 0, 0)
        canny.addWidget(self.low, 1)
        canny.addWidget(QLabel("to"))
        canny.addWidget(self.high, 1)
        form.addRow("Edges", self.canny_row)
        form.addRow("Model sees", self.preview)
        self._form = form
        column.addLayout(form)

    # --- in and out -----------------------------------------------------------------------------------

    def set_control(self, control: ControlInput) -> None:
        self._loading = True
        try:
            self.enabled.setChecked(control.enabled)
            if self.type.findText(control.type) < 0:  # a type from another tool: kept, the engine judges it
                self.type.addItem(control.type)
            self.type.setCurrentText(control.type)
            self.source.setCurrentIndex(max(0, self.source.findData(control.source)))
            if control.source == "canvas":
                self.canvas_path = control.image
            else:
                self.image.setText(control.image)
            self._fill_models(control.type)
            self.set_model(control.model)
            self.auto_model = not control.model  # one the request names was chosen by someone
            self.scale.setValue(control.scale)
            self.start.setValue(control.start)
            self.end.setValue(control.end)
            index = self.preprocessor.findData(control.preprocessor)
            if index < 0:  # a pre-processor chosen elsewhere (metadata, CLI): kept as it is
                self.preprocessor.addItem(control.preprocessor, control.preprocessor)
                index = self.preprocessor.count() - 1
            self.preprocessor.setCurrentIndex(index)
            self._params = dict(control.params or {})
            self.low.setValue(int(self._params.get("low_threshold", CANNY_DEFAULTS[0])))
            self.high.setValue(int(self._params.get("high_threshold", CANNY_DEFAULTS[1])))
            self.refresh()
        finally:
            self._loading = False

    def is_enabled(self) -> bool:
        return self.enabled.isChecked()

    def control(self) -> ControlInput:
        source = self.source.currentData()
        params = dict(self._params)
        if self.type.currentText() == "canny":
            params.update(low_threshold=self.low.value(), high_threshold=self.high.value())
        return ControlInput(
            type=self.type.currentText(),
            image=self.canvas_path if source == "canvas" else self.image.text().strip(),
            model=self.model_reference(),
            source=source,
            scale=round(self.scale.value(), 2),
            start=round(self.start.value(), 2),
            end=round(self.end.value(), 2),
            preprocessor=self.preprocessor.currentData(),
            params=params,
            enabled=self.is_enabled(),
        )

    def set_preview(self, pixmap: QPixmap | None, text: str = "") -> None:
        if pixmap is None or pixmap.isNull():
            self.preview.setPixmap(QPixmap())
            self.preview.setText(text or "No preview")
        else:
            self.preview.setPixmap(
                pixmap.scaled(
                    PREVIEW_SIZE,
                    PREVIEW_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        self.preview.setToolTip(text or "What the ControlNet will follow (the pre-processed control image)")

    # --- edits ----------------------------------------------------------------------------------------

    def set_controlnet_folders(self, folders: Sequence[Path]) -> None:
        """List ControlNets from ``folders`` (after the models folder changed, or a download)."""
        self.controlnet_folders = list(folders)
        self.refresh_models()

    def set_served(self, served: Sequence[str] | None) -> None:
        """List the servers' ControlNets (None: this computer's again); a ControlNet the row picked itself is
        picked again from the new list (one the artist chose stays)."""
        self.served = list(served) if served is not None else None
        self.refresh_models()
        if self.auto_model:
            self.set_model(self._preferred(self.type.currentText()))
            self.refresh()

    def _preferred(self, control_type: str) -> str:
        return preferred_controlnet(control_type, self.model_family, self.controlnet_folders, self.served)

    def refresh_models(self) -> None:
        """List the ControlNets on disk again (one was downloaded), keeping the chosen one."""
        self._fill_models(self.type.currentText())
        self.refresh()

    def downloaded(self, repo_id: str) -> Path | None:
        """Where the recommended ``repo_id`` was downloaded to, or None."""
        return local_download(repo_id, self.controlnet_folders or ())

    def model_reference(self) -> str:
        """The chosen ControlNet as the request records it: a repo id, a folder or a file path."""
        return str(self.model.currentData() or "")

    def set_model(self, reference: str) -> None:
        """Show ``reference`` as the chosen ControlNet, listed by name (added when the list lacks it)."""
        reference = (reference or "").strip()
        with QSignalBlocker(self.model):
            index = self.model.findData(reference) if reference else -1
            if index < 0 and reference:
                self.model.addItem(controlnet_label(reference), reference)
                index = self.model.count() - 1
                self.model.setItemData(index, reference, Qt.ItemDataRole.ToolTipRole)
            self.model.setCurrentIndex(index)

    def set_model_family(self, family: str | None) -> bool:
        """The image model changed family: list its ControlNets first. A ControlNet the row picked itself is
        picked again for the new family (one the artist chose stays). True when the choice changed."""
        if family == self.model_family:
            return False
        self.model_family = family
        self.refresh_models()
        if not self.auto_model or family is None:
            return False
        before = self.model_reference()
        self.set_model(self._preferred(self.type.currentText()))
        self.refresh()
        return self.model_reference() != before

    def _fill_models(self, control_type: str) -> None:
        current = self.model_reference()
        with QSignalBlocker(self.model):
            self.model.clear()
            choices = controlnet_choices(control_type, self.model_family, self.controlnet_folders, self.served)
            for choice in choices:
                self.model.addItem(choice.label, choice.reference)
                self.model.setItemData(self.model.count() - 1, choice.tooltip, Qt.ItemDataRole.ToolTipRole)
        self.set_model(current)

    def _model_picked(self, *_args) -> None:
        self.auto_model = False  # the artist's own choice: a type or family change keeps it

    def _type_changed(self) -> None:
        if self._loading:
            return
        old_model = self.model_reference()
        new_type = self.type.currentText()
        self._fill_models(new_type)
        recommended = {r.repo_id for r in RECOMMENDED_CONTROLNETS}
        if self.auto_model or not old_model or old_model in recommended:
            # The ControlNet picked for the old type would be wrong for the new one: offer the best for it.
            self.set_model(self._preferred(new_type))
        if new_type == "openpose" and self.source.currentData() == "canvas":
            self.source.setCurrentIndex(self.source.findData("pose"))
        self._edited()

    def refresh(self) -> None:
        source = self.source.currentData()
        self.image_row.setVisible(source != "canvas")
        self.image.setReadOnly(source == "pose")
        self.browse.setVisible(source == "image")
        if source == "pose" and not self.image.text():
            self.image.setPlaceholderText("Make a pose in the Pose tab")
        else:
            self.image.setPlaceholderText("Image file")
        self.canny_row.setVisible(self.type.currentText() == "canny")
        self._form.labelForField(self.canny_row).setVisible(self.type.currentText() == "canny")
        model = self.model_reference()
        recommended = any(r.repo_id == model for r in RECOMMENDED_CONTROLNETS)
        # A server has the files it has: nothing to download here for it.
        self.download.setVisible(self.served is None and recommended and self.downloaded(model) is None)

    def _edited(self, *_args) -> None:
        if self._loading:
            return
        self.refresh()
        self.changed.emit()

    def _choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Control image", str(Path.home()), _IMAGE_FILES)
        if path:
            self.image.setText(path)
            self._edited()

    def _choose_model(self) -> None:
        start = (self.controlnet_folders or [model_folders().controlnets])[0]
        path, _ = QFileDialog.getOpenFileName(self, "ControlNet model", str(start), _MODEL_FILES)
        if path:
            self.auto_model = False
            self.set_model(path)
            self._edited()
