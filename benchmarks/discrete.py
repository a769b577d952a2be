"""Discrete entropy and MI estimators against ndd and infomeasure on the same draws: bias, RMSE,
coverage of the posterior intervals, and thread CPU seconds per call.

    python -m benchmarks.discrete [--draws 20] [--quick] [--no-peers] [--out DIR | --write-results]

Regimes: Dirichlet-multinomial draws (a law p from a symmetric Dirichlet(alpha) over K symbols, then N
samples of it; the truth is H(p)) for K = 100, 10^4, 10^6, alpha = 0.01, 0.1, 1, 10, N = 10^2 to
10^5; a Zipf law p_i ~ 1/i over 10^4 symbols; and the MI of a symmetric channel (X uniform over K
symbols, Y = X with probability 1 - eps, else one of the other K - 1 uniformly:
I = log K + (1 - eps) log(1 - eps) + eps log(eps / (K - 1))), each MI H(X) + H(Y) - H(X, Y) by one
entropy estimator. Every estimator reads the positive counts (and K where it takes one: NSB "K known"
gets K, K and K^2 for a channel). The peers run in their own virtual environments through
``benchmarks/runners/discrete_peer.py``; one that cannot start is left out and said so.

Coverage is the share of draws whose truth lies within the estimate +- 1.96 posterior sds (NSB's, and
ndd's). Seconds are the median thread CPU time of one call. Writes config.json, results.json (rows
and provenance) and table.md.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.runners.discrete_report import render
from benchmarks.runners.script import RESULTS, numpy_provenance, parser, positive_int
from iblearn.estimation.choose import choose_discrete_method
from iblearn.functional import discrete_entropy, nsb_entropy, pym_entropy
from iblearn.functional.discrete import Method
from iblearn.records import write_json

PEER = Path(__file__).resolve().parent / "runners" / "discrete_peer.py"
PEERS = {"ndd": "/work/peers/ndd/bin/python", "infomeasure": "/work/peers/infomeasure/bin/python"}
METHODS: tuple[Method, ...] = (
    "plugin",
    "miller_madow",
    "grassberger",
    "chao_shen",
    "zhang",
    "cwj",
    "shrinkage",
    "jvhw",
)
Z = 1.959963984540054
FULL = {
    "ks": [100, 10**4, 10**6],
    "alphas": [0.01, 0.1, 1.0, 10.0],
    "ns": [100, 1000, 10**4, 10**5],
    "zipf_k": 10**4,
    "channels": [[10, 0.3], [100, 0.3]],
    "channel_ns": [100, 1000, 10**4],
}
QUICK = {
    "ks": [100],
    "alphas": [0.1, 1.0],
    "ns": [100],
    "zipf_k": 100,
    "channels": [[10, 0.3]],
    "channel_ns": [100],
}


# ------------------------------------------------------------------------------------------- cells
def cells(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every cell of the benchmark: its regime and parameters."""
    for k in config["ks"]:
        for alpha in config["alphas"]:
            for n in config["ns"]:
                yield {"regime": "dirichlet", "k": k, "alpha": alpha, "n": n}
    for n in config["ns"]:
        yield {"regime": "zipf", "k": config["zipf_k"], "alpha": None, "n": n}
    for k, eps in config["channels"]:
        for n in config["channel_ns"]:
            yield {"regime": "channel", "k": k, "alpha": eps, "n": n}


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def draw(cell: dict[str, Any], rng: np.random.Generator) -> tuple[float, list[tuple[np.ndarray, int]]]:
    """One draw: the truth and the count vectors (positive counts) with their alphabets; a channel's
    three (X, Y, (X, Y)), the others' one."""
    k, n = cell["k"], cell["n"]
    if cell["regime"] == "channel":
        eps = cell["alpha"]
        x = rng.integers(0, k, n)
        y = np.where(rng.random(n) < eps, (x + rng.integers(1, k, n)) % k, x)
        truth = math.log(k) + (1 - eps) * math.log(1 - eps) + eps * math.log(eps / (k - 1))
        parts = [(np.bincount(x), k), (np.bincount(y), k), (np.bincount(x * k + y), k * k)]
        return truth, [(c[c > 0], a) for c, a in parts]
    if cell["regime"] == "zipf":
        p = 1 / np.arange(1, k + 1)
        p /= p.sum()
    else:
        p = rng.dirichlet(np.full(k, cell["alpha"]))
    c = rng.multinomial(n, p)
    return _entropy(p), [(c[c > 0], k)]


