"""Ground truth beyond MI: iblearn's estimators and their peers on the tasks with exact answers
(:func:`iblearn.data.exact_tasks`: conditional MI, transfer entropy, the multivariate
measures, MI), every estimator on the tasks whose measure it computes.

    python benchmarks/truth.py [--quick] [--resume] [--sizes 1000 5000 20000] [--seeds 0 1 2]
        [--families cmi te multivariate mi] [--estimators NAME ...] [--timeout 120]
        [--peer-python /tmp/truthpeers/bin/python] [--render]

Estimators: iblearn's KSG (``ksg_mi``, ``ksg_cmi``, ``transfer_entropy``, ``method="ksg"``), Gaussian
(``gaussian_mi``, ``gaussian_cmi``, ``method="gaussian"``) and copula (``method="copula"``; for MI, CMI
and TE ``copula_normal`` of the continuous arrays, then the Gaussian estimate), and for the discrete
systems plug-in entropies (``discrete_entropy``); ``iblearn auto``, the front door
(:func:`iblearn.estimate`, ``method="auto"``) on every task, whose rows add its interval (``lower``,
``upper``), ``reliable``, the estimator it ``chosen`` and its ``caveat``; the peers NPEET-plus (MI, CMI,
TE as a CMI), tigramite's CMIknn (CMI, TE as a CMI), ennemi (MI and CMI of scalars), infomeasure's KSG
(MI, CMI, TE, conditional TE, TC), hoi (Gaussian copula ``gc`` and ``knn``: TC, DTC, O, S, interaction
information, the MMI redundancy and synergy), THOI (TC, DTC, O, S) and dit (the discrete systems, its
MMI PID). kNN estimators use k = 3. A TE computed as a CMI gets the samples of
:func:`~iblearn.data.te_samples`.

Each estimator runs in a worker process of its library (``benchmarks/runners/truth_estimators.py``),
one thread, kept between calls; a call over ``--timeout`` seconds is stopped (its worker killed and
started again) and recorded as a timeout. The peers need packages that do not coexist with the
project's pins (hoi wants jax, THOI its own torch): they run in a separate environment named by
``--peer-python`` (or ``TRUTH_PEER_PYTHON``), made once with

    python3 -m venv /tmp/truthpeers && /tmp/truthpeers/bin/pip install torch==2.13.0 npeet-plus \\
        tigramite==5.2.10.1 numba six ennemi hoi==0.0.7 jax==0.4.30 jaxlib==0.4.30 thoi==0.2.42 \\
        infomeasure==0.6.3 dit

A peer that is missing is reported and skipped. hoi's kNN path holds an N x N matrix: it runs up to
N = 5,000.

Writes ``benchmarks/results/truth/rows.jsonl`` (one line per task, N, seed and estimator: task, family,
measure, n, seed, estimator, truth, estimate, seconds, error, status), ``provenance.json`` (commit,
machine, dates, versions, commands, and each run's sources: the code behind its rows, ``sources.json``
for iblearn's, ``PEER_SOURCES`` for the peers'), ``table.md`` (the leaderboard: per family and N, each
estimator's share within 10% of the truth, or 0.03 nats where the truth is below 0.3, median absolute
error, median seconds; head to head against each peer; iblearn auto's share, verdicts and the coverage of its
reliable intervals, head to head against iblearn best and each peer, and the tasks it misses; the tasks
every estimator fails; the goals) and
``leaderboard.png``. ``--resume`` keeps the rows already written and runs the rest; ``--quick``: N =
1,000, seed 0, a 30 s limit (a few minutes). ``--render`` rewrites the table and figure from the rows.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import argparse
import datetime
import functools
import json
import os
import platform
import select
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runners import script, truth_auto
from iblearn.records import atomic_write_text, environment, read_json, write_json

HERE = Path(__file__).resolve()
# The estimators' module by its folder, not through benchmarks.runners (whose package imports the
# experiments): the workers run it as a script, and it imports nothing of the benchmarks.
sys.path.insert(0, str(HERE.parent / "runners"))
from truth_estimators import LIBRARY, MAX_N, applies  # noqa: E402

WORKER = HERE.parent / "runners" / "truth_estimators.py"
RESULTS = HERE.parent / "results" / "truth"
#: the code behind the peers' rows (iblearn's rows have the folder's ``sources.json``)
PEER_SOURCES = ("benchmarks/runners/truth_estimators.py", "src/iblearn/data/tasks")
FAMILIES = ("cmi", "te", "multivariate", "mi")
ESTIMATORS = tuple(LIBRARY)
IBLEARN = (*(e for e in ESTIMATORS if e.startswith("iblearn")), "iblearn best")
#: iblearn's single estimators, each of one method (the front door chooses among them)
SINGLE = tuple(e for e in IBLEARN[:-1] if e != truth_auto.AUTO)
PEER_PACKAGES = (
    "npeet-plus",
    "tigramite",
    "ennemi",
    "infomeasure",
    "hoi",
    "thoi",
    "dit",
    "jax",
    "numba",
    "torch",
)


def tolerance(truth: float) -> float:
    """Within 10% of the truth, or 0.03 nats where |truth| < 0.3."""
    return 0.03 if abs(truth) < 0.3 else 0.1 * abs(truth)


def within(row: dict[str, Any]) -> bool:
    return row.get("estimate") is not None and abs(row["estimate"] - row["truth"]) <= tolerance(row["truth"])


# ---------------------------------------------------------------------------------------------- workers
class Worker:
    """A worker process of one library, answering one request a line."""

    def __init__(self, library: str, python: str, log: Path) -> None:
        self.library, self.python, self.log = library, python, log
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1",
            "JAX_PLATFORMS": "cpu",
            "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
            "PYTHONWARNINGS": "ignore",
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.python, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("a"),
            text=True,
            env=env,
        )

    def call(self, request: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.stop()
            return {"failed": "the worker exited"}
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.stop()
            return {"timeout": True}
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            return {"failed": "the worker exited (see its log)"}
        return json.loads(line)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


# ------------------------------------------------------------------------------------------------- run
KEY = ("task", "n", "seed", "estimator")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of ``path``, one a key (see :func:`benchmarks.runners.script.read_rows`)."""
    return script.read_rows(path, (*KEY, "family", "truth", "estimate", "error", "seconds", "status"))


