"""The table and summary of ``benchmarks/discrete.py``: per cell, each library's least RMSE, NSB's
coverage and seconds; NSB against ndd's and an adaptive quadrature; ``choose_discrete_method`` against
the least RMSE; and the goals' figures (results.json's ``summary``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from iblearn.estimation.choose import WELL_SAMPLED_RATIO, WELL_SAMPLED_UNSEEN
from iblearn.records import markdown_table, write_json

#: A ratio of RMSEs within this of 1 is a tie (the summary's ``within``); the rule's tolerance; the
#: agreement asked of NSB against ndd's; the interval's half-width in posterior sds.
TIE, RULE_TIE, AGREE, Z = 0.01, 0.1, 1e-6, 1.959963984540054


# ------------------------------------------------------------------------------------------ table
def _best(rows: list[dict[str, Any]], library: str) -> dict[str, Any] | None:
    mine = [
        r for r in rows if r["library"] == library and r["ran"] == r["draws"] and r["estimator"] != "auto"
    ]
    return min(mine, key=lambda r: r["rmse"]) if mine else None


def _get(rows: list[dict[str, Any]], library: str, estimator: str) -> dict[str, Any] | None:
    return next((r for r in rows if r["library"] == library and r["estimator"] == estimator), None)


def _fmt(r: dict[str, Any] | None, key: str, form: str = "{:.3g}") -> str:
    return "-" if r is None or r.get(key) is None else form.format(r[key])


def by_cell(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault((r["regime"], r["k"], r["alpha"], r["n"]), []).append(r)
    return out


def cell_line(key: tuple[Any, ...], rows: list[dict[str, Any]]) -> list[Any]:
    """One line of the table: the best of each library by RMSE, coverage and seconds."""
    best = {lib: _best(rows, lib) for lib in ("iblearn", "ndd", "infomeasure")}
    peers = [b for lib, b in best.items() if lib != "iblearn" and b is not None]
    ours_ = best["iblearn"]
    met = "-" if not peers or ours_ is None else f"{ours_['rmse'] / min(p['rmse'] for p in peers):.3f}"
    named = [f"{b['estimator']} {b['rmse']:.3g}" if b else "-" for b in best.values()]
    nsb, ndd, im_nsb = (
        _get(rows, "iblearn", "nsb_k"),
        _get(rows, "ndd", "nsb_k"),
        _get(rows, "infomeasure", "nsb"),
    )
    return [
        *key[:2],
        "-" if key[2] is None else key[2],
        key[3],
        *named,
        met,
        _fmt(nsb, "rmse"),
        _fmt(nsb, "coverage", "{:.0%}"),
        _fmt(ndd, "coverage", "{:.0%}"),
        _fmt(nsb, "seconds", "{:.2g}"),
        _fmt(ndd, "seconds", "{:.2g}"),
        _fmt(im_nsb, "seconds", "{:.2g}"),
    ]


def rule_line(key: tuple[Any, ...], rows: list[dict[str, Any]], name: str) -> list[Any]:
    """The rule's choices in a cell, their RMSE, and the least RMSE of iblearn's estimators."""
    auto_, best = _get(rows, "iblearn", name), _best(rows, "iblearn")
    assert auto_ is not None and best is not None
    chosen = ", ".join(f"{m} {c}" for m, c in auto_["chosen"].items())
    ratio = auto_["rmse"] / best["rmse"] if best["rmse"] > 0 else 1.0
    alpha = "-" if key[2] is None else key[2]
    return [
        *key[:2],
        alpha,
        key[3],
        chosen,
        f"{auto_['rmse']:.3g}",
        f"{best['estimator']} {best['rmse']:.3g}",
        f"{ratio:.2f}",
    ]


def table(rows: list[dict[str, Any]], record: dict[str, Any]) -> str:
    """The Markdown table of every cell, and NSB against ndd's and the reference quadrature."""
    header = [
        "regime", "K", "alpha / eps", "N", "best iblearn (RMSE)", "best ndd (RMSE)",
        "best infomeasure (RMSE)", "ratio", "iblearn NSB RMSE", "iblearn NSB coverage", "ndd coverage",
        "iblearn NSB s", "ndd NSB s", "infomeasure NSB s",
    ]  # fmt: skip
    cellwise = by_cell([r for r in rows if r["library"] != "iblearn-ndd"])
    lines = [cell_line(key, rs) for key, rs in cellwise.items()]
    agree = [r for r in rows if r["library"] == "iblearn-ndd"]
    prov = record["provenance"]
    text = (
        "# Discrete entropy and MI: iblearn against ndd and infomeasure\n\n"
        f"{record['config']['draws']} draws a cell; RMSE and bias in nats; coverage of the estimate +- 1.96 "
        "posterior sds (NSB with K known); seconds: median thread CPU time of one call (a channel's: "
        "its three entropies). 'ratio': iblearn's least RMSE over the peers' least (at most 1: the goal "
        "met).\n\n" + markdown_table(header, lines)
    )
    if agree:
        text += "\n## NSB with K known: iblearn against ndd, and both against an adaptive quadrature\n\n"
        text += markdown_table(
            [
                "K",
                "alpha",
                "N",
                "max abs diff",
                "median abs diff",
                "iblearn to quadrature",
                "ndd to quadrature",
            ],
            [
                [
                    r["k"],
                    r["alpha"],
                    r["n"],
                    *(
                        _fmt(r, k, "{:.2g}")
                        for k in ("max_diff", "median_diff", "ours_to_exact", "ndd_to_exact")
                    ),
                ]
                for r in agree
            ],
        )
    for name, known in (("auto_k", "K known"), ("auto", "K unknown")):
        rule = [(key, rs) for key, rs in cellwise.items() if _get(rs, "iblearn", name)]
        if rule:
            text += (
                f"\n## choose_discrete_method ({known}) against the least RMSE of iblearn's estimators\n\n"
            )
            text += markdown_table(
                ["regime", "K", "alpha", "N", "chosen (draws)", "its RMSE", "least RMSE", "ratio"],
                [rule_line(key, rs, name) for key, rs in rule],
            )
    versions = ", ".join(f"{k} {v}" for k, v in prov["versions"].items() if v)
    return text + f"\n_Run on {prov['machine']}, {prov['date']}, commit {prov['git_commit']}; {versions}._\n"


