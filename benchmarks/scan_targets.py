"""The pairwise scans' copies for each target (``_maxnorm_scan.h``): the instructions one pair takes under
each copy, counted on an emulator for x86-64 and for aarch64, beside this CPU's time a pair under the
x86-64 copies. A target this machine cannot run is not timed: its instruction counts stand in for the
time, and the x86-64 rows show how far they track it there.

1. Instructions: ``tests/functional/knn/scan_harness.c`` built with ``-O3`` for each target (by ``cc``,
   and by ``aarch64-linux-gnu-gcc``, static, where installed) counts the pair (0, 1) of 336 points (a
   normal column and one correlated with it, k = 3) once and three times under each copy, on
   qemu-user (``qemu-x86_64``, ``qemu-aarch64``) with one instruction a translated block and every
   block's execution logged: the difference over 2 is one pair's instructions, split between the k-th
   distances (``scan_eps_*``), the marginal counts (``scan_counts_*``) and the rest (copying the pair
   in, reordering y, the output).
2. Time here: ``_maxnorm.scan`` of every pair of 200 columns x 336 rows (``pairwise_scale.py``'s
   columns) under each x86-64 copy (the ``level`` of the scan: -2 the generic vectors, -1 scalar C,
   0 SSE2, 1 AVX2 where the CPU runs it), thread CPU time on one thread, the copies interleaved, each
   in turn first, median of ``--repeats``; the counts of every copy equal. The emulator runs x86-64's
   AVX2 copy as ``-cpu max``, whatever this CPU runs.

    python benchmarks/scan_targets.py [--repeats 5] [--out DIR | --write-results]

Writes ``results.json`` (rows, settings, provenance with the CPU model), ``table.md`` and ``sources.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import _prelude  # noqa: F401  (one thread, before numpy and torch)
import pairwise_scale
from benchmarks.runners import script
from iblearn.functional.knn import bivariate, kernel_isa, neighbors
from iblearn.records import atomic_write_text, environment, markdown_table, write_json

SOURCES = [
    "benchmarks/scan_targets.py",
    "tests/functional/knn/scan_harness.c",
    "src/iblearn/functional/knn/_maxnorm_scan.h",
    "src/iblearn/functional/knn/_maxnorm_scan_body.h",
]
HARNESS = Path(__file__).resolve().parents[1] / "tests" / "functional" / "knn" / "scan_harness.c"
POINTS, K, COLUMNS = 336, 3, 200

#: Each target's compiler, emulator and copies: (the copy's function suffix, its scan level, its name).
TARGETS = {
    "x86-64": (
        "cc",
        ["qemu-x86_64", "-cpu", "max"],
        [
            ("scalar", -1, "scalar C"),
            ("generic", -2, "generic vectors"),
            ("sse2", 0, "SSE2"),
            ("avx2", 1, "AVX2"),
        ],
    ),
    "aarch64": (
        "aarch64-linux-gnu-gcc",
        ["qemu-aarch64"],
        [("scalar", -1, "scalar C"), ("generic", 0, "NEON (portable)")],
    ),
}


def _instructions(
    emulator: list[str], binary: Path, level: int, repeats: int, scratch: Path
) -> dict[str, int]:
    """Instructions executed by the harness counting the pair ``repeats`` times: in all, and in each
    function, by the symbol qemu names beside each one-instruction block."""
    log = scratch / "exec.log"
    command = [*emulator, "-singlestep", "-d", "exec,nochain", "-D", str(log), str(binary)]
    subprocess.run([*command, str(level), str(POINTS), str(K), str(repeats)], check=True, capture_output=True)
    counts: dict[str, int] = {"all": 0}
    with log.open() as lines:
        for line in lines:
            if line.startswith("Trace"):
                counts["all"] += 1
                name = line.rsplit(" ", 1)[-1].strip()
                counts[name] = counts.get(name, 0) + 1
    log.unlink()
    return counts


def instruction_rows(scratch: Path) -> list[dict[str, Any]]:
    """One row per target built here and copy: one pair's instructions, in all and by part."""
    rows = []
    for target, (compiler, emulator, copies) in TARGETS.items():
        cc, qemu = shutil.which(compiler), shutil.which(emulator[0])
        if cc is None or qemu is None:
            print(f"{target}: no {compiler} or {emulator[0]}, not counted", flush=True)
            continue
        binary = scratch / f"harness-{target}"
        static = ["-static"] if target != "x86-64" else []
        build = [cc, "-O3", "-std=c11", *static, "-o", str(binary), str(HARNESS), "-lm"]
        subprocess.run(build, check=True, capture_output=True)
        for suffix, level, name in copies:
            once, thrice = (_instructions([qemu, *emulator[1:]], binary, level, r, scratch) for r in (1, 3))
            pair = {key: (count - once.get(key, 0)) // 2 for key, count in thrice.items()}
            row = {
                "target": target,
                "copy": name,
                "level": level,
                "instructions": pair["all"],
                "kth_distances": pair.get(f"scan_eps_{suffix}", 0),
                "counts": pair.get(f"scan_counts_{suffix}", 0),
            }
            rows.append(row)
            print(f"{target} {name}: {row['instructions']:,} instructions a pair", flush=True)
    return rows


def time_rows(repeats: int) -> list[dict[str, Any]]:
    """This CPU's thread CPU time a pair under each x86-64 copy it runs (none off x86-64)."""
    if kernel_isa() is None or os.uname().machine != "x86_64":
        return []
    x = pairwise_scale.grouped(POINTS, COLUMNS, seed=0)
    values, ranks = bivariate.sorted_ranks([x[:, j : j + 1] for j in range(COLUMNS)])
    pairs = np.array([(a, b) for a in range(COLUMNS) for b in range(a + 1, COLUMNS)], dtype=np.int64)
    levels = [level for _, level, _ in TARGETS["x86-64"][2] if level < 1 or kernel_isa() != "portable"]
    seconds: dict[int, list[float]] = {level: [] for level in levels}
    first = None
    for r in range(repeats):
        for level in levels[r % len(levels) :] + levels[: r % len(levels)]:
            nx, ny = (np.empty((len(pairs), POINTS), dtype=np.int64) for _ in range(2))
            start = time.thread_time()
            if neighbors._maxnorm.scan(values, ranks, POINTS, pairs, K, None, nx, ny, level) != -1:
                raise RuntimeError("a k-th distance overflowed")
            seconds[level].append(time.thread_time() - start)
            first = (nx, ny) if first is None else first
            if not (np.array_equal(nx, first[0]) and np.array_equal(ny, first[1])):
                raise RuntimeError(f"level {level}: counts differ from the first copy's")
    return [
        {"level": level, "ms_per_pair": 1e3 * statistics.median(runs) / len(pairs), "runs_s": runs}
        for level, runs in seconds.items()
    ]


def main() -> None:
    parser = script.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=script.positive_int, default=5)
    parser.add_output(Path(__file__).parent / "results" / "scan_targets")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rows = instruction_rows(Path(scratch))
    timed = {t["level"]: t for t in time_rows(args.repeats)}
    for row in rows:
        if row["target"] == "x86-64" and row["level"] in timed:
            row["ms_per_pair"] = timed[row["level"]]["ms_per_pair"]
    record = {
        "provenance": environment() | script.machine_provenance(),
        "kernel_isa": kernel_isa(),
        "settings": {"points": POINTS, "k": K, "timed_columns": COLUMNS, "repeats": args.repeats},
        "rows": rows,
        "timed": list(timed.values()),
    }
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", record)
    header = ["target", "copy", "instructions a pair", "k-th distances", "counts", "ms a pair here"]
    table = [
        [
            r["target"],
            r["copy"],
            f"{r['instructions']:,}",
            f"{r['kth_distances']:,}",
            f"{r['counts']:,}",
            f"{r['ms_per_pair']:.4f}" if "ms_per_pair" in r else "-",
        ]
        for r in rows
    ]
    here = record["provenance"]
    note = (
        f"\n\nInstructions a pair of {POINTS} points, k = {K}, counted on qemu-user (x86-64: -cpu max); "
        f"time a pair of {COLUMNS} columns' pairs on this CPU, one thread ({here.get('cpu')}, widest "
        f"kernel set {kernel_isa()}; commit {here.get('git_commit')}).\n"
    )
    atomic_write_text(out / "table.md", markdown_table(header, table) + note)
    atomic_write_text(out / "sources.json", json.dumps(SOURCES, indent=1) + "\n")
    print(markdown_table(header, table))


if __name__ == "__main__":
    main()
