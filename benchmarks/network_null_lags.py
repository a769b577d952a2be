"""Network inference's levels where the sources are strongly autocorrelated and searched at several
lags, and where the omnibus test meets sources of different surrogate kinds.

Each null network: 5 independent AR(1) processes, none driving another, of coefficients
(a, a, 0.5, 0.5, 0.5) (:data:`CASES`): a = 0.9 with ``surrogates="autoregressive"`` at T = 500 (lags
1-5) and T = 1000 (lags 1-3); and a = 0.99 at T = 500 (lags 1-5) with ``surrogates="auto"``, which
draws the two slow processes' surrogates by their spectrum (``"fourier"``) and the others' by their
autoregressive fit, so an omnibus test on sources of both gives each column its own kind. Every run:
``infer_network`` with ``method="gaussian"`` and ``"ksg"``, 200 surrogates a test, alpha 0.05,
Benjamini-Hochberg across targets, the seed the data's and the surrogates'.

Counted, each with its 95% Clopper-Pearson interval (targets of one run counted as if independent):

- family-wise: the runs with any edge;
- per target: the targets whose ``omnibus_p`` is at most alpha before the correction across targets;
  the targets whose omnibus test's own p-value (the joint test, before the larger of it and the first
  source's maximum statistic is taken) is, with a source selected or not; and the targets with a
  selected source variable whose own p-value (``TargetResult.p_values``) is at most alpha;
- the joint test alone on sources fixed before looking at the data, each target given its selected
  past: every lag of the first slow process that is not the target (``one process``), and every lag of
  it and of the first AR(0.5) process that is not the target (``two processes``, of different
  surrogate kinds in the ``auto`` case). With no selection before it, this p-value is valid where the
  surrogates keep the sources' joint law: its rate is the joint surrogates' own level.

And the same two joint tests with no search before them, target 4 (an AR(0.5) process) given its own
lag 1 (its true past), over ``--fixed-seeds`` more data sets of each case (seeds from
:data:`FIXED_FROM`): the kinds are those the case's runs draw, the processes of coefficient 0.99 by
their spectrum in the ``auto`` case (as ``auto`` chooses in most of its runs: the ``fourier`` column).

Run: ``python benchmarks/network_null_lags.py [--seeds 400] [--ksg-seeds 40] [--fixed-seeds 300]
[--minutes M] [--out DIR | --write-results]`` (0 seeds: none of that method). Each run is kept as a row
of ``runs.jsonl`` (``fixed.jsonl``: the joint tests with no search) in the output folder as it ends,
and a run given the same folder measures only the rows it lacks; the runs go seed by seed over every
cell, the joint tests with no search after them, and ``--minutes`` bounds the time spent on new runs,
each cell then counting the runs it has.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import math
import time
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.runners import script
from iblearn.functional.cmi_surrogates import condition
from iblearn.network import infer_network
from iblearn.network.embedding import embed
from iblearn.network.target import OMNIBUS, Settings, _Search
from iblearn.records import environment, markdown_table, write_json

OUT = script.RESULTS / "network_null_lags"
SETTINGS: dict[str, Any] = {"n_permutations": 200, "alpha": 0.05}
SOURCES = [
    "benchmarks/network_null_lags.py",
    "src/iblearn/network",
    "src/iblearn/functional/cmi_surrogates.py",
    "src/iblearn/functional/serial.py",
]

#: name -> (T, the processes' AR coefficients, max_lag, surrogates).
CASES = {
    "AR(0.9) x2, AR(0.5) x3, T = 500, lags 1-5": (500, (0.9, 0.9, 0.5, 0.5, 0.5), 5, "autoregressive"),
    "AR(0.9) x2, AR(0.5) x3, T = 1000, lags 1-3": (1000, (0.9, 0.9, 0.5, 0.5, 0.5), 3, "autoregressive"),
    "AR(0.99) x2, AR(0.5) x3, T = 500, lags 1-5, mixed kinds": (500, (0.99, 0.99, 0.5, 0.5, 0.5), 5, "auto"),
}
METHODS = ("gaussian", "ksg")
#: The first seed of the data sets of the joint tests with no search (:func:`fixed_run`).
FIXED_FROM = 10_000
#: The processes whose surrogates are phase-randomised in the joint tests with no search, by case.
FIXED_FOURIER = {case: (0, 1) if surrogates == "auto" else () for case, (*_, surrogates) in CASES.items()}
#: The rates counted, each a boolean per run (``"family"``) or per target (the others).
RATES = {
    "family": "runs with an edge",
    "omnibus": "targets with omnibus_p <= alpha",
    "joint": "targets with the joint test's p <= alpha",
    "edge": "targets with a source variable's p <= alpha",
    "one process": "joint test of one process's lags, p <= alpha",
    "two processes": "joint test of two processes' lags, p <= alpha",
}


def independent(t: int, coefficients: tuple[float, ...], seed: int) -> np.ndarray:
    """Independent AR(1) processes of the given ``coefficients``, ``t`` steps after a burn-in."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t + 500, len(coefficients)))
    for step in range(1, len(x)):
        x[step] += np.asarray(coefficients) * x[step - 1]
    return x[500:]


