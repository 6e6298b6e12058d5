"""Every keyboard shortcut of the studio, in one table: the window binds from it, the help dialog lists it."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

# (action id, key sequence in portable form, what it does). Ctrl reads as Cmd on macOS.
SHORTCUTS: list[tuple[str, str, str]] = [
    ("generate", "Ctrl+Return", "Generate with the current settings"),
    ("cancel", "Esc", "Cancel the running generation"),
    ("queue", "Ctrl+Shift+Return", "Add the current settings to the queue"),
    ("focus_prompt", "Ctrl+L", "Put the cursor in the prompt"),
    ("paste_settings", "Ctrl+Shift+V", "Paste settings copied from an image or another tool"),
    ("copy_image", "Ctrl+Shift+C", "Copy the shown image"),
    ("open_image", "Ctrl+O", "Open an image and read its settings"),
    ("save_image", "Ctrl+S", "Save the shown image as…"),
    ("reuse_seed", "Ctrl+R", "Reuse the seed of the shown image"),
    ("random_seed", "Ctrl+Shift+R", "Go back to a random seed"),
    ("zoom_fit", "Ctrl+0", "Fit the image to the view"),
    ("zoom_100", "Ctrl+1", "Show the image at 100% (one image pixel per screen pixel); again: back to fit"),
    ("zoom_in", "Ctrl++", "Zoom in"),
    ("zoom_out", "Ctrl+-", "Zoom out"),
    ("previous_image", "Alt+Left", "Show the previous image of the gallery"),
    ("next_image", "Alt+Right", "Show the next image of the gallery"),
    ("add_model", "Ctrl+M", "Add or download a model"),
    ("settings", "Ctrl+,", "Open the settings"),
    ("undo", "Ctrl+Z", "Undo the last edit on the pose, sketch or mask canvas (when it has the focus)"),
    ("redo", "Ctrl+Shift+Z", "Redo the edit just undone on the pose, sketch or mask canvas"),
    ("brush", "B", "Sketch and mask canvas: paint with the brush"),
    ("eraser", "E", "Sketch and mask canvas: erase"),
    ("brush_bigger", "]", "Sketch and mask canvas: larger brush"),
    ("brush_smaller", "[", "Sketch and mask canvas: smaller brush"),
    ("help", "F1", "Show this list of shortcuts"),
    ("quit", "Ctrl+Q", "Quit the studio (the session is saved)"),
]


def shortcut(action_id: str) -> QKeySequence:
    """The key sequence of ``action_id``; ``KeyError`` for an id that is not in the table."""
    for name, keys, _ in SHORTCUTS:
        if name == action_id:
            return QKeySequence(keys)
    raise KeyError(f"No shortcut for {action_id!r}")


def native_text(keys: str) -> str:
    """``keys`` as this platform writes it (Cmd symbols on macOS)."""
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)
