"""The waiting generations: each shows its inputs, size, seed and what sets its prompt apart; drag to reorder
(the worker then takes them in the new order), Delete removes; a paused (restored) queue can be resumed."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.state.jobs import JobQueue
from studio.ui.gallery.queue_entry import THUMB, entry_lines, input_thumbnail

JOB_ID_ROLE = Qt.ItemDataRole.UserRole
EMPTY_TEXT = (
    "Generate while a picture is being made, and the next ones wait here. Drag them to change the order."
)


class QueueList(QListWidget):
    """The list of waiting jobs; empty, it says what will appear in it. ``dropped`` follows an entry's drop."""

    dropped = Signal()

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().dropEvent(event)
        self.dropped.emit()  # whether Qt moved the row or inserted a copy and removed the original

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if self.count() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(self.viewport().rect().adjusted(12, 8, -12, -8), flags, EMPTY_TEXT)


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
        self.list = QueueList(self)
        self.list.setAccessibleName("Queued generations")
        # Long labels end in "…" (the tooltip has the prompt) instead of a sideways scroll bar.
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setToolTip(
            "Generations waiting their turn. Generate while a picture is being made adds here. Drag an entry "
            "(or Ctrl+Up/Down) to change the order they run in."
        )
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setSpacing(2)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setMinimumHeight(2 * (THUMB + 8))
        # A drop moves the row in the list's model; the queue follows once the drop is over (rebuilding the
        # list inside the drop would delete the items Qt is still moving).
        self.list.model().rowsMoved.connect(lambda *_: QTimer.singleShot(0, self._order_from_list))
        self.list.dropped.connect(lambda: QTimer.singleShot(0, self._order_from_list))
        layout.addWidget(self.list, 1)
        self.remove.clicked.connect(self._remove_selected)
        self.resume.clicked.connect(self.resume_requested)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        queue.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        selected = {int(item.data(JOB_ID_ROLE)) for item in self.list.selectedItems()}
        self.list.clear()
        jobs = self.queue.jobs()
        for position, job in enumerate(jobs, start=1):
            others = [other.request.prompt for other in jobs if other.id != job.id]
            item = QListWidgetItem(
                input_thumbnail(job.request), "\n".join(entry_lines(job, position, others))
            )
            item.setData(JOB_ID_ROLE, job.id)
            item.setToolTip(job.request.prompt or "(empty prompt)")
            self.list.addItem(item)
            item.setSelected(job.id in selected)
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
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and event.key() in (
            Qt.Key.Key_Up,
            Qt.Key.Key_Down,
        ):
            self.move_selected(-1 if event.key() == Qt.Key.Key_Up else 1)
            return
        super().keyPressEvent(event)

    def move_selected(self, step: int) -> None:
        """Move the selected job ``step`` places towards the end (negative: towards the front)."""
        row = self.list.currentRow()
        if row >= 0:
            self.queue.move(int(self.list.item(row).data(JOB_ID_ROLE)), row + step)
            self.list.setCurrentRow(max(0, min(row + step, self.list.count() - 1)))

    def _order_from_list(self) -> None:
        """After a drag: the list's order becomes the queue's order."""
        ids = [self.list.item(row).data(JOB_ID_ROLE) for row in range(self.list.count())]
        ids = list(dict.fromkeys(int(job_id) for job_id in ids if job_id is not None))
        for index, job_id in enumerate(ids):
            self.queue.move(job_id, index)
        self.refresh()  # the positions in the labels

    def _remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.remove_requested.emit(int(item.data(JOB_ID_ROLE)))

    def _update_buttons(self) -> None:
        self.remove.setEnabled(bool(self.list.selectedItems()))
        self.resume.setVisible(self.queue.paused and len(self.queue) > 0)
