"""Information among many variables: iblearn's total correlation, O-information and subset search against
hoi, THOI and infomeasure on the same samples, one run each.

    python benchmarks/multivariate.py [--tc-sizes 1000 10000 100000] [--skip-hoi-knn]

Three parts, each a goal:

* ``o5``: the O-information of 5 Gaussian variables (a random covariance, truth in closed form) at
  N = 10,000: iblearn's KSG, Gaussian and copula estimators, hoi's kNN (Kozachenko-Leonenko entropies
  on the full distance matrix) and Gaussian-copula (``gc``) paths, THOI's copula. Goal: iblearn's KSG
  at least 100x faster than hoi's kNN and closer to the truth.
* ``tc``: the KSG total correlation of the same 5 variables at growing N: iblearn and infomeasure's
  m-variable KSG (the same estimator, k = 3, max-norm). Goal: bounded memory at large N.
* ``search``: the O-information of all 4,060 triplets of 30 variables (N = 2,000): iblearn's
  ``o_information_search(method="copula")`` against THOI's ``nplets_measures`` and hoi's ``Oinfo(method
  ="gc")``. Goal: at least as fast as THOI, and the same values.

Each measurement runs in a fresh child process (one thread for torch, BLAS and XLA), the KSG and kNN
calls once, the Gaussian ones ``--repeats`` times: the least time is reported, and the first call's
(which includes hoi's JIT compilation) beside it. CPU time is the child's process CPU time around the
call (XLA computes in threads of its own, which the calling thread's CPU time would miss); memory is
the growth of the child's peak resident set over its resident set just before the call. hoi reports
bits: its values are converted to nats; its Gaussian-copula path runs with 64-bit floats (for the
comparison of values), its kNN path with its default 32-bit ones. The search is also timed A/B: iblearn's
and THOI's alternating in one process, ``--ab-rounds`` calls each.

Writes benchmarks/results/multivariate/results.json (config, values, times, versions) and table.md.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import argparse
import itertools
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runners import script

HERE = Path(__file__).resolve()
PEERS = ("hoi", "thoi", "infomeasure", "jax")


def covariance(m: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = 0.5 * rng.standard_normal((m, m))
    return a @ a.T + np.eye(m)


def closed_form(cov: np.ndarray) -> dict[str, float]:
    m = cov.shape[0]

    def h(cols: list[int]) -> float:
        return 0.5 * float(np.linalg.slogdet(cov[np.ix_(cols, cols)])[1])

    rest = [[j for j in range(m) if j != i] for i in range(m)]
    tc = sum(h([i]) for i in range(m)) - h(list(range(m)))
    dtc = sum(h(r) for r in rest) - (m - 1) * h(list(range(m)))
    return {"tc": tc, "o": tc - dtc}


# ------------------------------------------------------------------------------------------ one measurement
def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(task: dict[str, Any]) -> dict[str, Any]:
    """Runs in the child: loads the data, imports the method's library, times one call."""
    x = np.load(task["data"])
    method, what = task["method"], task["what"]
    if method == "hoi gc":  # 64-bit, for values to compare with the others' (the kNN path keeps hoi's 32)
        import jax

        jax.config.update("jax_enable_x64", True)
    import torch

    torch.set_num_threads(1)
    call = _method(method, what, x, task)
    before = _rss_kib()
    cpus, walls = [], []
    for _ in range(task.get("repeats", 1)):
        cpu, wall = time.process_time(), time.perf_counter()
        value = call()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "value": value,
        "cpu_s": min(cpus),
        "wall_s": min(walls),
        "first_cpu_s": cpus[0],
        "repeats": len(cpus),
        "peak_mib": max(0, peak - before) / 1024,
    }


