"""What one queue entry shows: a thumbnail of the job's inputs and the lines that tell it from the others.

The thumbnail is the first picture the job starts from (the source picture, then each switched-on control:
sketch, pose, depth...); a job made from the prompt alone gets an outline of its picture's shape instead.
The first line says what is different about this job's prompt, the second its size, seed and steps, the
third (only when set) where it runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

from studio.prompt.prompt_diff import distinct_words
from studio.request import RANDOM_SEED, GenerationRequest
from studio.state.jobs import Job

log = logging.getLogger("studio.ui")

THUMB = 40  # px, the side of an entry's thumbnail
PROMPT_CHARS = 40


def input_paths(request: GenerationRequest) -> list[str]:
    """The pictures the job starts from, in the order a thumbnail prefers them."""
    paths = [request.init_image] if request.init_image else []
    paths += [control.image for control in request.controls if control.enabled and control.image]
    return paths


def input_thumbnail(request: GenerationRequest, size: int = THUMB) -> QPixmap:
    """A ``size``-px square thumbnail of the job's first readable input, or the outline of its picture."""
    for path in input_paths(request):
        image = _read(Path(path), size)
        if image is not None and not image.isNull():
            return _framed(image, size)
    return _shape_outline(request.width, request.height, size)


def entry_lines(job: Job, position: int, others: list[str]) -> list[str]:
    """The entry's text lines; ``others`` are the prompts of the other jobs in the queue."""
    request = job.request
    prompt = " ".join(request.prompt.split()) or "(empty prompt)"
    words = distinct_words(request.prompt, others)
    head = " ".join(words) if words else prompt
    if len(head) > PROMPT_CHARS:
        head = head[: PROMPT_CHARS - 1] + "…"
    seed = "random seed" if request.seed == RANDOM_SEED else f"seed {request.seed}"
    count = request.images_total
    images = f" · {count} images" if count != 1 else ""
    lines = [
        f"{position}. {'+ ' if words else ''}{head}",
        f"{request.width}×{request.height} · {seed} · {request.steps} steps{images}",
    ]
    if job.runner:
        lines.append(f"runs on {job.runner}")
    return lines


def _read(path: Path, size: int) -> QImage | None:
    if path.suffix.lower() == ".json":  # a pose: drawn the way ControlNet gets it
        from studio.pose.pose_json import load_pose
        from studio.pose.render import render_pose_array
        from studio.ui.canvas.canvas_view import array_to_qimage

        try:
            pose = load_pose(path)
            scale = size / max(pose.canvas_width, pose.canvas_height)
            width, height = (
                max(1, round(pose.canvas_width * scale)),
                max(1, round(pose.canvas_height * scale)),
            )
            return array_to_qimage(render_pose_array(pose, width, height, face=False))
        except Exception as exc:  # noqa: BLE001 - a thumbnail is a convenience: the engine reports a bad file
            log.info("no pose thumbnail for %s: %s", path, exc)
            return None
    image = QImage(str(path))
    return None if image.isNull() else image


def _framed(image: QImage, size: int) -> QPixmap:
    scaled = image.scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.drawImage((size - scaled.width()) // 2, (size - scaled.height()) // 2, scaled)
    painter.end()
    return pixmap


def _shape_outline(width: int, height: int, size: int) -> QPixmap:
    """The picture's shape, drawn as a dashed frame: the entry has no input picture to show."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    scale = (size - 4) / max(width, height, 1)
    w, h = max(4.0, width * scale), max(4.0, height * scale)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(150, 150, 150), 1.5, Qt.PenStyle.DashLine))
    painter.drawRect(QRectF((size - w) / 2, (size - h) / 2, w, h))
    painter.end()
    return pixmap