def read_provenance(path: Path) -> dict[str, Any]:
    """provenance.json ({} where there is none); ValueError naming the file where it is not one."""
    if not path.exists():
        return {}
    prov = read_json(path)
    if not isinstance(prov, dict) or not isinstance(prov.get("runs", []), list):
        raise ValueError(f"{path}: not a provenance record (an object with a list of runs)")
    if not all(isinstance(r, dict) and "started" in r for r in prov.get("runs", [])):
        raise ValueError(f"{path}: each run must be an object with its start")
    return prov


def append_row(path: Path, row: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(script.stamped(row)) + "\n")
        f.flush()
        os.fsync(f.fileno())


def key(row: dict[str, Any]) -> tuple[str, int, int, str]:
    return (row["task"], row["n"], row["seed"], row["estimator"])  # type: ignore[return-value]


def describe(task: Any, n: int) -> dict[str, Any]:
    arrays = task.sample_numpy(min(n, 50), seed=0)
    return {
        "measure": task.measure,
        "family": task.family,
        "labels": list(task.labels),
        "dims": [1 if a.ndim == 1 else a.shape[1] for a in arrays],
        "options": dict(task.options),
    }


#: the nearest-neighbour estimators, which --max-knn-dim keeps from tasks of hundreds of dimensions
KNN = ("iblearn KSG", "NPEET-plus", "tigramite CMIknn", "ennemi", "infomeasure KSG", "hoi knn")


def too_wide(estimator: str, info: dict[str, Any], max_dim: int) -> bool:
    """Whether a kNN estimator skips the task: more columns in all than ``max_dim``, where its estimate
    is known to collapse (benchmarks/high_dim_mi.py measures that) and a call takes minutes."""
    return estimator in KNN and sum(info["dims"]) > max_dim


