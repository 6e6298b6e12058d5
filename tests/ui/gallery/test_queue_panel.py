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
    assert panel.list.count() == 2 and "knight" in panel.list.item(0).text()
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


def test_entries_show_what_differs_size_seed_steps_and_an_input_thumbnail(qtbot, tmp_path):
    from PySide6.QtGui import QImage

    photo = tmp_path / "photo.png"
    image = QImage(64, 32, QImage.Format.Format_RGB32)
    image.fill(0xFF3366CC)
    image.save(str(photo))
    queue = JobQueue()
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    queue.add(GenerationRequest(prompt="a knight in armor, castle at dusk, red cape", seed=1234, steps=30))
    queue.add(GenerationRequest(prompt="a knight in armor, castle at dawn", width=768, init_image=str(photo)))
    first, second = panel.list.item(0), panel.list.item(1)
    assert first.text().splitlines() == ["1. + dusk red cape", "512×512 · seed 1234 · 30 steps"]
    assert second.text().splitlines() == ["2. + dawn", "768×512 · random seed · 25 steps"]
    # The photo's blue is in the second thumbnail; the first (no input) is an outline on transparency.
    thumb = second.icon().pixmap(48, 48).toImage()
    assert thumb.pixelColor(24, 24).blue() > 150
    assert first.icon().pixmap(48, 48).toImage().pixelColor(24, 24).alpha() == 0


def test_a_runner_shows_under_its_job(qtbot):
    queue = JobQueue()
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    job = queue.add(GenerationRequest(prompt="x"))
    assert len(panel.list.item(0).text().splitlines()) == 2
    assert queue.set_runner(job.id, "studio-pc (RTX 4090)")
    assert panel.list.item(0).text().splitlines()[-1] == "runs on studio-pc (RTX 4090)"
    assert not queue.set_runner(999, "nowhere")


def test_dragging_an_entry_reorders_the_queue(qtbot):
    from PySide6.QtCore import QModelIndex

    queue = JobQueue()
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    for prompt in ("one", "two", "three"):
        queue.add(GenerationRequest(prompt=prompt))
    # What a drop does to the list's model: the third row moved to the top.
    assert panel.list.model().moveRow(QModelIndex(), 2, QModelIndex(), 0)
    qtbot.waitUntil(lambda: [j.request.prompt for j in queue.jobs()] == ["three", "one", "two"])
    assert panel.list.item(0).text().startswith("1. + three")
    assert queue.take_next().request.prompt == "three"  # the worker takes the new first


def test_ctrl_arrows_move_the_selected_job(qtbot):
    from PySide6.QtCore import Qt

    queue = JobQueue()
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    for prompt in ("one", "two", "three"):
        queue.add(GenerationRequest(prompt=prompt))
    panel.list.setCurrentRow(0)
    qtbot.keyClick(panel, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert [j.request.prompt for j in queue.jobs()] == ["two", "one", "three"]
    assert panel.list.currentRow() == 1


def test_a_pose_control_shows_as_the_pose_drawn_and_a_broken_file_as_the_outline(qtbot, tmp_path):
    from studio.pose.pose import default_pose
    from studio.pose.pose_json import save_pose
    from studio.request import ControlInput
    from studio.ui.gallery.queue_entry import input_thumbnail

    pose_path = tmp_path / "pose.json"
    save_pose(default_pose(512, 512), pose_path)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    off = ControlInput(type="openpose", image=str(pose_path), source="pose", enabled=False)
    drawn = input_thumbnail(
        GenerationRequest(controls=(ControlInput(type="openpose", image=str(pose_path)),))
    )
    image = drawn.toImage()
    coloured = sum(
        1
        for x in range(image.width())
        for y in range(image.height())
        if image.pixelColor(x, y).saturation() > 100
    )
    assert coloured > 20  # the skeleton's colours on black
    for request in (GenerationRequest(controls=(off,)), GenerationRequest(init_image=str(broken))):
        outline = input_thumbnail(request).toImage()
        assert (
            outline.pixelColor(24, 24).alpha() == 0
        )  # a switched-off control or an unreadable file: no picture


def test_an_empty_queue_says_what_will_wait_there(qtbot):
    queue = JobQueue()
    panel = QueuePanel(queue)
    qtbot.addWidget(panel)
    panel.resize(320, 200)
    panel.show()
    qtbot.waitExposed(panel)

    def text_pixels() -> int:
        image = panel.list.viewport().grab().toImage()
        background = image.pixelColor(1, 1)
        return sum(
            1
            for x in range(0, image.width(), 2)
            for y in range(0, image.height(), 2)
            if image.pixelColor(x, y) != background
        )

    assert text_pixels() > 50  # the sentence is drawn
    queue.add(GenerationRequest(prompt="x"))
    queue.remove(queue.jobs()[0].id)
    assert text_pixels() > 50 and panel.list.count() == 0
