"""A work-around for a reference-count bug in PySide6's ``SignalInstance.emit`` (seen in 6.12 on Python 3.11).

``emit()`` returns ``True`` without taking a reference to it, so every emit from Python takes one reference
from ``True``. On Python 3.12+ ``True`` is immortal and nothing happens; on 3.11 a few hundred emits free
``True`` itself and the interpreter aborts ("Fatal Python error: bool_dealloc"), mid-session or at exit.

``apply()`` checks once whether this PySide6 has the bug and, only then, wraps ``emit`` to add the missing
reference. Importing ``studio.state`` or ``studio.ui`` applies it, so every studio Qt module is covered.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_applied = False


class _Probe(QObject):
    ping = Signal()


def emit_leaks_a_reference() -> bool:
    """True when ``emit()`` returns a borrowed ``True`` as if it were a new reference."""
    probe = _Probe()
    before = sys.getrefcount(True)
    result = probe.ping.emit()
    leaked = sys.getrefcount(True) == before and result is True
    if leaked:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(result))  # pay back the probe's own emit
    del result
    return leaked


def apply() -> bool:
    """Install the fix if this PySide6 needs it; True when installed (now or before)."""
    global _applied
    if _applied:
        return True
    if not emit_leaks_a_reference():
        return False
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]

    def emit(self, *args):  # type: ignore[no-untyped-def]
        result = original(self, *args)
        incref(result)
        return result

    SignalInstance.emit = emit
    _applied = True
    return True


apply()
