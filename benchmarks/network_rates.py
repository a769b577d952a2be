"""Error rates of network inference over seeds on planted networks: ``infer_network`` beside IDTxl and
tigramite, the false-discovery proportion and recall of each method on the same data.

    python benchmarks/network_rates.py [--seeds 10] [--samples 1000] [--methods ...] [--couplings ...]
        [--resume] [--timeout S] [--idtxl-python /tmp/idtxlvenv/bin/python]
        [--tigramite-python /tmp/tigvenv/bin/python] [--out DIR | --write-results]

Each network (:func:`planted`): 5 processes, each its own lag-1 memory 0.3, and 5 planted edges
(distinct ordered pairs) at lags 1 or 2 with couplings 0.4 - 0.6 of random sign, acting through the
source's ``x`` (linear), ``tanh(2 x)`` (monotone) or ``sin(2 x)`` (non-monotone, a linear estimate
sees only its part along ``x``), with unit Gaussian innovations; the seed draws the graph and the data, so
every method sees the same samples. Every method searches lags 1 - 2 at alpha 0.05 with the same
surrogates a test (:data:`SETTINGS`; the kNN estimators with :data:`KSG_PERMUTATIONS`):

- iblearn: ``infer_network`` with ``method`` ``"auto"``, ``"ksg"``, ``"gaussian"``, ``"copula"``,
  Benjamini-Hochberg across targets (its default);
- IDTxl: ``MultivariateTE().analyse_network`` with ``JidtGaussianCMI`` or ``JidtKraskovCMI`` (k = 4),
  one analysis read twice, with its FDR correction across targets (Benjamini-Hochberg,
  ``fdr_constant=1``, as iblearn's and tigramite's) and without it;
- tigramite: PCMCI with ``ParCorr`` or ``CMIknn`` (shuffle test), one analysis read with Benjamini-Hochberg
  over all lagged links (``fdr_method="fdr_bh"``) and without (``"none"``); its p-values in the row.

A run's scores are over directed pairs (source, target): its false-discovery proportion, the share of
found pairs that are not planted (0 where none is found), and its recall, the share of planted pairs
found. ``cpu_s`` is the CPU time of the inference (the peer's process, JVM threads included), one
thread. Each run is one row of ``rows.jsonl``, keyed by (method, coupling, seed), naming the machine and
the commit it ran at (rows of several machines share one table; a CPU-seconds cell whose rows come from
more than one says so), written atomically as it finishes; ``--resume`` keeps the rows there and runs
only the missing ones. ``results.json`` (the rows with provenance: the machines and how many runs each,
the writer's CPU model and kNN kernel instruction set, versions, commits), ``config.json``,
``table.md`` and ``sources.json`` are rewritten from the rows. The committed folder is
``benchmarks/results/network_rates``, written with ``--write-results``.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import fcntl
import hashlib
import math
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from benchmarks.network import ask_peer
from benchmarks.runners.script import RESULTS, add_row, kernel_provenance, parser, positive_int, read_rows
from iblearn.network import benjamini_hochberg, infer_network
from iblearn.records import write_json

COMMITTED = RESULTS / "network_rates"
KEY = ("method", "coupling", "seed")
NODES, EDGES, MEMORY = 5, 5, 0.3
#: what every method searches with
SETTINGS: dict[str, Any] = {"min_lag": 1, "max_lag": 2, "alpha": 0.05, "n_permutations": 200}
#: The kNN estimators (iblearn's KSG, asked for or chosen by ``"auto"``; IDTxl's KSG; tigramite's
#: CMIknn) on fewer surrogates, for the CPU budget of two shared cores: the least p-value, 1/101,
#: stays below the first level of the correction across 5 targets, alpha / 5.
KSG_PERMUTATIONS = 100
COUPLINGS = {
    "linear": lambda x: x,
    "monotone": lambda x: np.tanh(2 * x),
    "non-monotone": lambda x: np.sin(2 * x),
}
IBLEARN = ("iblearn-gaussian", "iblearn-copula", "iblearn-ksg", "iblearn-auto")
PEERS = ("idtxl-gaussian", "idtxl-kraskov", "tigramite-parcorr", "tigramite-cmiknn")
METHODS = IBLEARN + PEERS
SOURCES = [
    "benchmarks/network_rates.py",
    "benchmarks/runners/network_peer.py",
    "src/iblearn/network",
    "src/iblearn/functional/cmi_surrogates.py",
    "src/iblearn/functional/knn",
    "src/iblearn/estimation/choose.py",
]


def planted(coupling: str, seed: int, samples: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """The ``(samples, 5)`` series of a planted network and its edges ``(source, target, lag)``:
    :data:`EDGES` distinct ordered pairs at lags 1 - 2, couplings 0.4 - 0.6 of random sign through
    :data:`COUPLINGS`'s function, each process its own lag-1 memory; the first 500 steps discarded.
    The graph depends on ``seed`` only, the same for every coupling."""
    rng = np.random.default_rng(seed)
    pairs = [(s, t) for s in range(NODES) for t in range(NODES) if s != t]
    picks = rng.choice(len(pairs), size=EDGES, replace=False)
    lags = rng.integers(1, 3, size=EDGES)
    weights = rng.uniform(0.4, 0.6, size=EDGES) * rng.choice([-1.0, 1.0], size=EDGES)
    coef = {(*pairs[i], int(lag)): w for i, lag, w in zip(picks, lags, weights, strict=True)}
    # Scaled down, where needed, so that the linear network is stable (companion radius at most 0.9).
    companion = np.zeros((2 * NODES, 2 * NODES))
    companion[:NODES, :NODES] = MEMORY * np.eye(NODES)
    companion[NODES:, :NODES] = np.eye(NODES)
    for (s, t, lag), c in coef.items():
        companion[t, (lag - 1) * NODES + s] = c
    radius = float(np.abs(np.linalg.eigvals(companion)).max())
    scale = min(1.0, 0.9 / radius)
    f = COUPLINGS[coupling]
    burn = 500
    x = np.zeros((samples + burn, NODES))
    noise = np.random.default_rng([seed, list(COUPLINGS).index(coupling)]).standard_normal(x.shape)
    for step in range(2, samples + burn):
        x[step] = noise[step] + MEMORY * x[step - 1]
        for (s, t, lag), c in coef.items():
            x[step, t] += scale * c * f(x[step - lag, s])
    return x[burn:], sorted(coef)


def scores(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> tuple[float, float]:
    """False-discovery proportion (0 where nothing is found) and recall of directed pairs."""
    false = len(found - truth)
    return (false / len(found) if found else 0.0), len(found & truth) / len(truth)


def pairs_of(edges: Any) -> set[tuple[int, int]]:
    """The directed pairs (source, target) of edges ``(source, target, lag)``."""
    return {(int(e[0]), int(e[1])) for e in edges}


def auto_choice(data: np.ndarray) -> str:
    """The estimator ``infer_network(method="auto")`` chooses for ``data``."""
    from iblearn.network.inference import auto_method

    return auto_method([data], SETTINGS["min_lag"], SETTINGS["max_lag"])[0]


def run_iblearn(method: str, data: np.ndarray) -> tuple[dict[str, list[list[int]]], float, dict[str, Any]]:
    """``infer_network``'s edges (under ``"fdr"``), its CPU seconds and what it recorded of the run
    (the estimator ``"auto"`` chose, the surrogates a test: :data:`KSG_PERMUTATIONS` where it runs
    KSG)."""
    chosen = auto_choice(data) if method == "auto" else method
    n = KSG_PERMUTATIONS if chosen == "ksg" else SETTINGS["n_permutations"]
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # slow mixing, where a seed's network has it
        result = infer_network(data, method=method, **(SETTINGS | {"n_permutations": n}))
    seconds = time.process_time() - start
    extra = {"chosen": result.settings["method"], "n_permutations": n}
    return {"fdr": [list(e) for e in result.edges]}, seconds, extra


def run_peer(
    method: str, data: np.ndarray, python: str, timeout: float | None = None
) -> tuple[dict[str, list[list[int]]], float, dict[str, Any]]:
    """The peer's edges (``"fdr"`` and ``"uncorrected"``), CPU seconds and version (and tigramite's
    p-value of every lagged link, ``p_links``), from ``network_peer.py`` in the peer's own venv."""
    library, test = method.split("-")
    n = KSG_PERMUTATIONS if test in ("kraskov", "cmiknn") else SETTINGS["n_permutations"]
    settings = SETTINGS | {"n_permutations": n, "test": test, "targets": None, "fdr_constant": 1}
    try:
        answer = ask_peer(library, data, settings, python, timeout)
    except RuntimeError as err:
        raise RuntimeError(f"{method}: {err}") from err
    edges = {"fdr": answer["edges"]}
    if "edges_uncorrected" in answer:
        edges["uncorrected"] = answer["edges_uncorrected"]
    extra = {"version": answer["version"], "numpy": answer["numpy"], "n_permutations": n}
    return edges, answer["seconds"], extra | ({"p_links": answer["p_links"]} if "p_links" in answer else {})


