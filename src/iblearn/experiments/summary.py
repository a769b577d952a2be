"""The numbers of a reproduction's runs summarized over seeds."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any


def summarize_runs(rows: Iterable[dict[str, str]], metrics: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows keyed ``"task|method|seed"`` grouped by (task, method): each metric's (mean, sd) over seeds."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in rows:
        task, method, _ = r["key"].split("|")
        groups.setdefault((task, method), []).append(r)
    out = []
    for (task, method), rs in groups.items():
        entry: dict[str, Any] = {"task": task, "method": method, "seeds": len(rs)}
        for metric in metrics:
            values = [float(r[metric]) for r in rs]
            entry[metric] = (statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0)
        out.append(entry)
    return out
