"""What the scripts in benchmarks/ share: a parser with ``--results`` (and ``--threads``, ``--device``
for the timings), the JSON record and Markdown table each leaves there, and the whole of a timing
script that runs on a device.

The rule for where a script writes: the committed folders under ``benchmarks/results`` change only
with ``--write-results``; any other run (a quick one, a subset, fewer seeds) writes to a scratch folder
under ``benchmarks/results/_scratch`` (git-ignored) unless its ``--out`` (or ``--results``) names a
folder of the user's. A rows file is merged by each row's key and rewritten atomically, so a run never
removes a row it did not measure again, and a line cut short by a killed run is dropped and redone.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import beta

from iblearn._provenance import cpu_model, git_commit
from iblearn.functional.knn import kernel_isa
from iblearn.records import atomic_write_text, environment, write_json

#: The committed records: benchmarks/results of the checkout, written only with ``--write-results``.
RESULTS = Path(__file__).resolve().parents[1] / "results"
#: Where a run goes without ``--write-results`` or a folder of the user's (git-ignored).
SCRATCH = RESULTS / "_scratch"


#: The compiled kernel's instruction sets, narrowest first: the values of IBLEARN_SIMD.
ISA_SETS = ("portable", "avx2", "avx512")


def isa_sets() -> list[str]:
    """The instruction sets of the compiled kernel this CPU runs, narrowest first, up to the widest (asked
    of a child process without IBLEARN_SIMD, so that this process's own setting does not cap it); empty
    where the kernel was not built."""
    env = {k: v for k, v in os.environ.items() if k != "IBLEARN_SIMD"}
    ask = "from iblearn.functional.knn import kernel_isa; print(kernel_isa())"
    widest = subprocess.run(
        [sys.executable, "-c", ask], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    return list(ISA_SETS[: ISA_SETS.index(widest) + 1]) if widest in ISA_SETS else []


def under_isa(isa: str, argv: Sequence[str], capture: bool = True) -> subprocess.CompletedProcess[str]:
    """``python argv`` in a child process whose compiled kernel runs ``isa`` (IBLEARN_SIMD), its output
    captured (else passed through)."""
    env = {**os.environ, "IBLEARN_SIMD": isa}
    return subprocess.run([sys.executable, *argv], env=env, capture_output=capture, text=True)


def machine() -> str:
    """This machine in words: the CPU model, then the platform's word (architecture and CPU count)."""
    platform_word = environment()["machine"]
    return f"{cpu_model() or platform_word} ({platform_word})"


def machine_provenance() -> dict[str, Any]:
    """The commit, date and machine (:func:`machine`) a record ran at: the first keys of every record's
    provenance, its versions added by each script."""
    env = environment()
    return {"git_commit": env["git_commit"], "date": env["date"], "machine": machine()}


def kernel_provenance() -> dict[str, Any]:
    """:func:`machine_provenance` with the compiled kernel's instruction set and the versions of iblearn,
    torch and numpy: the provenance of a script whose figures come from the kNN kernels."""
    env = environment()
    versions = {"iblearn": env["iblearn"], "torch": torch.__version__, "numpy": np.__version__}
    return {**machine_provenance(), "kernel_isa": kernel_isa(), "versions": versions}


def numpy_provenance() -> dict[str, Any]:
    """:func:`machine_provenance` with the versions of iblearn, numpy and Python: the provenance of a
    script whose figures come from numpy."""
    env = environment()
    versions = {"iblearn": env["iblearn"], "numpy": np.__version__, "python": env["python"]}
    return {**machine_provenance(), "versions": versions}


class Parser(argparse.ArgumentParser):
    """An argument parser whose outputs follow the rule of this module: declare each with
    :meth:`add_output`; the parsed namespace then holds the path to write, resolved and checked."""

    def add_output(self, committed: str | Path, flag: str = "--out") -> None:
        """``flag``, the folder (or, where ``committed`` has a suffix, the file) written, and once
        ``--write-results``, which writes the committed ``committed``."""
        outputs = self.__dict__.setdefault("_outputs", [])
        outputs.append((flag.lstrip("-").replace("-", "_"), Path(committed)))
        self.add_argument(
            flag,
            type=Path,
            default=None,
            help=f"where to write (default: under {SCRATCH.name}/, or {committed} with --write-results)",
        )
        if len(outputs) == 1:
            self.add_argument(
                "--write-results", action="store_true", help="write the committed results of the checkout"
            )

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        ns, extra = super().parse_known_args(args, namespace)
        for dest, committed in self.__dict__.get("_outputs", []):
            try:
                setattr(
                    ns, dest, output_path(getattr(ns, dest), committed, ns, "--" + dest.replace("_", "-"))
                )
            except ValueError as err:
                self.error(str(err))
        return ns, extra


def output_path(out: Path | None, committed: Path, args: argparse.Namespace, flag: str = "--out") -> Path:
    """Where a run writes: ``out`` where given (a folder, or a file where ``committed`` is one; among
    the committed results only with ``--write-results``), else ``committed`` with ``--write-results``,
    else its scratch twin."""
    write_results, quick = getattr(args, "write_results", False), getattr(args, "quick", False)
    if write_results and quick:
        raise ValueError("--write-results: a --quick run is not written to the committed results")
    if out is None:
        return committed if write_results else scratch_for(committed)
    path = Path(out)
    if committed.suffix and path.is_dir():
        raise ValueError(f"{flag}: {out} is a folder, not a file")
    if not committed.suffix and path.exists() and not path.is_dir():
        raise ValueError(f"{flag}: {out} is a file, not a folder")
    if not write_results and (committed_path(path) or path.resolve() == committed.resolve()):
        raise ValueError(f"{flag}: {out} holds committed results; add --write-results to change them")
    return path


def committed_path(path: Path) -> bool:
    """Whether ``path`` lies among the committed results (under RESULTS, not under SCRATCH)."""
    path = path.resolve()
    return path.is_relative_to(RESULTS) and not path.is_relative_to(SCRATCH)


def scratch_for(committed: Path) -> Path:
    """The scratch twin of a committed folder or file."""
    committed = committed.resolve()
    return SCRATCH / (committed.relative_to(RESULTS) if committed.is_relative_to(RESULTS) else committed.name)


def parser(doc: str, *, threads: bool = False, device: bool = False) -> Parser:
    """A script's parser, described by the first line of its docstring ``doc``, with ``--results``
    (and ``--write-results``: see the module's rule); ``--threads`` (torch's, default 1) and
    ``--device`` (default cpu) where asked for."""
    p = Parser(description=doc.splitlines()[0])
    if device:
        p.add_argument("--device", default="cpu")
    if threads:
        p.add_argument("--threads", type=positive_int, default=1)
    p.add_output(RESULTS, "--results")
    return p


def cell_draws_arguments(
    doc: str,
    name: str,
    argv: Sequence[str] | None,
    grids: tuple[dict[str, Any], dict[str, Any]],
    *,
    draws: int,
    seed: int,
    quick: str,
) -> tuple[argparse.Namespace, dict[str, Any]]:
    """The arguments of a script that draws samples in every cell of a grid, parsed: ``--draws`` per
    cell (default ``draws``), ``--seed`` (default ``seed``), ``--quick`` (the first of ``grids``, one
    cell, which ``quick`` says; else the second) and ``--out`` (default ``RESULTS / name``); and the
    run's configuration, the grid with the draws and the seed. Torch is set to one thread."""
    p = parser(doc)
    p.add_argument("--draws", type=positive_int, default=draws, help="draws per cell")
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_output(RESULTS / name, "--out")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    return args, {**grids[0 if args.quick else 1], "draws": args.draws, "seed": args.seed}


# ------------------------------------------------------------------------------ shared argument types
def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def positive_int(text: str) -> int:
    """An argument that must be a whole number above 0 (a size, a count)."""
    if (value := _whole(text)) <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def nonnegative_int(text: str) -> int:
    """An argument that must be a whole number, 0 or above (a seed)."""
    if (value := _whole(text)) < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or above")
    return value


def positive_float(text: str) -> float:
    """An argument that must be a finite number above 0 (seconds, a tolerance)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be finite and positive")
    return value


# ------------------------------------------------------------------------------------ rates at alpha
def clopper_pearson(hits: int, count: int, tail: float = 0.025) -> tuple[float, float]:
    """The Clopper-Pearson interval of a share of ``hits`` in ``count`` trials, ``tail`` of the
    probability left out on each side (0.025: the 95% interval)."""
    low = float(beta.ppf(tail, hits, count - hits + 1)) if hits else 0.0
    high = float(beta.ppf(1 - tail, hits + 1, count - hits)) if hits < count else 1.0
    return low, high


def level_verdict(share: float, interval: Sequence[float], alpha: float) -> str:
    """A rejection rate against its level: above alpha where the whole interval is, at most alpha where
    the whole interval is; else whether the share seen is at most alpha, which so few runs cannot prove
    (the interval holds alpha)."""
    if interval[0] > alpha:
        return "above alpha"
    if interval[1] <= alpha:
        return "at most alpha"
    return "at most alpha seen (not proven)" if share <= alpha else "above alpha seen (not proven)"


# --------------------------------------------------------------------------------------- rows files
def read_rows(path: Path, keys: Iterable[str]) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file (none where it is absent), the last of each key kept. A last line
    cut short (no newline: a run killed mid-write) is dropped, to be measured again; any other line that
    is not a JSON object holding ``keys`` raises ValueError naming the file and line."""
    if not path.exists():
        return []
    if not path.is_file():
        raise ValueError(f"{path}: not a file")
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    last = len(lines) - (1 if text.endswith("\n") else 0)
    keys = tuple(keys)
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for i, line in enumerate(lines[:last], start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            if i == last and not text.endswith("\n"):
                print(f"{path}: line {i} is cut short; it is measured again", file=sys.stderr)
                continue
            raise ValueError(f"{path}, line {i}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}, line {i}: a row must be a JSON object, not {type(row).__name__}")
        missing = [k for k in keys if k not in row]
        if missing:
            raise ValueError(f"{path}, line {i}: the row lacks {', '.join(missing)}")
        rows[tuple(json.dumps(row[k]) for k in keys)] = row
    return list(rows.values())


@functools.cache
def run_commit() -> str | None:
    """The commit this run imported iblearn from (read once: a commit made while it runs is not its)."""
    return git_commit()


def stamped(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as a rows file keeps it: with ``commit`` and ``machine``, the commit it ran at and the
    machine it ran on (:func:`machine`), its own where it has them, so that rows measured on several
    machines can share one file."""
    return {**row, "commit": row.get("commit") or run_commit(), "machine": row.get("machine") or machine()}


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """``rows`` as JSON lines in ``path``, atomically."""
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def add_row(path: Path, keys: Iterable[str], row: dict[str, Any]) -> None:
    """``row``, stamped, added to the rows file ``path`` (keyed by ``keys``), read again just before the
    write: another call may have added rows meanwhile."""
    write_rows(path, [*read_rows(path, keys), stamped(row)])


def write(results: str | Path, name: str, record: dict[str, Any], table: str) -> None:
    """``name.json`` (``record`` and the environment it was measured in) and ``name.md`` (``table``) in
    the folder ``results``; prints the table."""
    out = Path(results)
    write_json(out / f"{name}.json", {**record, "environment": environment()})
    (out / f"{name}.md").write_text(table, encoding="utf-8")
    print(table)


def write_folder(out: Path, results: dict[str, Any], table: str) -> None:
    """``results.json`` (``results`` as they are) and ``table.md`` (``table``) in the folder ``out``, made
    where it is absent; prints the table."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    (out / "table.md").write_text(table, encoding="utf-8")
    print(table)


def time_on_device(doc: str, name: str, run: Callable[..., Any], table: Callable[[Any], str]) -> None:
    """A timing script's main: parses ``--threads``, ``--device`` and ``--results``, sets torch's
    threads, and records ``run(device=...)`` and its ``table`` as ``name_<device>``."""
    args = parser(doc, threads=True, device=True).parse_args()
    torch.set_num_threads(args.threads)
    results = run(device=args.device)
    write(args.results, f"{name}_{args.device}", {"results": results}, table(results))
