"""The widgets. Never imports torch."""

from studio.state import pyside_fixes as _pyside_fixes  # noqa: F401 - applies the emit reference fix