def joint_p(s: _Search, past: list[tuple[int, int]], sources: list[tuple[int, int]], key: int) -> float:
    """The omnibus test's p-value of ``sources`` given the target's ``past``, its surrogates keyed by
    ``key`` (-1: those of the inference's own omnibus test)."""
    cond = condition(s.y, s.emb.columns(past))
    return s.tested(cond, s.emb.columns(sources), OMNIBUS, (key, key), tuple(sources))[1]


def run(case: str, method: str, seed: int) -> dict[str, Any]:
    """One null network: per target its omnibus p-value, its joint test's, its source variables' least
    p-value, and the joint tests of the fixed sources; whether the run found an edge."""
    t, coefficients, max_lag, surrogates = CASES[case]
    data = independent(t, coefficients, seed)
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # slow processes; too few surrogates for P targets
        res = infer_network(data, max_lag, method=method, seed=seed, surrogates=surrogates, **SETTINGS)
    st = Settings(**{f.name: res.settings[f.name] for f in fields(Settings)})
    emb = embed([data], max_lag)
    lags = range(1, max_lag + 1)
    targets = []
    for r in res.targets:
        s = _Search(emb, r.target, st)
        past = [(r.target, lag) for lag in r.past]
        slow = next(p for p in (0, 1) if p != r.target)
        other = next(p for p in (2, 3) if p != r.target)
        targets.append(
            {
                "omnibus": r.omnibus_p,
                "joint": joint_p(s, past, list(r.sources), -1) if r.sources else 1.0,
                "edge": min(r.p_values, default=1.0),
                "sources": [list(v) for v in r.sources],
                "one process": joint_p(s, past, [(slow, lag) for lag in lags], -2),
                "two processes": joint_p(s, past, [(p, lag) for p in (slow, other) for lag in lags], -3),
            }
        )
    return {
        "edges": len(res.edges),
        "fourier": list(st.fourier),
        "targets": targets,
        "cpu_seconds": time.process_time() - start,
    }


def fixed_run(case: str, method: str, seed: int) -> dict[str, float]:
    """The joint tests of one process's lags and of two processes' lags into target 4 given its lag 1,
    with no search before them: their p-values."""
    t, coefficients, max_lag, _ = CASES[case]
    data = independent(t, coefficients, FIXED_FROM + seed)
    kinds = ("autoregressive", FIXED_FOURIER[case])
    s = _Search(embed([data], max_lag), 4, Settings(1, max_lag, method, 200, 0.05, seed, *kinds))
    lags = range(1, max_lag + 1)
    one = joint_p(s, [(4, 1)], [(0, lag) for lag in lags], -2)
    return {
        "one process": one,
        "two processes": joint_p(s, [(4, 1)], [(p, lag) for p in (0, 2) for lag in lags], -3),
    }


def rate(hits: list[bool]) -> dict[str, Any]:
    """The share of ``hits`` and its 95% Clopper-Pearson interval."""
    k, n = sum(hits), len(hits)
    low, high = script.clopper_pearson(k, n)
    return {"hits": k, "count": n, "share": k / n, "interval": [low, high]}


def cell(rows: list[dict[str, Any]], alpha: float) -> dict[str, Any]:
    """Every rate of :data:`RATES` over ``rows``, and how often several lags of one process were
    selected for a target."""
    targets = [t for r in rows for t in r["targets"]]
    out = {"runs": len(rows), "family": rate([r["edges"] > 0 for r in rows])}
    for name in RATES:
        if name != "family":
            out[name] = rate([t[name] <= alpha for t in targets])
    processes = [[p for p, _ in t["sources"]] for t in targets]
    out["several lags of one process"] = sum(len(set(p)) < len(p) for p in processes)
    out["mixed kinds in an omnibus test"] = sum(
        len({p in r["fourier"] for p, _ in t["sources"]}) > 1 for r in rows for t in r["targets"]
    )
    out["fourier"] = sorted({tuple(r["fourier"]) for r in rows})
    out["cpu_seconds"] = float(np.median([r["cpu_seconds"] for r in rows]))
    return out


