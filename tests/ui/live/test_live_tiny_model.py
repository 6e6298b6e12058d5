"""Live mode on the real engine with the tiny model: strokes bring live pictures, and Keep saves one with the
settings that reproduce it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF

pytestmark = pytest.mark.slow


def test_painting_with_live_on_brings_pictures_from_the_tiny_model(qtbot, qapp, tiny_models):
    from studio.app import build_studio
    from studio.backend.local import LocalBackend
    from studio.engine import Engine
    from studio.metadata.reader import read_image_settings

    model = SimpleNamespace(name="sd15", reference=str(tiny_models / "sd15"), family="sd15")
    studio = build_studio(qapp, backend=LocalBackend(), discover=lambda dirs: [model])
    qtbot.addWidget(studio.window)
    studio.window.resize(1280, 800)
    studio.window.show()
    studio.start_background(warm_up=False)
    qtbot.waitUntil(lambda: studio.state.models.loaded, timeout=5000)
    window, state, live = studio.window, studio.state, studio.window.live
    try:
        state.update(
            model=model.reference,
            prompt="a red fox",
            width=64,
            height=64,
            seed=9,
            sampler="LCM",
            cfg_scale=1.0,
        )
        window.canvas.tabs.setCurrentWidget(window.canvases.sketch)
        live.view.steps.setValue(2)
        live.sketch_switch.trigger()
        canvas = window.canvases.sketch.canvas
        for x in (10.0, 30.0):
            canvas.begin_stroke(QPointF(x, 5))
            for y in range(6, 60, 6):
                canvas.continue_stroke(QPointF(x, y))
                qapp.processEvents()
            canvas.end_stroke()
        qtbot.waitUntil(lambda: live.view.shown >= 1 and live.controller.scheduler.idle, timeout=60000)
        result = live.controller.result
        assert result.images[0].size == (64, 64) and result.request.sampler == "LCM"
        assert len(state.queue) == 0 and not list(state.settings.outputs().glob("*.png"))
        saved = live.controller.keep()
        assert len(saved) == 1
        settings = read_image_settings(saved[0])
        assert (settings.request.seed, settings.request.steps, settings.request.sampler) == (9, 2, "LCM")
        # The kept settings reproduce the kept picture: same request, same seed, same pixels.
        again = Engine().generate(settings.request.with_changes(model=model.reference))
        assert np.array_equal(np.asarray(again.images[0]), np.asarray(Image.open(saved[0]).convert("RGB")))
    finally:
        live.shutdown()
        window.canvases.shutdown()
        state.shutdown(2.0)
