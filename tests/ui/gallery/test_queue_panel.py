from __future__ import annotations

from studio.request import GenerationRequest
from studio.state.jobs import JobQueue
from studio.ui.gallery.queue_panel import JOB_ID_ROLE, QueuePanel


def test_queue_panel_lists_and_removes_jobs(qtbot):
    queue = JobQueue()
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    assert panel.title.text() == "Queue (empty)" and not panel.remove.isEnabled()
    first = queue.add(GenerationRequest(prompt="a knight"))
    queue.add(GenerationRequest(prompt="a dragon"))
    assert panel.list.count() == 2 and "a knight" in panel.list.item(0).text()
    panel.remove_requested.connect(queue.remove)
    panel.list.setCurrentRow(0)
    assert panel.list.item(0).data(JOB_ID_ROLE) == first.id
    panel.remove.click()
    assert [job.request.prompt for job in queue.jobs()] == ["a dragon"]
    assert panel.list.count() == 1 and panel.title.text() == "Queue (1 waiting)"


def test_resume_shows_only_for_a_paused_queue(qtbot):
    queue = JobQueue()
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    panel.show()
    queue.add(GenerationRequest(prompt="x"))
    assert not panel.resume.isVisible()
    queue.set_paused(True)
    assert panel.resume.isVisible()
