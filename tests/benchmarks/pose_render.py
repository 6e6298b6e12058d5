"""Prints what a control image costs: 5 people with hands at 1024×1024, median of 50 renders.

Run: .venv/bin/python tests/benchmarks/pose_render.py
"""

from __future__ import annotations

import statistics
import time

from studio.pose.pose import Pose, default_person
from studio.pose.render import render_pose, render_pose_array


def main() -> None:
    people = tuple(
        default_person(1024, 1024, hands=True).scale(0.5).translate(-400 + 200 * i, 0) for i in range(5)
    )
    pose = Pose(1024, 1024, people)
    for label, render in (("PIL image", render_pose), ("numpy array", render_pose_array)):
        render(pose)  # warm up cv2 and the allocator
        times = []
        for _ in range(50):
            start = time.perf_counter()
            render(pose, 1024, 1024)
            times.append(time.perf_counter() - start)
        print(
            f"render_pose 5 people + hands, 1024x1024, {label}: median {statistics.median(times) * 1000:.2f} ms/frame"
        )


if __name__ == "__main__":
    main()