def save_arrays(task: Any, n: int, seed: int, folder: Path) -> Path:
    from iblearn.data import te_samples

    arrays = task.sample_numpy(n, seed)
    data = {f"a{i}": np.asarray(a) for i, a in enumerate(arrays)}
    if task.measure in ("te", "cte"):
        data |= {f"e{i}": v for i, v in enumerate(te_samples(task, *arrays))}
    path = folder / f"{task.name}.n{n}.s{seed}.npz"
    np.savez(path, **data)
    return path


def run(args: argparse.Namespace) -> None:
    from iblearn.data import exact_tasks

    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "rows.jsonl"
    script.write_rows(rows_path, read_rows(rows_path))  # a line cut short by a killed run goes
    done = {key(r) for r in read_rows(rows_path)} if args.resume else set()
    tasks = [
        t for t in exact_tasks() if t.family in args.families and (not args.tasks or t.name in args.tasks)
    ]
    plan = []
    for n in args.sizes:
        for seed in args.seeds:
            for task in tasks:
                info = describe(task, n)
                names = [
                    e
                    for e in args.estimators
                    if applies(e, info) and n <= MAX_N.get(e, n) and not too_wide(e, info, args.max_knn_dim)
                ]
                todo = [e for e in names if (task.name, n, seed, e) not in done]
                if todo:
                    plan.append((n, seed, task, info, todo))
    total = sum(len(p[4]) for p in plan)
    print(f"{total} calls to make ({len(done)} rows already in {rows_path})", flush=True)
    record_provenance(out, args)
    python = {
        lib: (sys.executable if lib == "iblearn" else args.peer_python) for lib in set(LIBRARY.values())
    }
    logs = Path(tempfile.gettempdir()) / "truth-logs"
    workers = {lib: Worker(lib, python[lib], logs / f"{lib}.log") for lib in python}
    missing: dict[str, str] = {}
    started = time.perf_counter()
    # A run that is stopped (SIGTERM, Ctrl-C) takes its workers with it: one may be mid-call for minutes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        _calls(plan, workers, missing, rows_path, args, total, started)
    finally:
        for w in workers.values():
            w.stop()
    if missing:
        print("unavailable: " + "; ".join(f"{k}: {v}" for k, v in missing.items()))
    script.write_rows(rows_path, read_rows(rows_path))  # one row a key, the newest
    record_provenance(out, args, finished=True)
    render(out, args.max_knn_dim)


def _calls(
    plan: list[Any],
    workers: dict[str, Worker],
    missing: dict[str, str],
    rows_path: Path,
    args: argparse.Namespace,
    total: int,
    started: float,
) -> int:
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, seed, task, info, todo in plan:
            data = save_arrays(task, n, seed, Path(tmp))
            for estimator in todo:
                count += 1
                library = LIBRARY[estimator]
                if library in missing:
                    continue
                request = {
                    "estimator": estimator,
                    "measure": task.measure,
                    "data": str(data),
                    "options": info["options"],
                    "labels": info["labels"],
                }
                answer = workers[library].call(request, args.timeout)
                failed = answer.get("failed", "")
                if "ModuleNotFoundError" in failed or "ImportError" in failed:
                    missing[library] = failed
                    print(f"  {library} unavailable: {failed}", flush=True)
                    continue
                row = {
                    "task": task.name,
                    "family": task.family,
                    "measure": task.measure,
                    "n": n,
                    "seed": seed,
                    "estimator": estimator,
                    "truth": task.truth,
                    "estimate": answer.get("estimate"),
                    "seconds": answer.get("seconds", args.timeout if answer.get("timeout") else None),
                    "error": None if answer.get("estimate") is None else answer["estimate"] - task.truth,
                    "status": "ok"
                    if "estimate" in answer
                    else ("timeout" if answer.get("timeout") else failed),
                }
                row |= {k: answer[k] for k in truth_auto.FIELDS if k in answer}
                if row["estimate"] is not None and not np.isfinite(row["estimate"]):
                    row.update(estimate=None, error=None, status=f"not finite: {answer['estimate']}")
                append_row(rows_path, row)
                shown = "-" if row["estimate"] is None else f"{row['estimate']:.4f}"
                print(
                    f"[{count}/{total} {time.perf_counter() - started:.0f}s] N={n} seed={seed} {task.name} "
                    f"{estimator}: {shown} (truth {task.truth:.4f}) {row['status']}",
                    flush=True,
                )
            data.unlink()
    return count