def measure(out: Path, seeds: dict[str, int], minutes: float) -> dict[str, Any]:
    """Every cell's figures, each run read from ``out / "runs.jsonl"`` where it is there, else measured
    and written there at once, seed by seed over the cells of the methods given seeds; none begun after
    ``minutes``."""
    path = out / "runs.jsonl"
    keys = ("case", "method", "seed")
    rows = {tuple(r[k] for k in keys): r for r in script.read_rows(path, keys)}
    stop = time.monotonic() + 60 * minutes
    for seed in range(max(seeds.values())):
        for method in METHODS:
            for case in CASES:
                if seed < seeds[method] and (case, method, seed) not in rows and time.monotonic() < stop:
                    row = {"case": case, "method": method, "seed": seed, **run(case, method, seed)}
                    rows[case, method, seed] = script.stamped(row)
                    script.write_rows(path, rows.values())
    results: dict[str, Any] = {}
    for case in CASES:
        for method in METHODS:
            done = [rows[k] for seed in range(seeds[method]) if (k := (case, method, seed)) in rows]
            if done:
                results.setdefault(case, {})[method] = cell(done, SETTINGS["alpha"])
    return results


def measure_fixed(out: Path, seeds: int, minutes: float) -> dict[str, Any]:
    """The joint tests with no search, each data set's row read from ``out / "fixed.jsonl"`` where it
    is there, else measured and written there at once; none begun after ``minutes``."""
    path = out / "fixed.jsonl"
    keys = ("case", "method", "seed")
    rows = {tuple(r[k] for k in keys): r for r in script.read_rows(path, keys)}
    stop = time.monotonic() + 60 * minutes
    for seed in range(seeds):
        for method in METHODS:
            for case in CASES:
                if (case, method, seed) not in rows and time.monotonic() < stop:
                    row = {"case": case, "method": method, "seed": seed, **fixed_run(case, method, seed)}
                    rows[case, method, seed] = script.stamped(row)
                    script.write_rows(path, rows.values())
    alpha = SETTINGS["alpha"]
    results: dict[str, Any] = {}
    for case in CASES:
        for method in METHODS:
            done = [rows[k] for seed in range(seeds) if (k := (case, method, seed)) in rows]
            if done:
                tests = {
                    name: rate([r[name] <= alpha for r in done]) for name in ("one process", "two processes")
                }
                results.setdefault(case, {})[method] = tests
    return results


def table(results: dict[str, Any]) -> str:
    alpha = results["config"]["alpha"]
    rows = []
    for case, by_method in results["nulls"].items():
        for method, c in by_method.items():
            for name, what in RATES.items():
                r = c[name]
                rows.append([case, method, what, f"{r['hits']} of {r['count']}", *shown(r, alpha)])
    head = ["complete null", "method", "counted", "at alpha", "share [95% interval]", "verdict"]
    more = [
        [case, method, c["runs"], c["several lags of one process"], c["mixed kinds in an omnibus test"]]
        for case, by_method in results["nulls"].items()
        for method, c in by_method.items()
    ]
    selected = ["complete null", "method", "runs", "targets with several lags of one process"]
    fixed = [
        [case, method, name, f"{r['hits']} of {r['count']}", *shown(r, alpha)]
        for case, by_method in results["fixed"].items()
        for method, tests in by_method.items()
        for name, r in tests.items()
    ]
    return (
        markdown_table(head, rows)
        + "\n\n"
        + markdown_table([*selected, "targets whose omnibus test mixed kinds"], more)
        + "\n\n"
        + markdown_table(["complete null", "method", "joint test, no search", *head[3:]], fixed)
    )


def shown(r: dict[str, Any], alpha: float) -> list[str]:
    """A rate's share with its interval, and its verdict against ``alpha``."""
    share = f"{r['share']:.3f} [{r['interval'][0]:.3f}, {r['interval'][1]:.3f}]"
    return [share, script.level_verdict(r["share"], r["interval"], alpha)]


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_output(OUT)
    parser.add_argument("--seeds", type=script.nonnegative_int, default=400, help="runs of method gaussian")
    parser.add_argument("--ksg-seeds", type=script.nonnegative_int, default=40, help="runs of method ksg")
    parser.add_argument(
        "--fixed-seeds",
        type=script.nonnegative_int,
        default=300,
        help="data sets of each joint test with no search",
    )
    parser.add_argument("--minutes", type=float, default=math.inf, help="begin no run after so long")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = {"gaussian": args.seeds, "ksg": args.ksg_seeds}
    config = {
        **SETTINGS,
        "seeds": {**seeds, "fixed": args.fixed_seeds},
        "fdr": True,
        "cases": CASES,
        "fixed_fourier": FIXED_FOURIER,
    }
    write_json(out / "config.json", config)
    start = time.monotonic()
    results: dict[str, Any] = {"config": config, "nulls": measure(out, seeds, args.minutes)}
    left = args.minutes - (time.monotonic() - start) / 60
    results["fixed"] = measure_fixed(out, args.fixed_seeds, left)
    results["provenance"] = environment()
    script.write_folder(out, results, table(results))
    write_json(out / "sources.json", SOURCES)


if __name__ == "__main__":
    main()
