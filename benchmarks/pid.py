"""Exact discrete PIDs against dit: every atom of six redundancy measures on dit's canonical gates and on
random tables, and Phi-ID's 16 atoms against phyid; each library's thread CPU time.

    python -m benchmarks.pid [--random 20] [--seed 0] [--dit PYTHON] [--out DIR | --write-results]
    python -m benchmarks.pid --render [--out DIR | --write-results]
    python -m benchmarks.pid --gpid [--out DIR | --write-results]
    python -m benchmarks.pid --coverage [--seeds 30] [--resamples 20] [--out DIR | --write-results]

The gates are dit's own (``dit.pid.distributions``: 27 of two sources, 13 of three), read from dit as
tables and handed to both libraries. Two sources: mmi, min, broja, ccs, dep, sx; three sources (the
18-node lattice): mmi, min, ccs, sx. The random tables are Dirichlet(1) draws over alphabets of 2 to 4
symbols. dit runs in its own virtual environment (benchmarks/runners/pid_dit.py); each row records the
largest difference between the two libraries' atoms in bits and each one's thread CPU seconds, and
for BROJA iblearn's certified gap and IDTxl's values (its Tartu estimator, an exponential-cone program
solved by ECOS: benchmarks/runners/pid_idtxl.py), a second peer where dit's optimiser stops short.
Phi-ID: four coupled linear processes (VAR(1)), each Gaussian and binarized at its mean, MMI and
CCS, against phyid run from a checkout in its own virtual environment
(benchmarks/runners/phiid_peer.py). Writes results.json and table.md (Markdown, rendered from it).
``--coverage``: the intervals of pid_interval on the PID tasks with known atoms at N = 1,000 and
5,000 (benchmarks/pid_coverage.py), written to coverage.json and coverage.md.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.pid_coverage import coverage_record, coverage_rows, render_coverage
from benchmarks.pid_gaussian import GPID_COMMIT, gpid_rows, render_gpid
from benchmarks.runners.script import RESULTS, machine_provenance, parser, positive_int
from iblearn.functional import broja_pid, phiid, pid_distribution, pid_lattice
from iblearn.records import atomic_write_text, environment, write_json

DIT = "/work/peers/dit/bin/python"
IDTXL = "/work/peers/idtxl/bin/python"
PHYID = "/work/peers/phyid/bin/python"
PHYID_CHECKOUT = "/work/peers/phyid-src"
#: The commit of github.com/Imperial-MIND-lab/integrated-info-decomp the checkout holds.
PHYID_COMMIT = "f7fe791217ef5ee16cf9222a3ed089e66f423a1f"
#: VAR(1) systems (N, a, b, c, lag): x_t = a x + b y, y_t = c x + a y, plus unit Gaussian noise.
SYSTEMS = (
    (2000, 0.4, 0.3, 0.3, 1),
    (1000, 0.8, 0.1, -0.2, 1),
    (3000, 0.1, 0.6, 0.0, 2),
    (500, 0.0, 0.0, 0.0, 1),
)
ADAPTER = Path(__file__).resolve().parent / "runners" / "pid_dit.py"
TWO = ("mmi", "min", "broja", "ccs", "dep", "sx")
THREE = ("mmi", "min", "ccs", "sx")
SHAPES = ((2, 2, 2), (2, 2, 3), (3, 3, 2), (2, 3, 4), (3, 3, 3))
PARTS = ("{1}{2}", "{1}", "{2}", "{12}")  # PIDParts' order as dit names the nodes
BITS = math.log(2)
COVERAGE_NS = (1000, 5000)


def random_tables(n: int, seed: int) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    return {
        f"random {i}": rng.dirichlet(np.ones(int(np.prod(s)))).reshape(s).tolist()
        for i, s in enumerate(SHAPES[i % len(SHAPES)] for i in range(n))
    }


def iblearn_atoms(p: np.ndarray, measure: str) -> tuple[dict[str, float], float, float | None]:
    """iblearn's atoms in bits, its thread CPU seconds, and BROJA's certified gap (nats)."""
    gap = None
    start = time.thread_time()
    if p.ndim == 3 and measure == "broja":
        parts, gap = broja_pid(p)
        atoms = dict(zip(PARTS, (float(v) for v in parts), strict=True))
    elif p.ndim == 3:
        atoms = dict(zip(PARTS, (float(v) for v in pid_distribution(p, measure)), strict=True))  # type: ignore[arg-type]
    else:
        atoms = {k: float(v) for k, v in pid_lattice(p, measure).items()}  # type: ignore[arg-type]
    spent = time.thread_time() - start
    return {k: v / BITS for k, v in atoms.items()}, spent, gap


def run_dit(python: str, cases: list[dict[str, Any]], cache: Path) -> list[dict[str, Any]]:
    """dit's rows, from ``cache`` where it holds these very cases (dit takes minutes), else computed."""
    if cache.exists() and (held := json.loads(cache.read_text(encoding="utf-8")))["cases"] == cases:
        return list(held["rows"])
    done = subprocess.run(
        [python, str(ADAPTER), "run"], input=json.dumps(cases), capture_output=True, text=True, check=True
    )
    rows = list(json.loads(done.stdout))
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_json(cache, {"cases": cases, "rows": rows})
    return rows


