"""What the benchmarks that read each draw by iblearn and by a peer in a process of its own share: the
peer's worker process, a call's thread CPU time, and a cell's errors against the truth over its draws."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.runners import script
from iblearn.records import markdown_table

W = TypeVar("W", bound="LineWorker")


class LineWorker:
    """A peer's worker process, started once: ``code`` run by the peer's ``python``, which prints
    ``ready``, then answers each request line with one line of JSON."""

    def __init__(self, python: str, code: str) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [python, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        if self.process.stdout is None or self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{python}: the peer's worker did not start")

    def ask(self, line: str) -> Any:
        """The worker's answer to ``line``."""
        if self.process.stdin is None or self.process.stdout is None:
            raise RuntimeError("the peer's worker is closed")
        self.process.stdin.write(f"{line}\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def thread_timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and the thread CPU seconds it took."""
    start = time.thread_time()
    value = fn()
    return value, time.thread_time() - start


def auto_reading(call: Callable[[], Any]) -> dict[str, Any]:
    """The automatic estimate ``call()`` (its warnings silenced) as a draw's reading: its value, thread
    seconds, interval, verdict and choice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est, seconds = thread_timed(call)
    return {
        "value": float(est),
        "seconds": seconds,
        "interval": list(est.interval),
        "reliable": bool(est.reliable),
        "chosen": est.report.chosen,
    }


def interleaved(
    ours: Callable[[], dict[str, dict[str, Any]]],
    peer: Callable[[], dict[str, tuple[Any, float]]] | None,
    seed: int,
    names: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """iblearn's readings of one draw (``ours()``) and the peer's (``peer()``: its name -> (value,
    seconds), named in the rows by ``names``), the peer first on odd seeds so that neither side always
    runs on a warm cache."""
    first = peer() if peer is not None and seed % 2 == 1 else None
    found = ours()
    answers = first if first is not None or peer is None else peer()
    for name, (value, seconds) in (answers or {}).items():
        found[names[name]] = {"value": value, "seconds": seconds}
    return found


def error_cell(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Over one cell's draws (rows with ``value``, ``truth`` and ``seconds``): the mean error, its
    spread, the root mean squared error and the median seconds; where the rows are the automatic
    estimate's (they carry ``interval``), the share reliable, the coverage where reliable and what it
    chose."""
    errors = [r["value"] - r["truth"] for r in rows]
    cell: dict[str, Any] = {
        "draws": len(rows),
        "truth": rows[0]["truth"],
        "mean_error": statistics.mean(errors),
        "sd": statistics.stdev(errors) if len(errors) > 1 else 0.0,
        "rmse": math.sqrt(statistics.mean(e * e for e in errors)),
        "median_seconds": statistics.median(r["seconds"] for r in rows),
    }
    if "interval" in rows[0]:
        reliable = [r for r in rows if r["reliable"]]
        cell["reliable"] = len(reliable) / len(rows)
        cell["coverage_where_reliable"] = (
            sum(r["interval"][0] <= r["truth"] <= r["interval"][1] for r in reliable) / len(reliable)
            if reliable
            else None
        )
        cell["chosen"] = sorted({r["chosen"] for r in rows})
    return cell


def error_columns(cell: dict[str, Any]) -> list[str]:
    """A cell's truth, mean error, spread, root mean squared error and median seconds, as the tables
    print them."""
    return [
        f"{cell['truth']:.4f}",
        f"{cell['mean_error']:+.4f}",
        f"{cell['sd']:.4f}",
        f"{cell['rmse']:.4f}",
        f"{cell['median_seconds']:.4f}",
    ]


def markdown(
    title: str, header: list[str], lines: list[list[str]], provenance: dict[str, Any], peer: str, key: str
) -> str:
    """The table of such a benchmark: ``title``, the rows, and a closing line naming the run's commit,
    date, machine and kernel and the peer's version (``provenance[key]``)."""
    return (
        f"# {title}\n\n{markdown_table(header, lines)}\n\n"
        f"_Run at commit {provenance['git_commit']}, {provenance['date']}, on {provenance['machine']}, "
        f"compiled kernel {provenance['kernel_isa']}; one thread; "
        f"{peer} {provenance.get(key) or 'absent'}._\n"
    )


def parser(doc: str, python: str, out: Path) -> script.Parser:
    """The arguments such a benchmark takes: ``--seeds`` (draws a cell), ``--sizes``, ``--peer-python``
    (the peer's venv) and the output's."""
    p = script.parser(doc)
    p.add_argument("--seeds", type=script.positive_int, default=10)
    p.add_argument("--sizes", type=script.positive_int, nargs="+", default=[1000, 5000])
    p.add_argument("--peer-python", default=python)
    p.add_output(out)
    return p


def with_peer(
    python: str,
    start: Callable[[str, Path], W],
    version: str,
    name: str,
    provenance: dict[str, Any],
    measure: Callable[[W | None], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """``measure(worker)``, the peer's worker started by ``start(python, folder)`` (``folder`` a
    temporary one for its draws), its version (what ``version`` prints) kept as ``provenance[name]``;
    ``measure(None)`` where ``python`` is missing: the peer's rows are left out."""
    with tempfile.TemporaryDirectory() as folder:
        worker = None
        if Path(python).exists():
            worker = start(python, Path(folder))
            provenance[name] = subprocess.run(
                [python, "-c", version], capture_output=True, text=True, check=True
            ).stdout.strip()
        else:
            print(f"--peer-python: {python} not found; {name} left out")
        try:
            return measure(worker)
        finally:
            if worker is not None:
                worker.close()


def write_draws(
    out: Path, rows: list[dict[str, Any]], sources: list[str], record: dict[str, Any], table: str
) -> None:
    """The folder of such a benchmark: its rows (``rows.jsonl``), the sources its figures rest on
    (``sources.json``), ``results.json`` and ``table.md``."""
    out.mkdir(parents=True, exist_ok=True)
    script.write_rows(out / "rows.jsonl", rows)
    (out / "sources.json").write_text(json.dumps(sources, indent=1) + "\n")
    script.write_folder(out, record, table)
