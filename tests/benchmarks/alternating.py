"""Timing two ways of doing the same work, alternating, for the overhead benchmarks (not a test)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_alternating(
    runs: dict[str, Callable[[], None]], rounds: int, sync: Callable[[], None] = lambda: None
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Run each callable ``rounds`` times, swapping the order every round so neither always runs warmer.

    Returns wall-clock and process-CPU seconds per run. CPU time is the steadier figure on a shared CPU (it
    ignores time spent waiting for a core); on a GPU only the wall time means anything.
    """
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs.items())
    for round_index in range(rounds):
        for name, run in order if round_index % 2 == 0 else order[::-1]:
            sync()
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            sync()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return wall, cpu


def print_medians(
    wall: dict[str, list[float]], cpu: dict[str, list[float]], steps: int | None = None
) -> None:
    """Medians of each table and the ratio of the second entry to the first."""
    for label, table in (("wall", wall), ("process CPU", cpu)):
        medians = {name: statistics.median(values) for name, values in table.items()}
        for name, median in medians.items():
            print(
                f"  {label:11s} {name:16s} median {median * 1000:9.1f} ms  (min {min(table[name]) * 1000:.1f})"
            )
        base, other = list(medians.values())[:2]
        print(f"  {label:11s} ratio engine/plain: {other / base:.3f}")
        if label == "wall" and steps:
            # Whole-run iterations per second: text encoding and the VAE decode are included.
            print(
                f"  {label:11s} " + ", ".join(f"{name} {steps / m:.1f} it/s" for name, m in medians.items())
            )
