"""A work-around for a reference-count bug in PySide6's ``SignalInstance.emit`` (seen in 6.12 on Python 3.11).

``emit()`` returns ``True`` without taking a reference to it, so every emit from Python takes one reference
from ``True``. On Python 3.12+ ``True`` is immortal and nothing happens; on 3.11 a few hundred emits free
``True`` itself and the interpreter aborts ("Fatal Python error: bool_dealloc"), mid-session or at exit.

``apply()`` checks once whether this PySide6 has the bug and, only then, wraps ``emit`` to add the missing
reference. Importing ``studio.state`` or ``studio.ui`` applies it, so every studio Qt module is covered.

The same PySide6 on 3.11 also returns a borrowed ``None`` from every void call (``setText``, ``update``,
``repaint``...): about five thousand of them abort with "none_dealloc". There is no one method to wrap, so
``apply()`` makes ``None``, ``True`` and ``False`` effectively immortal, as Python 3.12 does.
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


def void_calls_leak_none() -> bool:
    """True when a void binding call (``QObject.setObjectName``) returns a borrowed ``None``.

    Seen with PySide6 6.12 on Python 3.11: every such call takes one reference from ``None``, so about five
    thousand calls (a few seconds of painting a list view) free ``None`` and abort the interpreter.
    """
    probe = _Probe()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= 64


def _immortalise_singletons() -> None:
    """Give ``None``, ``True`` and ``False`` 2**40 extra references: no session makes that many calls.

    Python 3.12+ makes them immortal itself, which is why the binding's borrowed returns go unnoticed there.
    """
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += 1 << 40


def apply() -> bool:
    """Install the fix if this PySide6 needs it; True when installed (now or before)."""
    global _applied
    if _applied:
        return True
    if sys.version_info < (3, 12) and void_calls_leak_none():
        _immortalise_singletons()
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
