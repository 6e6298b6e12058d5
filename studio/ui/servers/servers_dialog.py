"""Servers…: the ComfyUI servers the queue may use, each checked when saved, and the local engine's part.

Each server has a name, an address and an optional access token (shown as dots; kept in the OS keyring, never
in the preferences file). "Save and check" asks the server, on a thread of its own so a slow or dead server never
freezes the window, what it is: its ComfyUI version, device and free memory, and which nodes the studio needs
it lacks, with what each is for. Unticked servers stay in the list without getting jobs.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.backend.comfyui.server_config import ServerConfig
from studio.backend.comfyui.server_url import check_url, warn_if_plain
from studio.backend.server_pool import ServerEntry
from studio.ui.shell.theme import colour

log = logging.getLogger("studio.ui.servers")

Checker = Callable[[ServerConfig], Any]  # a ServerStatus: reachable, summary() (``connection.check_connection``)
DEFAULT_URL = "http://127.0.0.1:8188"


def check_connection(server: ServerConfig) -> Any:
    from studio.backend.comfyui.connection import check_connection as check

    return check(server)


def describe(status: Any) -> str:
    """What the artist reads about a checked server."""
    if not status.reachable:
        return f"Not reachable. {status.summary()}"
    verdict = "Ready." if status.usable else "Reachable, but not usable as it is."
    return f"{verdict} {status.summary()}"


class _Answers(QObject):
    """Carries a check's answer from its thread. Not the dialog's child: the thread keeps it alive, so a check
    that answers after the dialog closed emits into a live object whose connection Qt has already cut. Once the
    dialog closed, answers are dropped: a check still waiting on a slow server when the studio quits must not
    touch Qt while the application is being torn down."""

    checked = Signal(int, str, str)  # check number, the server's address, what the check found

    def __init__(self) -> None:
        super().__init__()
        self.closed = threading.Event()


class ServersDialog(QDialog):

    def __init__(
        self,
        entries: list[ServerEntry],
        allow_local: bool,
        checker: Checker | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Servers")
        self.setMinimumWidth(620)
        self.resize(780, 500)  # room for a check's report and the http warning without clipping
        self._entries = list(entries)
        self._checker = checker or check_connection  # looked up now: tests replace the module's
        self._checks = itertools.count(1)
        self._latest_check = 0
        self._answers = _Answers()
        self._found: dict[str, str] = {}  # url -> what its last check said

        intro = QLabel(
            "Generate on ComfyUI servers: a desktop under the desk, a rented GPU. With several servers ticked, "
            "the queue sends each picture to a free server that has its model, LoRAs and ControlNets.",
            self,
        )
        intro.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Servers")
        self.list.setToolTip("Ticked servers get jobs; unticked ones stay here for later.")
        self.add = QPushButton("New server", self)
        self.remove = QPushButton("Remove", self)
        self.remove.setToolTip("Remove the selected server and forget its token.")
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        row = QHBoxLayout()
        row.addWidget(self.add)
        row.addWidget(self.remove)
        left.addLayout(row)

        self.name = QLineEdit(self)
        self.name.setAccessibleName("Server name")
        self.name.setPlaceholderText("desk, cloud…")
        self.url = QLineEdit(self)
        self.url.setAccessibleName("Server address")
        self.url.setPlaceholderText(DEFAULT_URL)
        self.token = QLineEdit(self)
        self.token.setAccessibleName("Access token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("optional: sent as a bearer token")
        self.token.setToolTip("Kept in your system's keyring (or a file only your account can read), never logged.")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Address", self.url)
        form.addRow("Token", self.token)
        self.save = QPushButton("Save and check", self)
        self.save.setDefault(False)
        self.problem = QLabel(self)
        self.problem.setStyleSheet(f"color: {colour('error').name()}")
        self.warning = QLabel(self)
        self.warning.setStyleSheet(f"color: {colour('notice').name()}")
        self.status = QLabel(self)
        self.status.setAccessibleName("Server check")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.problem, self.warning, self.status):
            label.setWordWrap(True)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.save, 0, Qt.AlignmentFlag.AlignRight)
        right.addWidget(self.problem)
        right.addWidget(self.warning)
        right.addWidget(self.status)
        right.addStretch(1)
        self.editor = QWidget(self)
        self.editor.setLayout(right)

        columns = QHBoxLayout()
        columns.addLayout(left, 2)
        columns.addWidget(self.editor, 3)
        self.local = QCheckBox("When no server can run a picture, make it on this computer", self)
        self.local.setChecked(allow_local)
        self.local.setToolTip(
            "Off: a picture that no ticked server can make (none has its model, or none answers) fails with a "
            "message instead of running here."
        )
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(columns, 1)
        layout.addWidget(self.local)
        layout.addWidget(self.buttons)

        self.add.clicked.connect(self.new_server)
        self.remove.clicked.connect(self.remove_selected)
        self.save.clicked.connect(self.save_and_check)
        self.list.currentRowChanged.connect(self._show_row)
        self.list.itemChanged.connect(self._on_ticked)
        self.url.textChanged.connect(self._show_url_warning)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self._answers.checked.connect(self._on_checked)
        self.finished.connect(lambda _result: self._answers.closed.set())
        self._fill_list()
        if self._entries:
            self.list.setCurrentRow(0)
        else:
            self._show_row(-1)

    # --- what the window reads after OK ---------------------------------------------------------------------

    def entries(self) -> list[ServerEntry]:
        """The servers as the list shows them, ticked ones in use."""
        return list(self._entries)

    def allow_local(self) -> bool:
        return self.local.isChecked()

    # --- editing ----------------------------------------------------------------------------------------------

    def new_server(self) -> None:
        names = {entry.server.name for entry in self._entries}
        name = next(f"Server {n}" for n in itertools.count(len(self._entries) + 1) if f"Server {n}" not in names)
        self._entries.append(ServerEntry(ServerConfig(name, DEFAULT_URL)))
        self._fill_list()
        self.list.setCurrentRow(len(self._entries) - 1)
        self.name.setFocus()
        self.name.selectAll()

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        del self._entries[row]
        self._fill_list()
        self.list.setCurrentRow(min(row, len(self._entries) - 1))

    def save_and_check(self) -> None:
        """Keep the fields in the selected server and ask it what it is (on a thread: the window stays free)."""
        server = self._save_fields()
        if server is None:
            return
        number = next(self._checks)
        self._latest_check = number
        self.status.setText(f"Checking {server.name} at {server.url}…")
        # Daemon: a server that never answers must not keep the studio alive after it closed.
        threading.Thread(
            target=self._check, args=(number, server, self._answers), name="studio-server-check", daemon=True
        ).start()

    def _save_fields(self) -> ServerConfig | None:
        """The form's server, kept in the list; None (and the reason shown) when a field is unusable."""
        row = self.list.currentRow()
        if row < 0:
            return None
        name = " ".join(self.name.text().split())
        check = check_url(self.url.text())
        others = {entry.server.name for index, entry in enumerate(self._entries) if index != row}
        problem = check.problem
        if not name:
            problem = "Give the server a name: the queue shows it beside each picture made there."
        elif name in others:
            problem = f"Another server is already called '{name}': give this one another name."
        self.problem.setText(problem)
        if problem:
            return None
        server = ServerConfig(name, check.url, self.token.text().strip())
        self._entries[row] = ServerEntry(server, self._entries[row].enabled)
        self.list.item(row).setText(f"{name} — {check.url}")
        self.url.setText(check.url)
        if check.warning:
            warn_if_plain(name, check.url)  # logged as well as shown
        return server

    def _check(self, number: int, server: ServerConfig, answers: _Answers) -> None:
        try:
            text = describe(self._checker(server))
        except Exception as exc:  # noqa: BLE001 - a broken check is reported in words, never as a traceback
            log.warning("checking %s failed: %s", server.name, type(exc).__name__)
            text = f"The check itself failed ({type(exc).__name__}). Look at the address and try again."
        if not answers.closed.is_set():
            answers.checked.emit(number, server.url, text)

    def _on_ticked(self, item: QListWidgetItem) -> None:
        row = self.list.row(item)
        if 0 <= row < len(self._entries):
            ticked = item.checkState() == Qt.CheckState.Checked
            self._entries[row] = ServerEntry(self._entries[row].server, ticked)

    def _on_checked(self, number: int, url: str, text: str) -> None:
        self._found[url] = text
        if number == self._latest_check:  # an older check answering late must not overwrite the newer one
            self.status.setText(text)

    def _fill_list(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for entry in self._entries:
            item = QListWidgetItem(f"{entry.server.name} — {entry.server.url}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if entry.enabled else Qt.CheckState.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)

    def _show_row(self, row: int) -> None:
        editing = 0 <= row < len(self._entries)
        self.editor.setEnabled(editing)
        self.remove.setEnabled(editing)
        server = self._entries[row].server if editing else ServerConfig("", "")
        self.name.setText(server.name)
        self.url.setText(server.url)
        self.token.setText(server.token)
        self.problem.setText("")
        self.status.setText(self._found.get(server.url, "") if editing else "No server yet: press New server.")
        self._show_url_warning(server.url)

    def _show_url_warning(self, text: str) -> None:
        warning = check_url(text).warning if text.strip() else ""
        self.warning.setText(warning)
        self.warning.setVisible(bool(warning))

    def _accept(self) -> None:
        if self.list.currentRow() >= 0 and self._save_fields() is None:
            return  # the problem is shown beside the fields
        self.accept()
