"""What the scripts in benchmarks/ share: a parser with ``--results`` (and ``--threads``, ``--device``
for the timings), the JSON record and Markdown table each leaves there, and the whole of a timing
script that runs on a device."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from iblearn.records import environment, write_json

#: Where the scripts leave their records unless told otherwise: benchmarks/results of the checkout.
RESULTS = Path(__file__).resolve().parents[1] / "results"


def cpu_model() -> str | None:
    """The processor's model name from /proc/cpuinfo (None where there is none), for provenance."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def parser(doc: str, *, threads: bool = False, device: bool = False) -> argparse.ArgumentParser:
    """A script's parser, described by the first line of its docstring ``doc``, with ``--results``;
    ``--threads`` (torch's, default 1) and ``--device`` (default cpu) where asked for."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    if device:
        p.add_argument("--device", default="cpu")
    if threads:
        p.add_argument("--threads", type=int, default=1)
    p.add_argument("--results", default=str(RESULTS))
    return p


def write(results: str | Path, name: str, record: dict[str, Any], table: str) -> None:
    """``name.json`` (``record`` and the environment it was measured in) and ``name.md`` (``table``) in
    the folder ``results``; prints the table."""
    out = Path(results)
    write_json(out / f"{name}.json", {**record, "environment": environment()})
    (out / f"{name}.md").write_text(table, encoding="utf-8")
    print(table)


def time_on_device(doc: str, name: str, run: Callable[..., Any], table: Callable[[Any], str]) -> None:
    """A timing script's main: parses ``--threads``, ``--device`` and ``--results``, sets torch's
    threads, and records ``run(device=...)`` and its ``table`` as ``name_<device>``."""
    args = parser(doc, threads=True, device=True).parse_args()
    torch.set_num_threads(args.threads)
    results = run(device=args.device)
    write(args.results, f"{name}_{args.device}", {"results": results}, table(results))
