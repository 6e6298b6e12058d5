from __future__ import annotations

from studio.request import GenerationRequest
from studio.state.jobs import Job, JobQueue


def test_queue_order_remove_and_pause(qtbot):
    queue = JobQueue()
    changes = []
    queue.changed.connect(lambda: changes.append(1))
    a = queue.add(GenerationRequest(prompt="a"))
    b = queue.add(GenerationRequest(prompt="b"))
    assert a.id != b.id
    assert queue.remove(a.id) and not queue.remove(a.id)
    queue.set_paused(True)
    assert queue.take_next() is None
    queue.set_paused(False)
    assert queue.take_next() == b and queue.take_next() is None
    assert len(changes) == 6


def test_label_is_short_and_counts_images():
    job = Job.new(GenerationRequest(prompt="a " * 60, width=512, height=768, batch_count=3))
    label = job.label()
    assert "512×768" in label and "3 images" in label and "…" in label