def _method(method: str, what: str, x: np.ndarray, task: dict[str, Any]) -> Any:
    import torch

    import iblearn.functional as ibf

    nats = math.log(2)
    if method.startswith("iblearn"):
        estimator = method.split()[1]
        t = torch.from_numpy(x)
        if what == "o":
            return lambda: float(ibf.o_information(t, method=estimator))
        if what == "tc":
            return lambda: float(ibf.total_correlation(t, method=estimator))
        return lambda: _search_values(
            ibf.o_information_search(t, sizes=(3,), method=estimator, top=task["top"])
        )
    if method.startswith("hoi"):
        from hoi.metrics import TC, Oinfo

        estimator = "knn" if "knn" in method else "gc"
        m = x.shape[1]
        if what == "search":
            return lambda: _hoi_search(
                np.asarray(Oinfo(x, verbose=False).fit(minsize=3, maxsize=3, method="gc"))
            )
        metric = Oinfo if what == "o" else TC
        return lambda: (
            nats
            * float(
                np.asarray(metric(x, verbose=False).fit(minsize=m, maxsize=m, method=estimator)).ravel()[0]
            )
        )
    if method.startswith("THOI"):
        from thoi.measures.gaussian_copula import nplets_measures

        column = 2 if what in ("o", "search") else 0
        if what == "search":
            triplets = torch.tensor(list(itertools.combinations(range(x.shape[1]), 3)))
            return lambda: _thoi_search(nplets_measures(x, triplets, verbose=40)[:, 0, 2])
        return lambda: float(nplets_measures(x, torch.arange(x.shape[1])[None], verbose=40)[0, 0, column])
    if method == "A/B search":
        return lambda: _ab_search(x, task["rounds"])
    if method.startswith("infomeasure"):
        import infomeasure as im

        return lambda: float(im.mutual_information(*x.T, approach="ksg", k=3, base="e"))
    raise ValueError(f"method: unknown {method!r}")


def _ab_search(x: np.ndarray, rounds: int) -> dict[str, Any]:
    """iblearn's copula search and THOI's, alternating in one process: the CPU time of each call."""
    import torch
    from thoi.measures.gaussian_copula import nplets_measures

    import iblearn.functional as ibf

    t = torch.from_numpy(x)
    triplets = torch.tensor(list(itertools.combinations(range(x.shape[1]), 3)))
    calls = {
        "iblearn copula": lambda: ibf.o_information_search(t, sizes=(3,), method="copula", top=10),
        "THOI copula": lambda: nplets_measures(x, triplets, verbose=40),
    }
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.process_time()
            call()
            times[name].append(time.process_time() - start)
    return {name: {"min": min(v), "median": float(np.median(v))} for name, v in times.items()}


def _search_values(found: Any) -> dict[str, Any]:
    return {"highest": found.highest[:5], "lowest": found.lowest[:5], "evaluated": found.evaluated}


def _ranked(values: np.ndarray) -> dict[str, Any]:
    triplets = list(itertools.combinations(range(30), 3))
    order = np.argsort(values, kind="stable")
    return {
        "highest": [(triplets[i], float(values[i])) for i in order[::-1][:5]],
        "lowest": [(triplets[i], float(values[i])) for i in order[:5]],
        "evaluated": len(values),
        "all": [float(v) for v in values],
    }


def _hoi_search(bits: np.ndarray) -> dict[str, Any]:
    return _ranked(math.log(2) * bits.ravel())


def _thoi_search(values: Any) -> dict[str, Any]:
    return _ranked(values.numpy())


