"""The sampler list marked for the servers in use: a sampler some server lacks (a ComfyUI without the sampler
the studio maps it to) says which, so the artist knows its jobs go to the other runners."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QComboBox

LACKING_COLOR = QColor("#b07a2a")  # amber: usable elsewhere, not everywhere


def lacking_tip(servers: tuple[str, ...]) -> str:
    return f"Not on {', '.join(servers)}: jobs with this sampler go to a server (or this computer) that has it."


def mark_samplers(combo: QComboBox, lacking: dict[str, tuple[str, ...]]) -> None:
    """Mark each sampler of ``combo`` that a server lacks (``lacking``: name -> servers); unmark the others."""
    for index in range(combo.count()):
        servers = lacking.get(combo.itemText(index))
        combo.setItemData(index, lacking_tip(servers) if servers else None, Qt.ItemDataRole.ToolTipRole)
        combo.setItemData(index, QBrush(LACKING_COLOR) if servers else None, Qt.ItemDataRole.ForegroundRole)
