"""Live runs through the worker: their events reach ``live_event`` alone and nothing is saved; and the live
inputs: a sketch flattened on white, written once by content, the live folder pruned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from fake_engine import FakeEngine, fake_backend
from PIL import Image

from studio.backend.events import JobFinished, StepProgress
from studio.request import ControlInput, GenerationRequest
from studio.state.live_inputs import LIVE_FOLDER, LiveSettings, live_request, write_live_inputs
from studio.state.worker import GenerationWorker

REQUEST = GenerationRequest(model="fake", prompt="a fox", width=64, height=64, steps=2)


def test_live_events_go_to_live_event_only_and_nothing_is_saved(qtbot, tmp_path):
    saved: list = []
    worker = GenerationWorker(
        fake_backend(FakeEngine()), saver=lambda result, folder: saved.append(result) or []
    )
    others: list = []
    for signal in (
        worker.job_started,
        worker.progress,
        worker.finished,
        worker.batch_saved,
        worker.preview_ready,
    ):
        signal.connect(lambda *args: others.append(args))
    live: list = []
    worker.live_event.connect(live.append)
    worker.start(warm_up=False)
    try:
        worker.submit_live(REQUEST, 1_000_000_001)
        qtbot.waitUntil(lambda: any(isinstance(e, JobFinished) for e in live), timeout=5000)
        assert any(isinstance(e, StepProgress) for e in live)
        assert others == [] and saved == []
    finally:
        worker.shutdown()


def test_live_request_is_one_quick_fixed_seed_image():
    base = REQUEST.with_changes(seed=-1, batch_size=4, batch_count=3, steps=30, mask="m.png")
    request = live_request(base, LiveSettings(steps=3, strength=0.4), seed=77)
    assert (request.seed, request.steps, request.batch_size, request.batch_count) == (77, 3, 1, 1)
    assert request.hires is None and request.mask is None and request.strength == 0.4


def test_sketch_written_once_by_content_flattened_and_old_frames_pruned(tmp_path):
    sketch = np.zeros((8, 8, 4), dtype=np.uint8)  # transparent: white paper
    sketch[2, 3] = (0, 0, 0, 255)  # one black ink pixel
    canvas_control = ControlInput(type="scribble", image=str(tmp_path / "sketch.png"), source="canvas")
    base = REQUEST.with_changes(controls=(canvas_control,))
    first = write_live_inputs(base, sketch, tmp_path)
    path = Path(first.init_image)
    assert path.parent == tmp_path / LIVE_FOLDER and first.controls[0].image == str(path)
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels[0, 0].tolist() == [255, 255, 255] and pixels[2, 3].tolist() == [0, 0, 0]
    again = write_live_inputs(base, sketch.copy(), tmp_path, keep={str(path)})
    assert again.init_image == first.init_image  # the same drawing is the same file
    sketch[5, 5] = (0, 0, 0, 255)
    newer = write_live_inputs(base, sketch, tmp_path, keep={str(path)})
    assert sorted(p.name for p in (tmp_path / LIVE_FOLDER).iterdir()) == sorted(
        {path.name, Path(newer.init_image).name}
    )
    write_live_inputs(base, sketch, tmp_path)  # the older picture is no longer on show
    assert [p.name for p in (tmp_path / LIVE_FOLDER).iterdir()] == [Path(newer.init_image).name]