# ------------------------------------------------------------------------------------ estimators
def _timed(call: Callable[[], Any]) -> list[Any]:
    start = time.thread_time()
    out = call()
    seconds = time.thread_time() - start
    value, sd = out if isinstance(out, tuple) else (float(out), None)
    return [float(value), sd if sd is None or math.isfinite(sd) else None, seconds]


def ours(counts: np.ndarray, k: int) -> dict[str, list[Any]]:
    """iblearn's estimators on one count vector: [value, sd or None, seconds] each."""
    out: dict[str, list[Any]] = {
        m: _timed(partial(discrete_entropy, counts=counts, method=m, alphabet=k)) for m in METHODS
    }
    out["nsb"] = _timed(lambda: nsb_entropy(counts=counts))
    out["nsb_k"] = _timed(lambda: nsb_entropy(counts=counts, alphabet=k))
    out["pym"] = _timed(lambda: pym_entropy(counts=counts))
    return out


def auto(counts: np.ndarray, k: int | None) -> str:
    """The estimator ``choose_discrete_method`` picks for the counts, K known (its NSB is ``nsb_k``) or
    not."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chosen = choose_discrete_method(counts, alphabet=k)[0]
    return "nsb_k" if chosen == "nsb" and k is not None else chosen


class Peer:
    """A peer's worker process (``discrete_peer.py`` in its venv), one request a line."""

    def __init__(self, name: str, python: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [python, str(PEER), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"},
        )
        self.version = json.loads(self._read())["version"]

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: the worker stopped")
        return line

    def __call__(self, jobs: list[tuple[np.ndarray, int]]) -> list[dict[str, Any]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps([{"counts": c.tolist(), "k": int(k)} for c, k in jobs]) + "\n")
        self.proc.stdin.flush()
        answers: list[dict[str, Any]] = json.loads(self._read())
        return answers

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def start_peers(paths: dict[str, str]) -> tuple[dict[str, Peer], dict[str, str]]:
    """The peers that start, and why each of the others did not."""
    started, missing = {}, {}
    for name, python in paths.items():
        try:
            started[name] = Peer(name, python)
        except (OSError, RuntimeError, ValueError) as err:
            missing[name] = str(err)
    return started, missing


# ---------------------------------------------------------------------------------------- one cell
def _combine(parts: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """One answer per estimator from a draw's parts: the entropy, or H(X) + H(Y) - H(X, Y)."""
    if len(parts) == 1:
        return parts[0]
    out = {}
    for name in parts[0]:
        got = [g for p in parts if (g := p.get(name)) is not None]
        if len(got) == len(parts):
            value = got[0][0] + got[1][0] - got[2][0]
            out[name] = [value, None, sum(g[2] for g in got)]
    return out


def run_cell(cell: dict[str, Any], draws: int, seed: int, peers: dict[str, Peer]) -> list[dict[str, Any]]:
    """The rows of one cell: per library and estimator, its error statistics over ``draws`` draws."""
    key = [seed, cell["k"], cell["n"], int(1000 * (cell["alpha"] or 0)), len(cell["regime"])]
    rng = np.random.default_rng(key)
    found: dict[tuple[str, str], list[tuple[float, list[Any]]]] = {}
    pairs, exact = [], None
    choices: dict[str, list[str]] = {}
    for i in range(draws):
        truth, parts = draw(cell, rng)
        answers = {"iblearn": _combine([ours(c, k) for c, k in parts])}
        for name, peer in peers.items():
            answers[name] = _combine(peer(parts))
        for library, by in answers.items():
            for estimator, got in by.items():
                if got is not None:
                    found.setdefault((library, estimator), []).append((truth, got))
        if len(parts) == 1:
            by = answers["iblearn"]
            for name, known in (("auto_k", parts[0][1]), ("auto", None)):
                chosen = auto(parts[0][0], known)
                choices.setdefault(name, []).append(chosen)
                found.setdefault(("iblearn", name), []).append((truth, [by[chosen][0], None, by[chosen][2]]))
        theirs = answers.get("ndd", {}).get("nsb_k")
        if len(parts) == 1 and theirs is not None:
            pairs.append((answers["iblearn"]["nsb_k"][0], theirs[0]))
            if i == 0:
                exact = reference_nsb(*parts[0]), answers["iblearn"]["nsb_k"][0], theirs[0]
    rows = [summary(cell, library, estimator, got, draws) for (library, estimator), got in found.items()]
    for r in rows:
        if r["estimator"] in choices:
            picks = choices[r["estimator"]]
            r["chosen"] = {c: picks.count(c) for c in sorted(set(picks))}
    if pairs:
        rows.append(
            {
                **cell,
                "library": "iblearn-ndd",
                "estimator": "nsb_k",
                "draws": draws,
                **agreement(pairs, exact),
            }
        )
    return rows


def reference_nsb(counts: np.ndarray, k: int) -> float:
    """NSB's posterior mean by adaptive quadrature (scipy's quad, relative tolerance 1e-11) over
    log a within 60 of -log K: the reference both quadratures are held to."""
    from scipy import integrate

    from iblearn.functional.discrete.estimators import fingerprint
    from iblearn.functional.discrete.nsb import _log_weight, _moments, _peak

    f = fingerprint(counts, k)
    top, _ = _peak(f, k)
    peak = float(_log_weight(np.array([top]), f, k)[0])

    def w(t: float) -> float:
        return math.exp(float(_log_weight(np.array([t]), f, k)[0]) - peak)

    def m(t: float) -> float:
        return w(t) * float(_moments(np.array([t]), f, k)[0][0])

    lo, hi = -math.log(k) - 60, -math.log(k) + 60
    opts = {"points": [top], "limit": 500, "epsabs": 0, "epsrel": 1e-11}
    return integrate.quad(m, lo, hi, **opts)[0] / integrate.quad(w, lo, hi, **opts)[0]


def agreement(pairs: list[tuple[float, float]], exact: tuple[float, float, float] | None) -> dict[str, Any]:
    """iblearn's NSB (K known) against ndd's on the same draws, and both against the reference
    quadrature on the first draw."""
    diff = np.abs([a - b for a, b in pairs])
    out: dict[str, Any] = {
        "ran": len(pairs),
        "max_diff": float(diff.max()),
        "median_diff": float(np.median(diff)),
    }
    if exact is not None:
        out.update(ours_to_exact=abs(exact[1] - exact[0]), ndd_to_exact=abs(exact[2] - exact[0]))
    return out


def summary(
    cell: dict[str, Any], library: str, estimator: str, got: list[tuple[float, list[Any]]], draws: int
) -> dict[str, Any]:
    """Bias, RMSE, coverage (where the estimator gives an sd) and median seconds over the draws."""
    err = np.array([g[0] - t for t, g in got])
    sds = [(t, g[0], g[1]) for t, g in got if g[1] is not None]
    covered = [abs(v - t) <= Z * s for t, v, s in sds]
    return {
        **cell,
        "library": library,
        "estimator": estimator,
        "draws": draws,
        "ran": len(got),
        "bias": float(err.mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "coverage": float(np.mean(covered)) if covered else None,
        "with_sd": len(covered),
        "seconds": float(np.median([g[2] for _, g in got])),
        "truth": float(np.mean([t for t, _ in got])),
    }


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--draws", type=positive_int, default=20, help="draws per cell")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="a tiny configuration (scratch only)")
    p.add_argument("--no-peers", action="store_true", help="iblearn alone")
    for name, python in PEERS.items():
        p.add_argument(f"--{name}", default=python, help=f"the Python of {name}'s venv")
    p.add_output(RESULTS / "discrete", "--out")
    p.add_argument(
        "--render", action="store_true", help="only rewrite the table and summary from results.json"
    )
    args = p.parse_args(argv)
    if args.render:
        render(args.out, json.loads((args.out / "results.json").read_text(encoding="utf-8")))
        return
    torch.set_num_threads(1)
    config = {**(QUICK if args.quick else FULL), "draws": args.draws, "seed": args.seed}
    peers, missing = start_peers({} if args.no_peers else {n: getattr(args, n) for n in PEERS})
    provenance = numpy_provenance()
    provenance["versions"] |= {n: peer.version for n, peer in peers.items()}
    provenance["peers_missing"] = missing
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", config)
    rows: list[dict[str, Any]] = []
    started = time.process_time()
    for cell in cells(config):
        rows += run_cell(cell, args.draws, args.seed, peers)
        provenance["cpu_seconds"] = time.process_time() - started
        record = {"config": config, "provenance": provenance, "rows": rows}
        write_json(out / "results.json", record)
        print(json.dumps(cell), f"{provenance['cpu_seconds']:.0f} s", file=sys.stderr, flush=True)
    for peer in peers.values():
        peer.close()
    render(out, record)
    print(out / "table.md")


if __name__ == "__main__":
    main()
