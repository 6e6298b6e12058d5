"""The whole studio window on the fake engine, for the canvas tests.

Each test file makes its fixture from it: ``yield from studio_on_fake_engine(qtbot, qapp)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

from fake_engine import FakeEngine, fake_backend

MODEL = SimpleNamespace(name="tiny", reference="/models/tiny", family="sd15")


def studio_on_fake_engine(qtbot, qapp) -> Iterator:
    from studio.app import build_studio

    studio = build_studio(qapp, backend=fake_backend(FakeEngine), discover=lambda dirs: [MODEL])
    qtbot.addWidget(studio.window)
    studio.window.resize(1280, 800)
    studio.window.show()
    studio.start_background(warm_up=False)
    qtbot.waitUntil(lambda: studio.state.models.loaded, timeout=5000)
    yield studio
    studio.window.canvases.shutdown()
    studio.state.shutdown(2.0)
