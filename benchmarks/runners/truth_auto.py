"""The front door's rows of benchmarks/truth.py: ``iblearn auto`` (:func:`iblearn.estimate`,
``method="auto"``) scored as an estimator, with what only it records: its interval, its verdict
(``reliable``) and the estimator it chose.

Per family and N: its share within the tolerance, the share of its rows it calls reliable, and of those
the share whose interval covers the truth; against iblearn best and against each peer on the
(task, seed) rows both ran; the tasks it misses on most seeds, with what it chose and which iblearn
estimator is within there. Across the suite: the coverage of its reliable intervals. The goals at
N = 5,000 are :data:`GOALS` and :data:`COVERAGE`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

AUTO = "iblearn auto"
#: what an ``iblearn auto`` row holds beyond every row's fields
FIELDS = ("lower", "upper", "reliable", "chosen", "caveat")
#: the least share within the tolerance at :data:`AT`, by family
GOALS = {"cmi": 0.85, "te": 0.98, "multivariate": 0.98, "mi": 0.85}
#: the least share of the reliable rows, across the suite, whose interval covers the truth
COVERAGE = 0.9
AT = 5000

Row = dict[str, Any]
Within = Callable[[Row], bool]


#: nats: the rounding of the closed forms, whose zero truths read as -4e-16 or 4e-15 (an interval of a
#: measure that cannot be negative ends at 0)
ROUNDING = 1e-12


def covers(row: Row) -> bool:
    """Whether the row's interval holds the truth (to :data:`ROUNDING`)."""
    low, high = row.get("lower"), row.get("upper")
    return low is not None and high is not None and low - ROUNDING <= row["truth"] <= high + ROUNDING


def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def _figures(rs: list[Row], within: Within) -> dict[str, Any]:
    reliable = [r for r in rs if r.get("reliable")]
    return {
        "rows": len(rs),
        "share": sum(map(within, rs)) / len(rs),
        "reliable": len(reliable) / len(rs),
        "coverage": sum(map(covers, reliable)) / len(reliable) if reliable else None,
        "chosen": dict(Counter(str(r.get("chosen")) for r in rs).most_common()),
    }


