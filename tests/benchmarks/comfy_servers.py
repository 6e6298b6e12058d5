"""Many servers, one queue: two real ComfyUI servers on this machine, each held to one CPU thread, against one.

    python tests/benchmarks/comfy_servers.py [--jobs 12] [--steps 4] [--size 64] [--rounds 1]

1. Builds the tiny SD1.5-shaped checkpoint (``tests/comfyui_server.py``) once, shares it with the second server
   through a hard link (a copy where links are refused), starts both servers (``--cpu``, OMP/MKL at one thread)
   and warms each up with one job (its checkpoint load), so only steady work is timed.
2. Throughput: the same queue of ``--jobs`` tiny jobs through the ``MultiBackend`` over one server and over both,
   alternating for ``--rounds`` rounds (so neither always meets the quieter moment of a shared machine); prints
   the median seconds, jobs per minute and the ratio (the goal is at least 1.6×). Beside each run: the CPU time
   the servers got (from /proc) and the load average, because on a machine whose cores are shared with other
   work, servers that get no more CPU between them than one alone cannot be faster, whatever the dispatcher does.
3. A server killed mid-queue: both servers take the queue; once a few jobs finished, the second server's process
   is killed (SIGKILL). Prints where each job ran, which jobs moved, and that every job finished (none lost).

Not a test: it needs ComfyUI's dependencies (packaging/comfyui-test-lock.txt) and about 4 GB of memory.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from comfyui_server import CHECKPOINT, start_server, why_unavailable, write_tiny_models  # noqa: E402

from studio.backend import events as ev  # noqa: E402
from studio.backend.comfyui.server_config import ServerConfig  # noqa: E402
from studio.backend.multi_backend import MultiBackend  # noqa: E402
from studio.backend.server_pool import answers, comfy_backend  # noqa: E402
from studio.request import GenerationRequest  # noqa: E402

_seeds = itertools.count(1000)  # every job its own seed: ComfyUI would answer a repeated graph from its cache


def request(index: int, steps: int, size: int) -> GenerationRequest:
    return GenerationRequest(
        model=CHECKPOINT, prompt=f"a lighthouse at dusk, study {index}", negative_prompt="blurry", steps=steps,
        sampler="Euler", cfg_scale=5.0, width=size, height=size, seed=next(_seeds),
    )  # fmt: skip


def pool(servers: list[ServerConfig]) -> MultiBackend:
    backend = MultiBackend(
        [comfy_backend(server) for server in servers], None, allow_local=False,
        probes={server.name: answers(server) for server in servers},
    )  # fmt: skip
    backend.start(warm_up=False)
    return backend


def run_queue(backend: MultiBackend, jobs: int, steps: int, size: int, on_finished=None) -> dict:
    """Submit ``jobs`` requests at once and wait for every end; where each started, and how each ended."""
    started = time.perf_counter()
    ids = [backend.submit(request(i, steps, size)) for i in range(jobs)]
    where: dict[int, list[str]] = {job: [] for job in ids}
    ends: dict[int, object] = {}
    while len(ends) < len(ids):
        event = backend.next_event(timeout=300)
        if event is None:
            raise SystemExit(f"no event for 300 s; ended so far: {len(ends)} of {len(ids)}")
        if isinstance(event, ev.JobStarted):
            where[event.job_id].append(event.runner)
        elif isinstance(event, ev.JOB_ENDS):
            ends[event.job_id] = event
            if on_finished is not None:
                on_finished(sum(isinstance(e, ev.JobFinished) for e in ends.values()))
    return {"seconds": time.perf_counter() - started, "where": where, "ends": ends}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes ``pids`` so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def timed_queue(configs: list[ServerConfig], pids: list[int], args: argparse.Namespace) -> dict:
    backend = pool(configs)
    cpu_before = cpu_seconds(pids)
    outcome = run_queue(backend, args.jobs, args.steps, args.size)
    outcome["server_cpu"] = cpu_seconds(pids) - cpu_before
    outcome["load"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    backend.close()
    return outcome


def finished(outcome: dict) -> int:
    return sum(isinstance(end, ev.JobFinished) for end in outcome["ends"].values())


def share_models(source: Path, target: Path) -> None:
    for path in (source / "models").rglob("*"):
        copy = target / path.relative_to(source)
        if path.is_dir():
            copy.mkdir(parents=True, exist_ok=True)
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, copy)
        except OSError:
            shutil.copy2(path, copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="alternating one/two-server runs")
    parser.add_argument("--kill-after", type=int, default=3, help="finished jobs before the second server dies")
    args = parser.parse_args()
    problem = why_unavailable()
    if problem:
        raise SystemExit(f"cannot run: {problem}")
    with tempfile.TemporaryDirectory(prefix="comfy-servers-") as folder:
        base_a, base_b = Path(folder) / "a", Path(folder) / "b"
        built = time.perf_counter()
        write_tiny_models(base_a)
        share_models(base_a, base_b)
        print(f"tiny checkpoint, LoRA and ControlNet built in {time.perf_counter() - built:.1f} s")
        servers = [start_server(base_a, threads=1), start_server(base_b, threads=1)]
        try:
            configs = [ServerConfig("alpha", servers[0].url), ServerConfig("beta", servers[1].url)]
            print(f"servers: alpha {servers[0].url} (up in {servers[0].started_s:.1f} s), beta {servers[1].url} "
                  f"(up in {servers[1].started_s:.1f} s), each with OMP/MKL at 1 thread")  # fmt: skip
            for config in configs:  # the checkpoint load, once per server, outside the timings
                warm = pool([config])
                outcome = run_queue(warm, 1, args.steps, args.size)
                warm.close()
                if finished(outcome) != 1:
                    end = next(iter(outcome["ends"].values()))
                    raise SystemExit(f"warm-up on {config.name} failed: {getattr(end, 'message', end)}")

            pids = [server.process.pid for server in servers]
            runs: dict[str, list[dict]] = {"one server ": [], "two servers": []}
            for round_index in range(args.rounds):
                order = [("one server ", configs[:1]), ("two servers", configs)]
                for label, chosen in order if round_index % 2 == 0 else order[::-1]:
                    outcome = timed_queue(chosen, pids, args)
                    runs[label].append(outcome)
                    seconds = outcome["seconds"]
                    counts = {n: sum(p[:1] == [n] for p in outcome["where"].values()) for n in ("alpha", "beta")}
                    print(f"{label}: {finished(outcome)}/{args.jobs} jobs in {seconds:6.1f} s = "
                          f"{60 * finished(outcome) / seconds:5.1f} jobs/min   (alpha {counts['alpha']}, beta "
                          f"{counts['beta']}; the servers got {outcome['server_cpu']:.1f} CPU-s = "
                          f"{outcome['server_cpu'] / seconds:.2f} cores; load average {outcome['load']:.1f})")  # fmt: skip
            medians = {label: statistics.median(o["seconds"] for o in outcomes) for label, outcomes in runs.items()}
            speedup = medians["one server "] / medians["two servers"]
            print(f"throughput two servers / one server (median of {args.rounds}): {speedup:.2f}x (goal >= 1.6x)")

            both = pool(configs)
            killed: list[float] = []

            def kill_beta(done: int) -> None:
                if done >= args.kill_after and not killed:
                    servers[1].process.kill()
                    killed.append(time.perf_counter())
                    print(f"  beta killed (SIGKILL) after {done} finished jobs")

            crash = run_queue(both, args.jobs, args.steps, args.size, on_finished=kill_beta)
            both.close()
            moved = {job: places for job, places in crash["where"].items() if len(places) > 1}
            failed = [end for end in crash["ends"].values() if not isinstance(end, ev.JobFinished)]
            on_beta = sum(places[-1:] == ["beta"] for places in crash["where"].values())
            print(f"server killed mid-queue: {finished(crash)}/{args.jobs} jobs finished in "
                  f"{crash['seconds']:.1f} s, {len(failed)} failed, lost: {args.jobs - finished(crash)}; "
                  f"{on_beta} finished on beta before it died, {len(moved)} moved "
                  f"{sorted(moved.items())}")  # fmt: skip
            for end in failed:
                print(f"  job {end.job_id} ended {type(end).__name__}: {getattr(end, 'message', '')}")
            print("no job was lost" if finished(crash) == args.jobs else "JOBS WERE LOST")
        finally:
            for server in servers:
                server.stop()


if __name__ == "__main__":
    main()
