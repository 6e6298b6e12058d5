"""The state layer: QtCore only (no widgets), between the window and the engine."""

from studio.state import pyside_fixes as _pyside_fixes  # noqa: F401 - applies the emit reference fix
