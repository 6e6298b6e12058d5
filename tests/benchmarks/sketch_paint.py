"""How long painting takes on a 1024×1024 sketch: per stroke segment, per stroke start/end, per full repaint.

60 frames/s leaves 16.7 ms a frame; a pointer sends ~1–3 moves a frame, each one segment plus the repaint of
its small rectangle. Run: ``.venv/bin/python tests/benchmarks/sketch_paint.py`` (offscreen, CPU raster).
"""

from __future__ import annotations

import math
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRect  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from studio.ui.canvas.layer_pixels import qimage_to_rgba  # noqa: E402
from studio.ui.canvas.sketch_canvas import SketchCanvas  # noqa: E402


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"{name:<42} median {statistics.median(times):7.3f} ms   p95 {p95:7.3f} ms   (n={len(times)})")


def main() -> None:
    app = QApplication.instance() or QApplication([])
    canvas = SketchCanvas(1024, 1024)
    canvas.resize(1060, 1060)
    canvas.show()
    app.processEvents()
    for size in (8, 40):
        canvas.brush_size = size
        segments: list[float] = []
        starts: list[float] = []
        ends: list[float] = []
        for stroke in range(20):
            point = QPointF(100 + stroke * 40, 100)
            starts += timed(lambda p=point: canvas.begin_stroke(p), 1)
            for step in range(1, 120):  # a curvy stroke, 6 px per move as a quick hand gives
                angle = step / 10
                nxt = QPointF(100 + stroke * 40 + 30 * math.sin(angle), 100 + step * 6)
                segments += timed(lambda p=nxt: canvas.continue_stroke(p, 0.8), 1)
            ends += timed(canvas.end_stroke, 1)
        report(f"segment, brush {size} px (paint + compose)", segments)
        report(f"stroke start, brush {size} px", starts)
        report(f"stroke end (undo step), brush {size} px", ends)
    # what one frame repaints while drawing: a segment's rectangle
    report(
        "repaint of a 60×60 px dirty rectangle",
        timed(lambda: canvas.repaint(canvas.to_widget(QRect(500, 500, 60, 60))), 100),
    )
    report("full repaint of the 1024² canvas", timed(canvas.repaint, 30))
    report("layer to RGBA array (autosave copy)", timed(lambda: qimage_to_rgba(canvas.layer()), 20))
    from studio.state.canvas_store import encode_png

    pixels = qimage_to_rgba(canvas.layer())
    report("PNG encode 1024² (background thread)", timed(lambda: encode_png(pixels), 5))


if __name__ == "__main__":
    main()