def row(case: dict[str, Any], measure: str, peer: dict[str, Any]) -> dict[str, Any]:
    p = np.asarray(case["p"])
    ours, spent, gap = iblearn_atoms(p, measure)
    theirs = peer["atoms_bits"]
    diff = None if theirs is None else max(abs(ours[k] - theirs[k]) for k in ours)
    return {
        "case": case["name"],
        "kind": case["kind"],
        "sources": p.ndim - 1,
        "shape": list(p.shape),
        "measure": measure,
        "iblearn_bits": ours,
        "dit_bits": theirs,
        "max_abs_diff_bits": diff,
        "iblearn_cpu_s": spent,
        "dit_cpu_s": peer["cpu_s"],
        "broja_gap_nats": gap,
    }


def idtxl_broja(python: str, cases: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """IDTxl's BROJA (ECOS) on the two-source cases, and its largest difference from iblearn's atoms."""
    two = [{"name": c["name"], "p": c["p"]} for c in cases if np.ndim(c["p"]) == 3]
    adapter = str(ADAPTER.parent / "pid_idtxl.py")
    done = subprocess.run(
        [python, adapter], input=json.dumps(two), capture_output=True, text=True, check=True
    )
    peer = {r["name"]: r for r in json.loads(done.stdout)}
    diffs = []
    for r in rows:
        if r["measure"] == "broja" and (theirs := peer[r["case"]]["atoms_bits"]) is not None:
            r["idtxl_bits"] = theirs
            diffs.append(max(abs(r["iblearn_bits"][k] - theirs[k]) for k in theirs))
    return {
        "cases": len(two),
        "failed": len(two) - len(diffs),
        "max_abs_diff_bits": max(diffs),
        "idtxl_cpu_s": sum(r["cpu_s"] for r in peer.values()),
    }


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for sources in (2, 3):
        for m in TWO if sources == 2 else THREE:
            sel = [r for r in rows if r["measure"] == m and r["sources"] == sources]
            diffs = [r["max_abs_diff_bits"] for r in sel if r["max_abs_diff_bits"] is not None]
            ours, theirs = sum(r["iblearn_cpu_s"] for r in sel), sum(r["dit_cpu_s"] for r in sel)
            failed = len(sel) - len(diffs)
            out.append(
                {
                    "sources": sources,
                    "measure": m,
                    "cases": len(sel),
                    "dit_failed": failed,
                    "max_abs_diff_bits": max(diffs) if diffs else None,
                    "within_1e-6": sum(d <= 1e-6 for d in diffs),
                    "iblearn_cpu_s": ours,
                    "dit_cpu_s": theirs,
                    "speedup": theirs / ours if ours > 0 else None,
                }
            )
    return out


def var_series(n: int, a: float, b: float, c: float, rng: np.random.Generator) -> np.ndarray:
    s, coupling = np.zeros((n, 2)), np.array([[a, b], [c, a]])
    for t in range(1, n):
        s[t] = coupling @ s[t - 1] + rng.standard_normal(2)
    return s


def phiid_rows(python: str, checkout: str, seed: int) -> list[dict[str, Any]]:
    """iblearn's Phi-ID against phyid's on :data:`SYSTEMS` (atoms in phyid's units: bits if discrete)."""
    rng, cases = np.random.default_rng(seed), []
    for i, (n, a, b, c, lag) in enumerate(SYSTEMS):
        s = var_series(n, a, b, c, rng)
        for kind, series in (("gaussian", s), ("discrete", (s > s.mean(0)).astype(int))):
            cases += [
                {"name": f"var{i}", "series": series.tolist(), "lag": lag, "kind": kind, "redundancy": r}
                for r in ("mmi", "ccs")
            ]
    adapter = str(ADAPTER.parent / "phiid_peer.py")
    done = subprocess.run(
        [python, adapter],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": checkout},
    )
    rows = []
    for case, peer in zip(cases, json.loads(done.stdout), strict=True):
        discrete = case["kind"] == "discrete"
        series = torch.tensor(case["series"], dtype=torch.int64 if discrete else torch.float64)
        start = time.thread_time()
        res = phiid(series, case["lag"], redundancy=case["redundancy"], method=case["kind"])
        spent = time.thread_time() - start
        unit = BITS if discrete else 1.0
        ours = {k: float(v) / unit for k, v in res.atoms.items()}
        diff = max(abs(ours[k] - peer["atoms"][k]) for k in ours)
        rows.append(
            {
                **{k: case[k] for k in ("name", "kind", "redundancy", "lag")},
                "n": len(case["series"]),
                "iblearn": ours,
                "phyid": peer["atoms"],
                "max_abs_diff": diff,
                "sum_minus_tdmi": float(sum(res.atoms.values()) - res.tdmi),
                "iblearn_cpu_s": spent,
                "phyid_cpu_s": peer["cpu_s"],
            }
        )
    return rows


def render_phiid(record: dict[str, Any]) -> list[str]:
    rows = record.get("phiid") or []
    if not rows:
        return []
    lines = [
        "",
        f"## Phi-ID against phyid ({record['provenance']['versions']['phyid'][:7]})",
        "",
        "Largest |iblearn - phyid| over the 16 atoms (nats; bits for discrete, as phyid gives them).",
        "",
        "| system | method | redundancy | N | largest difference | iblearn ms | phyid ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['kind']} | {r['redundancy']} | {r['n']} | {r['max_abs_diff']:.1e} | "
            f"{1e3 * r['iblearn_cpu_s']:.1f} | {1e3 * r['phyid_cpu_s']:.1f} |"
        )
    return lines


def render(out: Path, record: dict[str, Any]) -> None:
    lines = [
        f"# Exact discrete PIDs: iblearn against dit {record['provenance']['versions']['dit']}",
        "",
        "Largest |iblearn - dit| over every atom of every case, bits; thread CPU seconds, all cases.",
        "",
        "| sources | measure | cases | within 1e-6 bits | largest difference | iblearn s | dit s "
        "| dit / iblearn |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in record["summary"]:
        diff = "-" if s["max_abs_diff_bits"] is None else f"{s['max_abs_diff_bits']:.1e}"
        lines.append(
            f"| {s['sources']} | {s['measure']} | {s['cases']} | {s['within_1e-6']} | {diff} | "
            f"{s['iblearn_cpu_s']:.3f} | {s['dit_cpu_s']:.3f} | {s['speedup']:.0f}x |"
        )
    gaps = [r["broja_gap_nats"] for r in record["rows"] if r["broja_gap_nats"] is not None]
    lines += ["", f"BROJA: largest certified Frank-Wolfe gap {max(gaps):.1e} nats over {len(gaps)} tables."]
    if idtxl := record.get("idtxl_broja"):
        ours = next(s["iblearn_cpu_s"] for s in record["summary"] if s["measure"] == "broja")
        lines += [
            "",
            f"BROJA against IDTxl's Tartu estimator (ECOS): largest difference "
            f"{idtxl['max_abs_diff_bits']:.1e} bits over {idtxl['cases'] - idtxl['failed']} tables; "
            f"IDTxl {idtxl['idtxl_cpu_s']:.3f} s, iblearn {ours:.3f} s.",
        ]
    lines += [
        "",
        "Where dit differs: its BROJA optimiser stops short of the minimum on some tables (there its",
        "redundancy can be negative, which BROJA's cannot), where the certificate and IDTxl agree with",
        "iblearn; its I_ccs uses a maximum-entropy table whose IPF stops short of the marginals where the",
        "maximum lies on the boundary ('rand', 'jeff').",
    ]
    lines += render_phiid(record)
    atomic_write_text(out / "table.md", "\n".join(lines) + "\n")


def coverage(out: Path, seeds: int, n_resamples: int) -> None:
    """coverage.json and coverage.md (:mod:`benchmarks.pid_coverage`)."""
    start = time.process_time()
    rows = coverage_rows(COVERAGE_NS, seeds, n_resamples)
    config = {"ns": list(COVERAGE_NS), "seeds": seeds, "n_resamples": n_resamples, "confidence": 0.95}
    record = coverage_record(config, rows, start)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "coverage.json", record)
    atomic_write_text(out / "coverage.md", render_coverage(record))
    print(out / "coverage.md", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--random", type=positive_int, default=20, help="random tables")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dit", default=DIT, help="the Python of dit's venv")
    p.add_argument("--idtxl", default=IDTXL, help="the Python of IDTxl's venv ('' to leave it out)")
    p.add_argument("--phyid", default=PHYID, help="the Python of phyid's venv ('' to leave Phi-ID out)")
    p.add_argument(
        "--phyid-checkout", default=PHYID_CHECKOUT, help=f"a checkout of phyid at {PHYID_COMMIT[:7]}"
    )
    p.add_argument("--render", action="store_true", help="only rewrite table.md from results.json")
    p.add_argument("--coverage", action="store_true", help="the intervals' coverage on the PID tasks")
    p.add_argument(
        "--gpid", action="store_true", help="Gaussian BROJA against gpid (benchmarks/pid_gaussian.py)"
    )
    p.add_argument("--seeds", type=positive_int, default=30, help="seeds per task and N (--coverage)")
    p.add_argument("--resamples", type=positive_int, default=20, help="half-samples (--coverage)")
    p.add_output(RESULTS / "pid", "--out")
    args = p.parse_args(argv)
    out: Path = args.out
    if args.render:
        render(out, json.loads((out / "results.json").read_text(encoding="utf-8")))
        if (out / "gpid.json").exists():
            record = json.loads((out / "gpid.json").read_text(encoding="utf-8"))
            atomic_write_text(out / "gpid.md", render_gpid(record))
        if (out / "coverage.json").exists():
            record = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
            atomic_write_text(out / "coverage.md", render_coverage(record))
        return
    torch.set_num_threads(1)
    if args.coverage:
        coverage(out, args.seeds, args.resamples)
        return
    if args.gpid:
        record = {
            "provenance": {
                **machine_provenance(),
                "gpid": GPID_COMMIT,
            },
            "rows": gpid_rows(),
        }
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "gpid.json", record)
        atomic_write_text(out / "gpid.md", render_gpid(record))
        return
    exported = json.loads(
        subprocess.run([args.dit, str(ADAPTER), "gates"], capture_output=True, text=True, check=True).stdout
    )
    tables = [("gate", k, v) for k, v in exported["gates"].items()]
    tables += [("random", k, v) for k, v in random_tables(args.random, args.seed).items()]
    cases = [
        {"name": name, "kind": kind, "p": t, "measures": list(TWO if np.ndim(t) == 3 else THREE)}
        for kind, name, t in tables
    ]
    peer = {(r["name"], r["measure"]): r for r in run_dit(args.dit, cases, out / "dit_rows.json")}
    iblearn_atoms(np.asarray(cases[0]["p"]), "broja")  # first-call imports off the clock
    rows = [row(c, m, peer[c["name"], m]) for c in cases for m in c["measures"]]
    env = environment()
    provenance = {
        **machine_provenance(),
        "versions": {
            "iblearn": env["iblearn"],
            "dit": exported["dit"],
            "phyid": PHYID_COMMIT,
            "python": env["python"],
        },
    }
    record = {
        "config": {"random": args.random, "seed": args.seed},
        "provenance": provenance,
        "summary": summary(rows),
        "rows": rows,
        "idtxl_broja": idtxl_broja(args.idtxl, cases, rows) if args.idtxl else None,
        "phiid": phiid_rows(args.phyid, args.phyid_checkout, args.seed) if args.phyid else [],
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", record)
    render(out, record)
    print(out / "table.md", file=sys.stderr)


if __name__ == "__main__":
    main()
