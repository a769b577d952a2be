"""Steps per second and peak memory of InfoNCE training in one process and in two gloo processes
(torch.distributed on the CPU), the same global batch, measured side by side in one run.

    python benchmarks/distributed_infonce.py [--batch 2048] [--steps 20] [--repeats 3]

Each configuration runs in freshly spawned processes (one, or two ranks of half the batch each, sharing
negatives through iblearn's gather), alternately, ``--repeats`` times; a configuration's figure is the
median over its repeats. Steps per second: timed steps over the slowest rank's wall time, between two
barriers, after warm-up steps. Memory: each process's peak resident set (ru_maxrss) and its rise over
the resident set before the estimator was built, summed over the ranks. Writes
benchmarks/results/distributed_infonce.json and .md.
"""

import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout's root: benchmarks.runners

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from benchmarks.runners.script import parser, write

DIM, HIDDEN, WARMUP = 16, (256, 256), 3


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _worker(rank: int, world: int, init: str, batch: int, steps: int, threads: int, out: str) -> None:
    torch.set_num_threads(threads)
    if world > 1:
        dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    from iblearn.estimators import InfoNCE

    before = _rss_kib()
    gen = torch.Generator().manual_seed(rank)
    rows = batch // world
    est = InfoNCE(DIM, DIM, hidden=HIDDEN)
    x = torch.randn(rows, DIM, generator=gen)
    y = x + 0.5 * torch.randn(rows, DIM, generator=gen)
    for _ in range(WARMUP):
        est.train_step(x, y)
    if world > 1:
        dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        loss = est.train_step(x, y)
    if world > 1:
        dist.barrier()
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    torch.save(
        {"seconds": elapsed, "peak_kib": peak, "rise_kib": peak - before, "loss": loss}, f"{out}.{rank}"
    )
    if world > 1:
        dist.destroy_process_group()
    sys.stdout.flush()
    os._exit(0)  # see tests/distributed.py: torch's distributed teardown can abort at exit


def measure(world: int, batch: int, steps: int, threads: int) -> dict[str, Any]:
    """One run of ``world`` processes: steps/s of the slowest rank, peak and rise of memory summed."""
    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "rank")
        init = (Path(folder) / "rendezvous").as_uri()
        mp.start_processes(
            _worker, args=(world, init, batch, steps, threads, out), nprocs=world, start_method="spawn"
        )
        ranks = [torch.load(f"{out}.{r}", weights_only=False) for r in range(world)]
    return {
        "steps_per_s": steps / max(r["seconds"] for r in ranks),
        "peak_mib": sum(r["peak_kib"] for r in ranks) / 1024,
        "rise_mib": sum(r["rise_kib"] for r in ranks) / 1024,
        "rise_per_rank_mib": max(r["rise_kib"] for r in ranks) / 1024,
    }


def run(batch: int, steps: int, repeats: int, threads: int) -> dict[str, Any]:
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for _ in range(repeats):  # alternately, so that the load on the cores falls on both alike
        for world in (1, 2):
            runs[world].append(measure(world, batch, steps, threads))
    summary = {
        f"{world} process{'es' if world > 1 else ''}": {
            key: statistics.median(r[key] for r in rows) for key in rows[0]
        }
        | {"runs": rows}
        for world, rows in runs.items()
    }
    one, two = summary["1 process"], summary["2 processes"]
    return {
        "device": "cpu (gloo)",
        "batch": batch,
        "steps": steps,
        "repeats": repeats,
        "threads_per_process": threads,
        "critic": f"InfoNCE, separable, hidden {list(HIDDEN)}, {DIM}-d x and y",
        "cores": os.cpu_count(),
        "summary": summary,
        "speed_ratio": two["steps_per_s"] / one["steps_per_s"],
        "rise_per_rank_ratio": two["rise_per_rank_mib"] / one["rise_per_rank_mib"],
    }


def table(r: dict[str, Any]) -> str:
    lines = [
        f"InfoNCE training, global batch {r['batch']} ({r['critic']}), {r['steps']} timed steps, median of "
        f"{r['repeats']} alternating runs, {r['threads_per_process']} thread a process, {r['device']}, "
        f"{r['cores']} cores.",
        "",
        "| processes | steps/s | peak RSS, all ranks (MiB) | rise over start, all ranks (MiB) "
        "| rise, one rank (MiB) |",
        "|---|---|---|---|---|",
    ]
    for name, s in r["summary"].items():
        lines.append(
            f"| {name} | {s['steps_per_s']:.2f} | {s['peak_mib']:.0f} | {s['rise_mib']:.1f} | "
            f"{s['rise_per_rank_mib']:.1f} |"
        )
    lines += [
        "",
        f"2 processes / 1: steps/s x{r['speed_ratio']:.2f}, "
        f"one rank's memory rise x{r['rise_per_rank_ratio']:.2f}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    p = parser(__doc__, threads=True)
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    result = run(args.batch, args.steps, args.repeats, args.threads)
    write(args.results, "distributed_infonce", result, table(result))