def summary(rows: list[Row], within: Within) -> dict[str, Any]:
    """Per N (a string) and family the auto rows' figures (:func:`_figures`), the goal and the tasks it
    misses (:func:`misses`), and ``"suite"``: the figures of every auto row at that N and the goal of
    their coverage."""
    by: dict[int, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["estimator"] == AUTO:
            by[r["n"]][r["family"]].append(r)
    return {
        str(n): {
            **{
                f: _figures(rs, within) | {"goal": GOALS.get(f), "missed": misses(rows, f, n, within)}
                for f, rs in families.items()
            },
            "suite": _figures([r for rs in families.values() for r in rs], within) | {"goal": COVERAGE},
        }
        for n, families in sorted(by.items())
    }


def against(rows: list[Row], family: str, n: int, other: str, within: Within) -> dict[str, Any] | None:
    """Auto against ``other`` on the (task, seed) rows of the family at N that both ran."""
    by = {(r["task"], r["seed"], r["estimator"]): r for r in rows if r["family"] == family and r["n"] == n}
    pairs = [(r, by[(t, s, other)]) for (t, s, e), r in by.items() if e == AUTO and (t, s, other) in by]
    if not pairs:
        return None
    ours, theirs = [p[0] for p in pairs], [p[1] for p in pairs]
    return {
        "other": other,
        "tasks": len({r["task"] for r in ours}),
        "auto_share": sum(map(within, ours)) / len(ours),
        "other_share": sum(map(within, theirs)) / len(theirs),
        "auto_error": _median([abs(r["error"]) for r in ours if r["error"] is not None]),
        "other_error": _median([abs(r["error"]) for r in theirs if r["error"] is not None]),
        "other_better_on": sorted({q["task"] for p, q in pairs if within(q) and not within(p)}),
    }


def others(rows: list[Row], family: str, n: int, best: str) -> list[str]:
    """iblearn best, then every peer with rows of the family at N."""
    peers = {r["estimator"] for r in rows if r["family"] == family and r["n"] == n}
    return [best] * (best in peers) + sorted(e for e in peers if not e.startswith("iblearn"))


def misses(rows: list[Row], family: str, n: int, within: Within) -> list[dict[str, Any]]:
    """The tasks of the family at N where auto is within on at most half its seeds: the truth, auto's
    median estimate and choices, and the iblearn estimators within on most seeds."""
    by: dict[str, dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["family"] == family and r["n"] == n and r["estimator"].startswith("iblearn"):
            by[r["task"]][r["estimator"]].append(r)
    out = []
    for task, ests in sorted(by.items()):
        mine = ests.get(AUTO, [])
        if not mine or sum(map(within, mine)) * 2 > len(mine):
            continue
        values = [r["estimate"] for r in mine if r["estimate"] is not None]
        out.append(
            {
                "task": task,
                "truth": mine[0]["truth"],
                "auto": _median(values),
                "chosen": sorted({str(r.get("chosen")) for r in mine}),
                "reliable": sum(bool(r.get("reliable")) for r in mine),
                "seeds": len(mine),
                "within": sorted(
                    e for e, rs in ests.items() if e != AUTO and sum(map(within, rs)) * 2 > len(rs)
                ),
            }
        )
    return out


def lines(rows: list[Row], n: int, families: tuple[str, ...], best: str, within: Within) -> list[str]:
    """The auto section of the leaderboard at N: its figures per family, head to head, its misses."""
    figures = summary(rows, within).get(str(n))
    if not figures:
        return []
    out = ["", f"### iblearn auto at N = {n:,}: the front door as an estimator", ""]
    out += [
        "| family | rows | within | reliable | reliable intervals covering the truth | chosen |",
        "|---|---|---|---|---|---|",
    ]
    for family in (*families, "suite"):
        if family in figures:
            f = figures[family]
            coverage = "-" if f["coverage"] is None else f"{f['coverage']:.0%}"
            chosen = ", ".join(f"{k} {v}" for k, v in f["chosen"].items())
            out.append(
                f"| {family} | {f['rows']} | {f['share']:.0%} | {f['reliable']:.0%} | {coverage} | {chosen} |"
            )
    out += ["", "| family | against | tasks | within: auto / other | median error: auto / other |"]
    out.append("|---|---|---|---|---|")
    for family in families:
        for other in others(rows, family, n, best):
            h = against(rows, family, n, other, within)
            if h is not None:
                out.append(
                    f"| {family} | {other} | {h['tasks']} | {h['auto_share']:.0%} / {h['other_share']:.0%} | "
                    f"{h['auto_error']:.3f} / {h['other_error']:.3f} |"
                )
    missed = [(f, m) for f in families for m in misses(rows, f, n, within)]
    out += ["", f"Tasks iblearn auto misses on most seeds at N = {n:,}:", ""]
    if not missed:
        return [*out, "None."]
    out += ["| family | task | truth | auto (median) | chosen | reliable | iblearn within |"]
    out.append("|---|---|---|---|---|---|---|")
    for family, m in missed:
        out.append(
            f"| {family} | {m['task']} | {m['truth']:.4f} | {m['auto']:.4f} | {', '.join(m['chosen'])} | "
            f"{m['reliable']} of {m['seeds']} | {', '.join(m['within']).replace('iblearn ', '') or '-'} |"
        )
    return out


def goals(rows: list[Row], families: tuple[str, ...], best: str, within: Within) -> list[str]:
    """Each goal of auto at :data:`AT`, met or not, with its figures."""
    figures = summary(rows, within).get(str(AT))
    if not figures:
        return [f"- iblearn auto: no rows at N = {AT:,}."]
    out = []
    for family in families:
        if family not in figures:
            continue
        share = figures[family]["share"]
        goal = GOALS[family]
        behind = [
            h
            for h in (against(rows, family, AT, o, within) for o in others(rows, family, AT, best))
            if h is not None and h["other_share"] > h["auto_share"]
        ]
        text = "; ".join(f"{h['other']} {h['other_share']:.0%} against {h['auto_share']:.0%}" for h in behind)
        out.append(
            f"- {family}, iblearn auto: within on {share:.0%} (goal {goal:.0%}): "
            f"{'met' if share >= goal else 'not met'}; at least iblearn best's and every peer's share "
            f"on the tasks both ran: {'met' if not behind else f'not met ({text})'}."
        )
    suite = figures["suite"]
    if suite["coverage"] is not None:
        out.append(
            f"- iblearn auto's reliable intervals ({suite['reliable']:.0%} of its rows) cover the truth on "
            f"{suite['coverage']:.0%} of them across the suite (goal {COVERAGE:.0%}): "
            f"{'met' if suite['coverage'] >= COVERAGE else 'not met'}."
        )
    return out