def peer_versions(python: str) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        f"for p in {PEER_PACKAGES!r}:\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: out[p] = None\n"
        "print(json.dumps(out))"
    )
    try:
        text = subprocess.run(
            [python, "-c", code], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        return json.loads(text.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return {}


def run_sources(estimators: list[str]) -> list[str]:
    """The code behind the rows of a run of ``estimators``: the folder's ``sources.json`` for
    iblearn's, :data:`PEER_SOURCES` for the peers'."""
    ours = any(LIBRARY[e] == "iblearn" for e in estimators)
    theirs = any(LIBRARY[e] != "iblearn" for e in estimators)
    listed = json.loads((RESULTS / "sources.json").read_text()) if ours else []
    return list(dict.fromkeys([*listed, *(PEER_SOURCES if theirs else ())]))


def record_provenance(out: Path, args: argparse.Namespace, finished: bool = False) -> None:
    """provenance.json: the machine, the environments, and each run's command, commit and dates."""
    path = out / "provenance.json"
    old = read_provenance(path)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    env = environment()
    runs = old.get("runs", [])
    if not finished:
        runs.append(
            {
                "command": "python benchmarks/truth.py " + " ".join(shlex.quote(a) for a in args.argv),
                "started": now,
                "git_commit": env.get("git_commit"),
                "sources": run_sources(args.estimators),
            }
        )
    else:
        runs[-1]["finished"] = now
    from iblearn.data import exact_tasks

    counts = {f: len(exact_tasks(f)) for f in FAMILIES}
    write_json(
        path,
        {
            "tasks": {**counts, "all": sum(counts.values())},
            "machine": {
                "cpu": script.cpu_model() or platform.processor(),
                "cpu_threads": os.cpu_count(),
                "platform": platform.platform(),
            },
            "iblearn_environment": env,
            # a run of iblearn's estimators alone, where the peers' environment is absent, keeps theirs
            "peer_python": args.peer_python,
            "peer_versions": peer_versions(args.peer_python) or old.get("peer_versions", {}),
            "threads": 1,
            "timeout_s": args.timeout,
            "runs": runs,
        },
    )


# ---------------------------------------------------------------------------------------------- report
def _median(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def summarize(rows: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """(family, N, estimator) -> tasks, share within tolerance, median |error|, median seconds."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["family"], r["n"], r["estimator"])].append(r)
    out = {}
    for k, rs in groups.items():
        ok = [r for r in rs if r["estimate"] is not None]
        out[k] = {
            "tasks": len({r["task"] for r in rs}),
            "rows": len(rs),
            "share": sum(within(r) for r in rs) / len(rs),
            "median_error": _median([abs(r["error"]) for r in ok]),
            "median_seconds": _median([r["seconds"] for r in rs if r["seconds"] is not None]),
            "timeouts": sum(r["status"] == "timeout" for r in rs),
            "failed": sum(r["status"] not in ("ok", "timeout") for r in rs),
        }
    return out


CONTINUOUS = ("iblearn KSG", "iblearn Gaussian", "iblearn copula")
BEST = "iblearn best"
#: median errors closer than this (nats) are a tie: the copula estimators of iblearn, hoi and THOI are
#: one formula and differ in rounding only
TIE = 1e-3


def best_iblearn(summary: dict[tuple[str, int, str], dict[str, Any]], family: str, n: int) -> str | None:
    """iblearn's continuous estimator with the largest share on the family at N (then the smaller
    median error), among those that ran nearly all of its continuous tasks."""
    most = max((summary[(family, n, e)]["tasks"] for e in CONTINUOUS if (family, n, e) in summary), default=0)
    found = [
        (s["share"], -s["median_error"], e)
        for (f, m, e), s in summary.items()
        if f == family and m == n and e in CONTINUOUS and s["tasks"] >= 0.9 * most
    ]
    return max(found)[2] if found else None


def with_best(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[tuple[str, int], str]]:
    """The rows and, per family and N, those of "iblearn best": on each task the row of the family's best
    continuous iblearn estimator (:func:`best_iblearn`), else the plug-in's (the discrete systems), else
    KSG's (labels, which the Gaussian estimates do not take)."""
    summary = summarize(rows)
    chosen = {}
    mine = {(r["task"], r["n"], r["seed"], r["estimator"]): r for r in rows if r["estimator"] in IBLEARN}
    extra = []
    for family, n in {(r["family"], r["n"]) for r in rows}:
        best = best_iblearn(summary, family, n)
        if best is None:
            continue
        chosen[(family, n)] = best
        for task, seed in {(r["task"], r["seed"]) for r in rows if r["family"] == family and r["n"] == n}:
            for e in (best, "iblearn plug-in", "iblearn KSG"):
                if (task, n, seed, e) in mine:
                    extra.append({**mine[(task, n, seed, e)], "estimator": BEST, "via": e})
                    break
    return rows + extra, chosen


def head_to_head(rows: list[dict[str, Any]], family: str, n: int, ours: str) -> list[dict[str, Any]]:
    """On the rows (task, seed) that both ran: iblearn's best against each peer."""
    by = {(r["task"], r["seed"], r["estimator"]): r for r in rows if r["family"] == family and r["n"] == n}
    out = []
    for peer in sorted({e for (_, _, e) in by if e not in IBLEARN}):
        pairs = [(by[(t, s, ours)], r) for (t, s, e), r in by.items() if e == peer and (t, s, ours) in by]
        if not pairs:
            continue
        a, b = [p[0] for p in pairs], [p[1] for p in pairs]
        tasks = {p[0]["task"] for p in pairs}
        better = sorted({q["task"] for p, q in pairs if within(q) and not within(p)})
        anyone = {(r["task"], r["seed"]) for (t, s, e), r in by.items() if e in SINGLE and within(r)}
        beyond = sorted({q["task"] for p, q in pairs if within(q) and (q["task"], q["seed"]) not in anyone})
        out.append(
            {
                "peer": peer,
                "tasks": len(tasks),
                "ours_share": sum(map(within, a)) / len(a),
                "peer_share": sum(map(within, b)) / len(b),
                "ours_error": _median([abs(r["error"]) for r in a if r["error"] is not None]),
                "peer_error": _median([abs(r["error"]) for r in b if r["error"] is not None]),
                "peer_better_on": better,
                "no_iblearn_within": beyond,
            }
        )
    return out


def head_to_head_lines(rows: list[dict[str, Any]], chosen: dict[tuple[str, int], str], n: int) -> list[str]:
    """The head-to-head table at ``n`` (shares and median errors, iblearn best / the peer), then the
    tasks where the peer is within and iblearn best is not, as a list (a column of task names would
    make the table wider than a page)."""
    lines = ["", f"### Head to head at N = {n:,}: best iblearn against each peer, on the tasks both ran", ""]
    lines.append(
        "| family | peer | tasks | within: iblearn best / peer | median error: iblearn best / peer |"
    )
    lines.append("|---|---|---|---|---|")
    notes = []
    for family in FAMILIES:
        if (family, n) not in chosen:
            continue
        for h in head_to_head(rows, family, n, BEST):
            lines.append(
                f"| {family} | {h['peer']} | {h['tasks']} | {h['ours_share']:.0%} / {h['peer_share']:.0%} | "
                f"{h['ours_error']:.3f} / {h['peer_error']:.3f} |"
            )
            if h["peer_better_on"]:
                lost = h["no_iblearn_within"]
                notes.append(
                    f"- {family}, {h['peer']}: the peer within and iblearn best not on "
                    f"{', '.join(h['peer_better_on'])}; "
                    + (
                        f"no iblearn estimator within on {', '.join(lost)}."
                        if lost
                        else "another iblearn estimator within on each."
                    )
                )
    return lines + (["", *notes] if notes else [])


def everyone_fails(rows: list[dict[str, Any]], n: int) -> list[tuple[str, float, str]]:
    """Tasks at N where no estimator's estimate is within tolerance on a majority of its seeds."""
    by: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    truth, best = {}, {}
    for r in rows:
        if r["n"] != n:
            continue
        by[r["task"]][r["estimator"]].append(within(r))
        truth[r["task"]] = r["truth"]
        if r["error"] is not None and (r["task"] not in best or abs(r["error"]) < abs(best[r["task"]][0])):
            best[r["task"]] = (r["error"], r["estimator"])
    out = []
    for task, ests in by.items():
        if not any(sum(v) * 2 > len(v) for v in ests.values()):
            closest = best.get(task, (float("nan"), "-"))
            out.append((task, truth[task], f"{closest[1]} {closest[0]:+.3f}"))
    return sorted(out)


@functools.cache
def _info(name: str) -> dict[str, Any]:
    from iblearn.data import get_exact_task

    return describe(get_exact_task(name), 50)


def render(out: Path, max_knn_dim: int = 64) -> None:
    measured = read_rows(out / "rows.jsonl")
    if not measured:
        print("no rows yet")
        return
    wide = sum(too_wide(r["estimator"], _info(r["task"]), max_knn_dim) for r in measured)
    rows, chosen = with_best(measured)
    summary = summarize(rows)
    sizes = sorted({r["n"] for r in rows})
    prov = read_provenance(out / "provenance.json")
    lines = ["# Ground truth beyond MI: the leaderboard", ""]
    lines.append(
        "Share: of the estimates (task x seed), those within 10% of the truth (0.03 nats where |truth| < "
        "0.3); error: median |estimate - truth|, nats; seconds: median per call, one thread. A timeout or "
        "failure counts as a miss. iblearn best: on each family and N, iblearn's continuous estimator (KSG, "
        "Gaussian or copula) with the largest share there, and the plug-in estimate on the discrete systems; "
        "it is the iblearn side of the head-to-head tables and the goals. A run calls the kNN estimators "
        f"only on tasks of at most {max_knn_dim} columns in all (--max-knn-dim; the high-mi tasks have 200 "
        "and 1,568)"
        + (
            f"; {wide} row(s) of kNN estimators on wider tasks, run with a higher limit, count."
            if wide
            else "."
        )
    )
    for n in sizes:
        lines += ["", f"## N = {n:,}", ""]
        lines.append("| family | estimator | tasks | within | median error | median s | timeouts / failed |")
        lines.append("|---|---|---|---|---|---|---|")
        for family in FAMILIES:
            ests = sorted(
                (e for (f, m, e) in summary if f == family and m == n),
                key=lambda e: (
                    e not in IBLEARN,
                    e != BEST,
                    e != truth_auto.AUTO,
                    -summary[(family, n, e)]["share"],
                ),
            )
            for e in ests:
                s = summary[(family, n, e)]
                name = f"**{e}** ({chosen[(family, n)].removeprefix('iblearn ')})" if e == BEST else e
                lines.append(
                    f"| {family} | {name} | {s['tasks']} | {s['share']:.0%} | {s['median_error']:.3f} | "
                    f"{s['median_seconds']:.3g} | {s['timeouts']} / {s['failed']} |"
                )
        lines += head_to_head_lines(rows, chosen, n)
        lines += truth_auto.lines(rows, n, FAMILIES, BEST, within)
        fails = everyone_fails(measured, n)
        lines += ["", f"### Tasks every estimator fails at N = {n:,} (no estimator within on most seeds)", ""]
        if fails:
            lines.append("| task | truth | closest (estimator, error) |")
            lines.append("|---|---|---|")
            lines += [f"| {t} | {v:.4f} | {c} |" for t, v, c in fails]
        else:
            lines.append("None.")
    lines += ["", "## Goals", "", *goals(summary, rows, chosen)]
    if any(r["estimator"] == truth_auto.AUTO for r in rows):
        lines += truth_auto.goals(rows, FAMILIES, BEST, within)
    runs = prov.get("runs", [])
    machine = prov.get("machine", {})
    commits = sorted({r.get("git_commit", "")[:7] for r in runs if r.get("git_commit")})
    lines += [
        "",
        f"_Run on {machine.get('cpu', '?')} ({machine.get('cpu_threads', '?')} threads, one per call), "
        f"commits {', '.join(commits)}, {runs[0]['started'] if runs else '?'} to "
        f"{runs[-1].get('finished', runs[-1]['started']) if runs else '?'}; {len(measured)} rows; peers: "
        + ", ".join(f"{k} {v}" for k, v in prov.get("peer_versions", {}).items() if v)
        + "._",
    ]
    atomic_write_text(out / "table.md", "\n".join(lines) + "\n")
    write_json(out / "summary.json", summary_json(summary, rows, chosen, measured))
    plot(summary, out / "leaderboard.png")
    print("\n".join(lines))


def summary_json(
    summary: dict[tuple[str, int, str], dict[str, Any]],
    rows: list[dict[str, Any]],
    chosen: dict[tuple[str, int], str],
    measured: list[dict[str, Any]],
) -> dict[str, Any]:
    """What the page quotes: per N, family and estimator the leaderboard's figures; per N and family
    iblearn best's choice, its head-to-head rows, and the share of tasks x seeds on which at least one
    iblearn estimator is within (the best per task, which needs the truth to choose)."""
    out: dict[str, Any] = {}
    for (family, n, estimator), s in summary.items():
        out.setdefault(str(n), {}).setdefault(family, {})[estimator] = s
    oracle: dict[tuple[str, int], dict[tuple[str, int], bool]] = defaultdict(dict)
    for r in measured:
        if r["estimator"] in SINGLE:
            cell = oracle[(r["family"], r["n"])]
            cell[(r["task"], r["seed"])] = cell.get((r["task"], r["seed"]), False) or within(r)
    extra: dict[str, Any] = {}
    for (family, n), best in chosen.items():
        cell = oracle[(family, n)]
        extra.setdefault(str(n), {})[family] = {
            "best": best,
            "any_iblearn_share": sum(cell.values()) / len(cell),
            "head_to_head": head_to_head(rows, family, n, BEST),
        }
    return {
        "leaderboard": out,
        "iblearn": extra,
        "agreement": agreement(measured),
        "auto": truth_auto.summary(rows, within),
    }


#: pairs of estimators that compute one formula: their largest difference on the same samples
SAME = (
    ("hoi gc", "iblearn copula"),
    ("THOI", "iblearn copula"),
    ("dit", "iblearn plug-in"),
    ("tigramite CMIknn", "iblearn KSG"),
    ("ennemi", "iblearn KSG"),
    ("infomeasure KSG", "NPEET-plus"),
)


def agreement(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each pair of :data:`SAME`, the largest |difference| of their estimates on the same task, N
    and seed, and the rows compared."""
    by = {key(r): r["estimate"] for r in rows if r["estimate"] is not None}
    out = {}
    for a, b in SAME:
        diffs = [abs(v - by[(t, n, s, b)]) for (t, n, s, e), v in by.items() if e == a and (t, n, s, b) in by]
        if diffs:
            out[f"{a} | {b}"] = {"max_difference": max(diffs), "compared": len(diffs)}
    return out


def goals(
    summary: dict[tuple[str, int, str], dict[str, Any]],
    rows: list[dict[str, Any]],
    chosen: dict[tuple[str, int], str],
) -> list[str]:
    n = 5000
    out = []
    if not any(m == n for (_, m, _) in summary):
        return [f"- Not measured yet: no rows at N = {n:,}."]
    for family in ("cmi", "multivariate"):
        if (family, n, BEST) not in summary:
            out.append(f"- {family}: no iblearn rows at N = {n:,}.")
            continue
        share = summary[(family, n, BEST)]["share"]
        out.append(
            f"- {family} at N = {n:,}: iblearn best ({chosen[(family, n)]}) within on {share:.0%} of the "
            f"estimates (goal 80%): {'met' if share >= 0.8 else 'not met'}."
        )
    for family in FAMILIES:
        if (family, n) not in chosen:
            continue
        behind = [
            h
            for h in head_to_head(rows, family, n, BEST)
            if h["peer_share"] > h["ours_share"]
            or (h["peer_share"] == h["ours_share"] and h["peer_error"] < h["ours_error"] - TIE)
        ]
        if behind:
            text = "; ".join(
                f"{h['peer']} {h['peer_share']:.0%} against {h['ours_share']:.0%} on {h['tasks']} "
                f"tasks (median errors {h['peer_error']:.3f} / {h['ours_error']:.3f})"
                for h in behind
            )
            out.append(f"- {family}: at least as accurate as every peer: not met ({text}).")
        else:
            out.append(f"- {family}: at least as accurate as every peer on the tasks both ran: met.")
    return out


def plot(summary: dict[tuple[str, int, str], dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = [f for f in FAMILIES if any(g == f for (g, _, _) in summary)]
    fig, axes = plt.subplots(1, len(families), figsize=(4 * len(families), 5.6), sharey=True, squeeze=False)
    for ax, family in zip(axes[0], families, strict=True):
        ests = sorted({e for (f, _, e) in summary if f == family}, key=lambda e: (e not in IBLEARN, e))
        for e in ests:
            pts = sorted((m, s["share"]) for (f, m, x), s in summary.items() if f == family and x == e)
            xs, ys = zip(*pts, strict=True)
            style = "-o" if e in IBLEARN else "--s"
            width = 2.5 if e in (BEST, truth_auto.AUTO) else 1.0
            ax.plot(xs, [100 * y for y in ys], style, label=e, markersize=4, linewidth=width)
        ax.set_xscale("log")
        ax.set_ylim(0, 102)
        sizes = sorted({m for (f, m, _) in summary if f == family})
        ax.set_xticks(sizes, [f"{m:,}" for m in sizes])
        ax.minorticks_off()
        ax.set_title(family)
        ax.set_xlabel("N")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    axes[0][0].set_ylabel("% of estimates within 10% (0.03 nats below 0.3)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000, seed 0, 30 s a call")
    parser.add_argument("--resume", action="store_true", help="keep the rows already written, run the rest")
    parser.add_argument("--render", action="store_true", help="rewrite table.md and the figure from the rows")
    parser.add_argument("--sizes", type=script.positive_int, nargs="+", default=[1000, 5000, 20_000])
    parser.add_argument("--seeds", type=script.nonnegative_int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS), choices=ESTIMATORS)
    parser.add_argument("--tasks", nargs="+", default=[], help="only these task names")
    parser.add_argument(
        "--max-knn-dim",
        type=script.positive_int,
        default=64,
        help="the most columns a kNN estimator is run on",
    )
    parser.add_argument(
        "--timeout", type=script.positive_float, default=120.0, help="seconds a call may take"
    )
    parser.add_argument(
        "--peer-python", default=os.environ.get("TRUTH_PEER_PYTHON", "/tmp/truthpeers/bin/python")
    )
    parser.add_output(RESULTS, "--results")
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    out = Path(args.results)
    if args.quick:
        args.sizes, args.seeds, args.timeout = [1000], [0], min(args.timeout, 30.0)
    try:
        if args.render and out == script.scratch_for(RESULTS) and not (out / "rows.jsonl").exists():
            # the committed rows, rendered in the scratch folder
            out.mkdir(parents=True, exist_ok=True)
            for name in ("rows.jsonl", "provenance.json"):
                if (RESULTS / name).exists():
                    (out / name).write_bytes((RESULTS / name).read_bytes())
        if args.render and not read_rows(out / "rows.jsonl"):
            parser.error(f"--render: no rows in {out / 'rows.jsonl'}")
        render(out, args.max_knn_dim) if args.render else run(args)
    except (OSError, ValueError) as err:
        print(f"truth.py: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