def run_one(
    method: str,
    coupling: str,
    seed: int,
    samples: int,
    pythons: dict[str, str],
    reused: dict[tuple[str, int], dict[str, Any]],
    timeout: float | None = None,
) -> dict[str, Any]:
    """The row of ``method`` on the network of ``coupling`` and ``seed``; ``"iblearn-auto"`` where it
    chooses KSG takes the row of ``"iblearn-ksg"`` from ``reused`` (keyed by coupling and seed) where
    there is one. A peer is stopped past ``timeout`` seconds (wall clock)."""
    data, truth = planted(coupling, seed, samples)
    if method == "iblearn-auto" and auto_choice(data) == "ksg" and (same := reused.get((coupling, seed))):
        # method="auto" that chooses KSG runs what method="ksg" ran, bit for bit: its row is that one's.
        return same | {"method": method, "reused_from": "iblearn-ksg"}
    if method.startswith("iblearn"):
        edges, seconds, extra = run_iblearn(method.split("-")[1], data)
    else:
        edges, seconds, extra = run_peer(method, data, pythons[method.split("-")[0]], timeout)
    row: dict[str, Any] = {"method": method, "coupling": coupling, "seed": seed, "samples": samples}
    for name, found in edges.items():
        fdp, recall = scores(pairs_of(found), pairs_of(truth))
        suffix = "" if name == "fdr" else "_" + name
        row |= {"fdp" + suffix: fdp, "recall" + suffix: recall, "edges" + suffix: found}
    return row | {"cpu_s": seconds, "truth": [list(e) for e in truth], **extra}