# ----------------------------------------------------------------------------------------- summary
def _pooled(rows: list[dict[str, Any]], library: str, estimator: str) -> float | None:
    got = [r for r in rows if r["library"] == library and r["estimator"] == estimator and r.get("with_sd")]
    n = sum(r["with_sd"] for r in got)
    return sum(r["coverage"] * r["with_sd"] for r in got) / n if n else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The goals' figures: cells where iblearn's best RMSE is at most the peers' best (and the misses),
    NSB against ndd, pooled coverage, speed against ndd, and the rule against the least RMSE."""
    cellwise = by_cell([r for r in rows if r["library"] != "iblearn-ndd"])
    misses, compared, speed, ratios = [], 0, [], []
    winners: dict[str, int] = {}
    rule: dict[str, list[float]] = {}
    for key, rs in cellwise.items():
        best = {lib: _best(rs, lib) for lib in ("iblearn", "ndd", "infomeasure")}
        ours_ = best.pop("iblearn")
        assert ours_ is not None
        winners[ours_["estimator"]] = winners.get(ours_["estimator"], 0) + 1
        peers = [b for b in best.values() if b is not None]
        if peers:
            compared += 1
            top = min(peers, key=lambda r: r["rmse"])
            ratios.append(ours_["rmse"] / top["rmse"])
            if ours_["rmse"] > top["rmse"]:
                misses.append({"cell": list(key), "ours": [ours_["estimator"], ours_["rmse"]],
                               "peer": [top["library"], top["estimator"], top["rmse"]]})  # fmt: skip
        mine, theirs = _get(rs, "iblearn", "nsb_k"), _get(rs, "ndd", "nsb_k")
        if mine and theirs:
            speed.append({"cell": list(key), "ratio": theirs["seconds"] / mine["seconds"]})
        for name in ("auto_k", "auto"):
            if auto_ := _get(rs, "iblearn", name):
                rule.setdefault(name, []).append(auto_["rmse"] / ours_["rmse"] if ours_["rmse"] > 0 else 1.0)
    agree = [r for r in rows if r["library"] == "iblearn-ndd"]
    exact = [r for r in agree if "ours_to_exact" in r]
    return {
        "tie": TIE,
        "rule_tie": RULE_TIE,
        "agree": AGREE,
        "z": Z,
        "well_sampled": {"ratio": WELL_SAMPLED_RATIO, "unseen": WELL_SAMPLED_UNSEEN},
        "cells": len(cellwise),
        "compared": compared,
        "met": compared - len(misses),
        "misses": misses,
        "within": sum(r <= 1 + TIE for r in ratios),
        "ratio_max": max(ratios, default=None),
        "winners": winners,
        "nsb_max_diff": max((r["max_diff"] for r in agree), default=None),
        "nsb_cells_agree": sum(r["max_diff"] <= AGREE for r in agree),
        "nsb_cells": len(agree),
        "ours_to_exact_max": max((r["ours_to_exact"] for r in exact), default=None),
        "ndd_to_exact_max": max((r["ndd_to_exact"] for r in exact), default=None),
        "ndd_closer": sum(r["ndd_to_exact"] < r["ours_to_exact"] for r in exact),
        "coverage_ours": _pooled(rows, "iblearn", "nsb_k"),
        "coverage_ours_unknown": _pooled(rows, "iblearn", "nsb"),
        "coverage_ndd": _pooled(rows, "ndd", "nsb_k"),
        "speed_min": min((x["ratio"] for x in speed), default=None),
        "speed_max": max((x["ratio"] for x in speed), default=None),
        "slower_cells": [x for x in speed if x["ratio"] < 1],
        "faster_cells": sum(x["ratio"] >= 1 for x in speed),
        "speed_cells": len(speed),
        "rule": {
            name: {
                "median": float(np.median(v)),
                "max": max(v),
                "within": sum(r <= 1 + RULE_TIE for r in v),
                "cells": len(v),
            }
            for name, v in rule.items()
        },
    }


def render(out: Path, record: dict[str, Any]) -> None:
    """results.json with its summary, and table.md, from the record's rows."""
    record["summary"] = summarize(record["rows"])
    write_json(out / "results.json", record)
    (out / "table.md").write_text(table(record["rows"], record), encoding="utf-8")