def child(task: dict[str, Any], timeout: float) -> dict[str, Any]:
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
        "JAX_PLATFORMS": "cpu",
    }
    try:
        out = subprocess.run(
            [sys.executable, str(HERE), "--child", json.dumps(task)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s, stopped"}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1])


# ------------------------------------------------------------------------------------------------ the parts
def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    cov5 = covariance(5, args.seed)
    truth5 = closed_form(cov5)
    rows: list[dict[str, Any]] = []

    def record(
        part: str, n: int, method: str, what: str, data: Path, truth: float | None, **extra: Any
    ) -> None:
        result = child({"data": str(data), "method": method, "what": what, **extra}, args.timeout)
        rows.append({"part": part, "n": n, "method": method, "truth": truth, **result})
        shown = {k: v for k, v in result.items() if k != "value" or not isinstance(v, dict)}
        print(part, n, method, shown, flush=True)

    x5 = rng.multivariate_normal(np.zeros(5), cov5, size=args.o5_n)
    np.save(folder / "o5.npy", x5)
    o5_methods = ["iblearn ksg", "iblearn gaussian", "iblearn copula", "hoi gc", "THOI copula", "hoi knn"]
    if args.skip_hoi_knn:
        o5_methods.remove("hoi knn")
    for method in o5_methods if "o5" in args.parts else []:
        repeats = 1 if method in ("hoi knn", "iblearn ksg") else args.repeats
        record("o5", args.o5_n, method, "o", folder / "o5.npy", truth5["o"], repeats=repeats)

    for n in args.tc_sizes if "tc" in args.parts else []:
        xt = rng.multivariate_normal(np.zeros(5), cov5, size=n)
        np.save(folder / f"tc{n}.npy", xt)
        for method in ("iblearn ksg", "infomeasure ksg"):
            if method.startswith("infomeasure") and n > args.peer_tc_max:
                continue
            record("tc", n, method, "tc", folder / f"tc{n}.npy", truth5["tc"])

    cov30 = covariance(30, args.seed + 1)
    x30 = rng.multivariate_normal(np.zeros(30), cov30, size=2000)
    np.save(folder / "search.npy", x30)
    for method in ("iblearn copula", "THOI copula", "hoi gc") if "search" in args.parts else []:
        record("search", 2000, method, "search", folder / "search.npy", None, top=10, repeats=args.repeats)
    if "search" in args.parts:
        record("search", 2000, "A/B search", "search", folder / "search.npy", None, rounds=args.ab_rounds)
    return {"rows": rows, "truth_o5": truth5, "covariance_seed": args.seed}


def compare_search(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Largest difference between THOI's (and hoi's) O of every triplet and iblearn's per-subset values."""
    import torch

    import iblearn.functional as ibf

    out = {}
    found = {
        r["method"]: r["value"] for r in rows if r["part"] == "search" and isinstance(r.get("value"), dict)
    }
    thoi = found.get("THOI copula")
    if thoi is None:
        return out
    ours = ibf.o_information_search(
        torch.from_numpy(np.load(SEARCH_DATA[0])), sizes=(3,), method="copula", top=4060
    )
    mine = dict(ours.highest)
    triplets = list(itertools.combinations(range(30), 3))
    for name in ("THOI copula", "hoi gc"):
        if name in found and "all" in found[name]:
            out[name] = max(abs(v - mine[t]) for t, v in zip(triplets, found[name]["all"], strict=True))
            del found[name]["all"]
    return out


SEARCH_DATA: list[Path] = []


def _shown(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if "highest" in v:
        (top, high), (bottom, low) = v["highest"][0], v["lowest"][0]
        return f"highest {tuple(top)} {high:.4f}, lowest {tuple(bottom)} {low:.4f}"
    return "; ".join(f"{name}: min {t['min']:.4f} s, median {t['median']:.4f} s" for name, t in v.items())


def table(results: dict[str, Any]) -> str:
    lines = []
    for part, title in (
        ("o5", "O-information of 5 Gaussian variables"),
        ("tc", "KSG total correlation of 5 Gaussian variables"),
        ("search", "O-information of all 4,060 triplets of 30 variables, N = 2,000"),
    ):
        lines += [
            f"\n### {title}\n",
            "| N | method | value (nats) | truth | CPU s | first call CPU s | wall s | peak MiB |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results["rows"]:
            if r["part"] != part:
                continue
            if "error" in r:
                lines.append(f"| {r['n']:,} | {r['method']} | {r['error']} | | | | | |")
                continue
            truth = "" if r["truth"] is None else f"{r['truth']:.4f}"
            times = f"{r['cpu_s']:.3f} | {r['first_cpu_s']:.3f} | {r['wall_s']:.3f} | {r['peak_mib']:.0f}"
            lines.append(f"| {r['n']:,} | {r['method']} | {_shown(r['value'])} | {truth} | {times} |")
    if results.get("search_max_difference"):
        diffs = ", ".join(f"{k} {v:.1e}" for k, v in results["search_max_difference"].items())
        lines.append(f"\nLargest difference from iblearn's copula O over the 4,060 triplets: {diffs} nats.")
    return "\n".join(lines)


def goals(results: dict[str, Any]) -> list[str]:
    """The three goals, each with whether this run met it."""
    rows = {(r["part"], r["n"], r["method"]): r for r in results["rows"] if "error" not in r}
    out = []
    o5 = results["config"]["o5_n"]
    ksg, knn = rows.get(("o5", o5, "iblearn ksg")), rows.get(("o5", o5, "hoi knn"))
    if ksg and knn:
        speed = knn["cpu_s"] / ksg["cpu_s"]
        ours, theirs = abs(ksg["value"] - ksg["truth"]), abs(knn["value"] - knn["truth"])
        met = speed >= 100 and ours < theirs
        out.append(
            f"O-information of 5 variables, N = {o5:,}, KSG against hoi's kNN: {speed:.0f}x less CPU time, "
            f"error {ours:.4f} against {theirs:.4f} nats: {'met' if met else 'not met'}"
        )
    tc = sorted((n, r) for (part, n, method), r in rows.items() if part == "tc" and method == "iblearn ksg")
    if tc:
        n, r = tc[-1]
        peaks = ", ".join(f"{m:,}: {q['peak_mib']:.0f}" for m, q in tc)
        out.append(
            f"KSG total correlation at N = {n:,}: {r['cpu_s']:.1f} s CPU; peak MiB by N ({peaks}), "
            "growing as N: " + ("met" if n >= 1_000_000 else "not run at 1,000,000")
        )
    ab = rows.get(("search", 2000, "A/B search"))
    if ab:
        mine, thoi = ab["value"]["iblearn copula"]["median"], ab["value"]["THOI copula"]["median"]
        out.append(
            f"All 4,060 triplets of 30 variables, copula, A/B median CPU time: iblearn {mine * 1000:.1f} ms, "
            f"THOI {thoi * 1000:.1f} ms ({thoi / mine:.1f}x): {'met' if mine <= thoi else 'not met'}"
        )
    return out


def render(results: dict[str, Any]) -> str:
    """table.md: the goals, the provenance, the tables."""
    env = results["environment"]
    head = ["## Goals\n", *[f"- {g}" for g in goals(results)], "\n## Provenance\n"]
    head.append(
        f"git commit {env.get('git_commit')}, torch {env.get('torch')}, numpy {env.get('numpy')}, python "
        f"{env.get('python')}, {env.get('platform')}; peers: "
        + ", ".join(f"{k} {v}" for k, v in results["peer_versions"].items())
    )
    if results.get("provenance"):
        head.append(f"\n{results['provenance']}")
    head.append(f"\nConfig: `{json.dumps(results['config'])}`")
    return "\n".join(head) + "\n" + table(results)


def versions() -> dict[str, str | None]:
    import importlib.metadata

    out: dict[str, str | None] = {}
    for package in PEERS:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    return out


if __name__ == "__main__":
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--render", action="store_true", help="rewrite table.md from results.json only")
    parser.add_argument("--o5-n", type=int, default=10_000)
    parser.add_argument("--tc-sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--peer-tc-max", type=int, default=100_000, help="largest N for infomeasure")
    parser.add_argument("--skip-hoi-knn", action="store_true", help="hoi's kNN path takes minutes and GBs")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a measurement may take")
    parser.add_argument("--seed", type=int, default=5, help="of the 5-variable covariance (O = 0.022)")
    parser.add_argument("--parts", nargs="+", default=["o5", "tc", "search"], choices=["o5", "tc", "search"])
    parser.add_argument("--ab-rounds", type=int, default=20, help="alternating calls of the two searches")
    parser.add_argument("--repeats", type=int, default=5, help="calls of the fast methods (the least time)")
    parser.add_output(HERE.parent / "results" / "multivariate", "--results")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        sys.exit(0)
    from iblearn.records import environment, read_json, write_json

    if args.render:
        out = Path(args.results)
        (out / "table.md").write_text(render(read_json(out / "results.json")) + "\n", encoding="utf-8")
        sys.exit(0)
    with tempfile.TemporaryDirectory() as tmp:
        SEARCH_DATA.append(Path(tmp) / "search.npy")
        results = run(args, Path(tmp))
        results["search_max_difference"] = compare_search(results["rows"])
    config = {k: v for k, v in vars(args).items() if k != "child"}
    results = {"config": config, **results, "peer_versions": versions(), "environment": environment()}
    text = render(results)
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    (out / "table.md").write_text(text + "\n", encoding="utf-8")
    print(text)