def spread(values: list[float]) -> float:
    """The sample standard deviation (0 for one value)."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summary(rows: list[dict[str, Any]], alpha: float = SETTINGS["alpha"]) -> list[dict[str, Any]]:
    """Per (method, coupling, correction): seeds, mean and sd of the FDP and of recall over seeds, the
    median CPU seconds a run, and the verdict: the mean FDP at most ``alpha`` or not."""
    out = []
    for coupling in COUPLINGS:
        for method in METHODS:
            mine = sorted(
                (r for r in rows if r["method"] == method and r["coupling"] == coupling),
                key=lambda r: r["seed"],
            )
            for suffix, correction in (("", "FDR"), ("_uncorrected", "none")):
                if not mine or "fdp" + suffix not in mine[0]:
                    continue
                fdp = [r["fdp" + suffix] for r in mine]
                recall = [r["recall" + suffix] for r in mine]
                out.append(
                    {
                        "method": method,
                        "coupling": coupling,
                        "correction": correction,
                        "seeds": len(mine),
                        "fdp": float(np.mean(fdp)),
                        "fdp_sd": spread(fdp),
                        "recall": float(np.mean(recall)),
                        "recall_sd": spread(recall),
                        "cpu_s": float(np.median([r["cpu_s"] for r in mine])),
                        "machines": len({r["machine"] for r in mine}),
                        "within": bool(np.mean(fdp) <= alpha),
                        "chosen": sorted({r["chosen"] for r in mine if "chosen" in r}),
                    }
                )
    return out


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of :func:`summary`."""
    alpha = SETTINGS["alpha"]
    lines = [
        f"| method | coupling | correction | seeds | FDP (mean ± sd) | recall (mean ± sd) | CPU s a run | "
        f"FDP at most {alpha:g} |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summed = summary(rows)
    most = max((s["seeds"] for s in summed), default=0)
    for s in summed:
        name = s["method"] + (f" (chose {', '.join(s['chosen'])})" if s["method"] == "iblearn-auto" else "")
        few = f", over {s['seeds']} of {most} seeds" if s["seeds"] < most else ""  # not a verdict over all
        where = f" ({s['machines']} machines)" if s["machines"] > 1 else ""  # the median mixes CPUs
        lines.append(
            f"| {name} | {s['coupling']} | {s['correction']} | {s['seeds']} | "
            f"{s['fdp']:.3f} ± {s['fdp_sd']:.3f} | {s['recall']:.2f} ± {s['recall_sd']:.2f} | "
            f"{s['cpu_s']:.1f}{where} | {'yes' if s['within'] else 'no'}{few} |"
        )
    return "\n".join(lines) + "\n"


def lock_path(out: Path) -> Path:
    """The lock file of the rows in ``out``, outside it (in the temporary folder)."""
    name = hashlib.sha1(str(out.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"network_rates-{name}.lock"


#: How a false pair (source, target) relates to the planted graph, the first that holds.
KINDS = (
    "reversed",
    "indirect, link into target missed",
    "indirect",
    "reversed path",
    "common driver",
    "unrelated",
)


def kind(pair: tuple[int, int], truth: set[tuple[int, int]], found: set[tuple[int, int]]) -> str:
    """Of :data:`KINDS`: the planted pair is the other way round; the source reaches the target by a
    planted path whose last link (into the target) is not among the ``found`` pairs, or by one whose
    last link is found; the target reaches the source by one; a third process reaches both; or none
    of these."""
    s, t = pair
    reach = {p: {p} for p in range(NODES)}
    for _ in range(NODES):
        for a, b in truth:
            for p in range(NODES):
                if a in reach[p]:
                    reach[p] = reach[p] | {b}
    if (t, s) in truth:
        return "reversed"
    if t in reach[s]:
        last = [(u, t) for u in range(NODES) if u != s and u in reach[s] and (u, t) in truth]
        return "indirect" if all(link in found for link in last) else "indirect, link into target missed"
    if s in reach[t]:
        return "reversed path"
    if any(s in reach[p] and t in reach[p] for p in range(NODES) if p not in (s, t)):
        return "common driver"
    return "unrelated"


def false_kinds(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (method, coupling): the false pairs found over all seeds (with FDR), counted by :data:`KINDS`;
    the false pairs a run, and alpha times the targets a run gives sources to: what a target's tests
    at level alpha let in (about one false pair in 1 / alpha targets with sources, by the maximum
    statistic of the step after its last true source); and ``excess_p``, the chance of at least so
    many false pairs over the seeds were they a Poisson count of mean alpha times the targets found."""
    out = []
    for coupling in COUPLINGS:
        for method in METHODS:
            mine = [r for r in rows if r["method"] == method and r["coupling"] == coupling]
            if not mine:
                continue
            counts = dict.fromkeys(KINDS, 0)
            targets = 0
            for r in mine:
                truth, found = pairs_of(r["truth"]), pairs_of(r["edges"])
                targets += len({t for _, t in found})
                for pair in sorted(found - truth):
                    counts[kind(pair, truth, found)] += 1
            false, expected = sum(counts.values()), SETTINGS["alpha"] * targets
            per_run = {
                "false_a_run": false / len(mine),
                "alpha_targets_a_run": expected / len(mine),
                # The chance of so many false pairs or more, were they a Poisson count of that mean.
                "excess_p": float(stats.poisson.sf(false - 1, expected)) if expected else 1.0,
            }
            out.append({"method": method, "coupling": coupling, "seeds": len(mine), **counts, **per_run})
    return out


def kinds_table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of :func:`false_kinds`, the methods with a false pair only."""
    alpha = SETTINGS["alpha"]
    lines = [
        "| method | coupling | seeds | "
        + " | ".join(KINDS)
        + f" | false pairs a run | {alpha:g} x targets found a run |",
        "|---|---|---|" + "---|" * (len(KINDS) + 2),
    ]
    for k in false_kinds(rows):
        if any(k[name] for name in KINDS):
            lines.append(
                f"| {k['method']} | {k['coupling']} | {k['seeds']} | "
                + " | ".join(str(k[n]) for n in KINDS)
                + f" | {k['false_a_run']:.2f} | {k['alpha_targets_a_run']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def shuffle_floor(n_permutations: int = KSG_PERMUTATIONS, alpha: float = SETTINGS["alpha"]) -> dict[str, Any]:
    """CMIknn's least p-value, ``(1 + #{surrogates >= statistic}) / (1 + n)`` at no surrogate above,
    beside Benjamini-Hochberg's cutoffs ``k alpha / links`` over PCMCI's lagged links (own pasts
    included): k links are rejected only where ``p_(k) <= k alpha / links``, so never fewer than
    ``least_rejections``; ``true_links`` are the planted edges and each process's lag-1 memory."""
    links = NODES * NODES * (SETTINGS["max_lag"] - SETTINGS["min_lag"] + 1)
    least = 1 / (n_permutations + 1)
    out = {"n_permutations": n_permutations, "least_p": least, "links": links, "first_cutoff": alpha / links}
    return out | {"least_rejections": math.ceil(least * links / alpha - 1e-9), "true_links": EDGES + NODES}


def floor_rows(rows: list[dict[str, Any]], method: str = "tigramite-cmiknn") -> list[dict[str, Any]]:
    """Per run of ``method`` that kept its links' p-values: how many links sit at the least p-value
    (of them the planted ones and the lag-1 memories), the planted links' largest p-value, and how many
    links Benjamini-Hochberg rejects over all of them (:func:`iblearn.network.benjamini_hochberg`)."""
    out = []
    for r in sorted(rows, key=lambda r: (list(COUPLINGS).index(r["coupling"]), r["seed"])):
        if r["method"] != method or "p_links" not in r:
            continue
        floor = shuffle_floor(r["n_permutations"])["least_p"] * (1 + 1e-9)
        p = {(int(i), int(j), int(lag)): float(v) for i, j, lag, v in r["p_links"]}
        planted, memories = [p[tuple(e)] for e in r["truth"]], [p[(i, i, 1)] for i in range(NODES)]
        out.append(
            {"coupling": r["coupling"], "seed": r["seed"], "at_floor": sum(v <= floor for v in p.values())}
            | {"planted_at_floor": sum(v <= floor for v in planted), "planted_p_max": max(planted)}
            | {"memories_at_floor": sum(v <= floor for v in memories)}
            | {"rejected": sum(benjamini_hochberg(list(p.values()), SETTINGS["alpha"]))}
        )
    return out


def floor_table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of :func:`floor_rows`."""
    head = (
        "| coupling | seed | links at the least p | planted ones | lag-1 memories | planted links' largest p"
    )
    lines = [head + " | links Benjamini-Hochberg rejects |", "|---|---|---|---|---|---|---|"]
    lines += [
        f"| {f['coupling']} | {f['seed']} | {f['at_floor']} | {f['planted_at_floor']} of {EDGES} | "
        f"{f['memories_at_floor']} of {NODES} | {f['planted_p_max']:.3f} | {f['rejected']} |"
        for f in floor_rows(rows)
    ]
    return "\n".join(lines) + "\n"


def committed_rows() -> list[dict[str, Any]]:
    """The committed rows (what the docs page renders)."""
    return read_rows(COMMITTED / "rows.jsonl", KEY)


def committed_table() -> str:
    return table(committed_rows())


def committed_kinds() -> str:
    return kinds_table(committed_rows())


def committed_floor() -> str:
    return floor_table(committed_rows())


def machines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The machines the rows ran on, most runs first: each with its number of runs and its methods."""
    named = sorted({r["machine"] for r in rows}, key=lambda m: (-sum(r["machine"] == m for r in rows), m))
    return [
        {
            "machine": m,
            "runs": sum(r["machine"] == m for r in rows),
            "methods": sorted({r["method"] for r in rows if r["machine"] == m}),
        }
        for m in named
    ]


def write_records(out: Path, config: dict[str, Any]) -> None:
    """``results.json``, ``config.json``, ``table.md`` and ``sources.json`` from the rows in ``out``."""
    rows = read_rows(out / "rows.jsonl", KEY)
    provenance = kernel_provenance() | {
        "peers": {r["method"]: r["version"] for r in rows if "version" in r},
        "commits": sorted({r["commit"] for r in rows if r.get("commit")}),
        "machines": machines(rows),
    }
    write_json(out / "config.json", config)
    write_json(
        out / "results.json",
        {
            "provenance": provenance,
            "settings": SETTINGS,
            "summary": summary(rows),
            "false_kinds": false_kinds(rows),
            "tigramite_floor": floor_rows(rows),
            "rows": rows,
        },
    )
    write_json(out / "sources.json", SOURCES)
    (out / "table.md").write_text(
        table(rows) + "\n" + kinds_table(rows) + "\n" + floor_table(rows), encoding="utf-8"
    )


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--seeds", type=positive_int, default=10)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--samples", type=positive_int, default=1000)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--couplings", nargs="+", default=list(COUPLINGS), choices=list(COUPLINGS))
    p.add_argument("--resume", action="store_true", help="keep the rows already there, run the others")
    p.add_argument("--timeout", type=float, default=None, help="a peer run's limit, wall seconds")
    p.add_argument("--idtxl-python", default="/tmp/idtxlvenv/bin/python")
    p.add_argument("--tigramite-python", default="/tmp/tigvenv/bin/python")
    p.add_output(COMMITTED, "--out")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume and (out / "rows.jsonl").exists():
        (out / "rows.jsonl").unlink()
    pythons = {"idtxl": args.idtxl_python, "tigramite": args.tigramite_python}
    config = {
        "settings": SETTINGS,
        "ksg_permutations": KSG_PERMUTATIONS,
        "nodes": NODES,
        "edges": EDGES,
        "samples": args.samples,
        "couplings": {"linear": "x", "monotone": "tanh(2 x)", "non-monotone": "sin(2 x)"},
        "scores": "directed pairs (source, target)",
        # IDTxl's default constant 2 (Benjamini-Yekutieli) needs 229 surrogates for 5 targets at 0.05,
        # and with fewer it returns no FDR-corrected edge at all.
        "idtxl": {"fdr_constant": 1},
        # CMIknn's shuffle test at tigramite's defaults (knn 0.2 of the samples, 5 shuffle neighbours,
        # ranks, permuting Y); PCMCI chooses pc_alpha among its own list (pc_alpha=None).
        "tigramite": {
            "cmiknn": {"knn": 0.2, "shuffle_neighbors": 5, "transform": "ranks", "permute": "Y", "seed": 42},
            "pc_alpha": None,
            "fdr_method": ["fdr_bh", "none"],
            "floor": shuffle_floor(),
        },
    }
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    for seed in seeds:
        for coupling in args.couplings:
            for method in args.methods:
                done = read_rows(out / "rows.jsonl", KEY)
                if any((r["method"], r["coupling"], r["seed"]) == (method, coupling, seed) for r in done):
                    continue
                ksg = {(r["coupling"], r["seed"]): r for r in done if r["method"] == "iblearn-ksg"}
                try:
                    row = run_one(method, coupling, seed, args.samples, pythons, ksg, args.timeout)
                except (RuntimeError, subprocess.TimeoutExpired) as err:
                    print(f"{method} {coupling} seed {seed}: left out ({err})", file=sys.stderr, flush=True)
                    continue
                print(
                    f"{method} {coupling} seed {seed}: FDP {row['fdp']:.2f} recall {row['recall']:.2f} "
                    f"{row['cpu_s']:.1f} s",
                    flush=True,
                )
                with open(lock_path(out), "w") as lock:  # a call elsewhere may add rows meanwhile
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    add_row(out / "rows.jsonl", KEY, row)
                    write_records(out, config)
    write_records(out, config)
    print(table(read_rows(out / "rows.jsonl", KEY)))


if __name__ == "__main__":
    main()
