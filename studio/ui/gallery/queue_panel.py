"""The waiting generations, each removable; a paused (restored) queue can be resumed."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.state.jobs import JobQueue

JOB_ID_ROLE = Qt.ItemDataRole.UserRole


class QueuePanel(QWidget):
    remove_requested = Signal(int)  # job id
    resume_requested = Signal()

    def __init__(self, queue: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        self.title = QLabel("Queue", self)
        self.title.setObjectName("caption")
        self.resume = QPushButton("Resume queue", self)
        self.resume.setAccessibleName("Resume queue")
        self.resume.setToolTip("Run the waiting generations restored from the last session.")
        self.remove = QPushButton("Remove", self)
        self.remove.setAccessibleName("Remove from queue")
        self.remove.setToolTip("Take the selected generation out of the queue (Delete).")
        header.addWidget(self.title, 1)
        header.addWidget(self.resume)
        header.addWidget(self.remove)
        layout.addLayout(header)
        self.where = QLabel(self)  # where the running jobs are generated, when several servers share the queue
        self.where.setAccessibleName("Where the jobs run")
        layout.addWidget(self.where)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Queued generations")
        # Long labels end in "…" (the tooltip has the prompt) instead of a sideways scroll bar.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setToolTip(
            "Generations waiting their turn. Generate while a picture is being made adds here."
        )
        layout.addWidget(self.list)
        self.remove.clicked.connect(self._remove_selected)
        self.resume.clicked.connect(self.resume_requested)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        queue.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for position, job in enumerate(self.queue.jobs(), start=1):
            item = QListWidgetItem(f"{position}. {job.label()}")
            item.setData(JOB_ID_ROLE, job.id)
            item.setToolTip(job.request.prompt or "(empty prompt)")
            self.list.addItem(item)
        count = len(self.queue)
        self.title.setText(f"Queue ({count} waiting)" if count else "Queue (empty)")
        self.where.setText(self.queue.running_text())
        self.where.setToolTip(self.where.text())
        self.where.setVisible(bool(self.where.text()))
        self._update_buttons()

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._remove_selected()
            return
        super().keyPressEvent(event)

    def _remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.remove_requested.emit(int(item.data(JOB_ID_ROLE)))

    def _update_buttons(self) -> None:
        self.remove.setEnabled(bool(self.list.selectedItems()))
        self.resume.setVisible(self.queue.paused and len(self.queue) > 0)
