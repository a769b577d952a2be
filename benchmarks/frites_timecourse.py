"""The time course of information across trials beside frites: iblearn's ``mi_timecourse`` and frites'
Gaussian-copula estimators (``mi_model_nd_gd`` for a class, ``mi_nd_gg`` for a value) on the same
synthetic epochs, their values, their thread CPU time and the coding window each finds.

    python benchmarks/frites_timecourse.py [--reps 5] [--permutations 200]
                                           [--peer-python /tmp/fritesvenv/bin/python]

The epochs: ``--trials`` x ``--channels`` x ``--times`` standard normal samples, with two coding windows
planted: the stimulus class (three classes) shifts channels 5 and 17 by 0.6 per class over samples
100-149, and a per-trial value (a reaction time, standard normal) adds half itself to channel 9 over
samples 150-199. Each target is measured against every channel and time.

Both sides run the same computation: each channel-time column of the trials to its normal scores, then
the Gaussian MI of each point with the target (the target's normal scores for a value; one mean and
variance per class for a class), with no bias correction (frites' ``biascorrect=False``; iblearn has
none), frites' bits read as nats (times ln 2). The corrected p-values take the maximum statistic over all
points from the same ``--permutations`` orders of the target (iblearn's, drawn from its seed and handed
to frites), which frites' core functions compute one permuted map at a time in a loop, as its workflow
does; a point codes where its p-value is below 0.05.

Timing: thread CPU time of one whole call, the map alone and the map with its permutations, iblearn
and frites alternating (each in turn first) for ``--reps`` repetitions. frites runs in a Python of its
own (``--peer-python``: ``python3 -m venv /tmp/fritesvenv; /tmp/fritesvenv/bin/pip install frites``), a
worker process started once that times each call in its own thread and answers between iblearn's runs.
Every library runs on one thread. Writes benchmarks/results/frites/results.json (values, timings,
settings, provenance), table.md and sources.json.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.runners import script
from iblearn.functional import inference
from iblearn.functional.knn import kernel_isa
from iblearn.neuro import mi_timecourse
from iblearn.records import environment, markdown_table, write_json

OUT = Path(__file__).parent / "results" / "frites"
#: The planted windows: (channels, first sample, last sample) of each target.
PLANTED = {"class": ([5, 17], 100, 149), "value": ([9], 150, 199)}
#: The most two copula estimates of one point may differ by, in nats (float64 rounding of the same sums).
TOLERANCE = 1e-9
LEVEL = 0.05

#: frites' worker: loads the epochs, targets and permutation orders, then on each line "<target> <kind>"
#: computes the map (kind "map") or the map and its permuted maxima ("permutations"), saves them (bits)
#: and prints the thread CPU seconds.
FRITES_WORKER = """
import sys, time
import numpy as np
from frites.core import copnorm_1d, copnorm_nd, mi_model_nd_gd, mi_nd_gg
folder = sys.argv[1]
data = np.load(folder + "/data.npy").transpose(1, 2, 0)  # (channel, time, trial)
targets = {"class": np.load(folder + "/class.npy"), "value": np.load(folder + "/value.npy")}
orders = np.load(folder + "/orders.npy")
def run(target, permute):
    x = copnorm_nd(data, axis=-1)
    if target == "class":
        y = targets["class"]
        one = lambda yy: mi_model_nd_gd(x, yy, traxis=-1, biascorrect=False)
    else:
        y = copnorm_1d(targets["value"])
        one = lambda yy: mi_nd_gg(x, np.broadcast_to(yy, x.shape), traxis=-1, biascorrect=False)
    mi = one(y)
    null_max = np.array([one(y[o]).max() for o in orders]) if permute else np.empty(0)
    return mi, null_max
print("ready", flush=True)
for line in sys.stdin:
    target, kind = line.split()
    start = time.thread_time()
    mi, null_max = run(target, kind == "permutations")
    seconds = time.thread_time() - start
    np.savez(folder + f"/frites_{target}_{kind}.npz", mi=mi, null_max=null_max)
    print(seconds, flush=True)
"""


def epochs(trials: int, channels: int, times: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(trials, channels, times)`` epochs, the class and the value of each trial, with the module's
    windows planted."""
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((trials, channels, times))
    stimulus = rng.integers(0, 3, trials)
    value = rng.standard_normal(trials)
    chans, first, last = PLANTED["class"]
    data[:, chans, first : last + 1] += 0.6 * stimulus[:, None, None]
    chans, first, last = PLANTED["value"]
    data[:, chans, first : last + 1] += 0.5 * value[:, None, None]
    return data, stimulus, value


def corrected(mi: np.ndarray, null_max: np.ndarray) -> np.ndarray:
    """Each point's p-value by the maximum statistic, as :func:`iblearn.neuro.mi_timecourse` gives it."""
    return (1.0 + (null_max[None, None, :] >= mi[..., None] - 1e-12).sum(axis=-1)) / (len(null_max) + 1.0)


def window(p_value: np.ndarray) -> dict[str, Any]:
    """The channels and samples whose p-value is below the level."""
    chans, samples = np.nonzero(p_value < LEVEL)
    if not len(chans):
        return {"channels": [], "first": None, "last": None, "points": 0}
    return {
        "channels": sorted({int(c) for c in chans}),
        "first": int(samples.min()),
        "last": int(samples.max()),
        "points": len(chans),
    }


def interleaved(timers: dict[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    """Each timer's seconds in ``reps`` rounds, the order reversed every other round."""
    times: dict[str, list[float]] = {name: [] for name in timers}
    for r in range(reps):
        for name in list(timers) if r % 2 == 0 else list(timers)[::-1]:
            times[name].append(timers[name]())
            print(f"  {name}: {times[name][-1]:.3f} s", flush=True)
    return times


class Worker:
    """frites' worker process in its own Python, started once."""

    def __init__(self, python: str, folder: Path) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self.folder = folder
        self.process = subprocess.Popen(
            [python, "-c", FRITES_WORKER, str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the frites worker did not start ({python})")

    def __call__(self, target: str, kind: str) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{target} {kind}\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def result(self, target: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
        saved = np.load(self.folder / f"frites_{target}_{kind}.npz")
        return saved["mi"] * np.log(2.0), saved["null_max"] * np.log(2.0)  # bits to nats

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def thread_seconds(fn: Callable[[], Any]) -> float:
    start = time.thread_time()
    fn()
    return time.thread_time() - start


def compare(data: np.ndarray, targets: dict[str, np.ndarray], args: Any) -> dict[str, Any]:
    """Values, null maxima, windows and interleaved times of both libraries, per target."""
    n = len(data)
    orders = np.stack(
        [inference.rng(0, inference.PERMUTATION, i).permutation(n) for i in range(args.permutations)]
    )
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        np.save(folder / "data.npy", data)
        np.save(folder / "orders.npy", orders)
        for name, target in targets.items():
            np.save(folder / f"{name}.npy", target)
        worker = Worker(args.peer_python, folder)
        try:
            for name, target in targets.items():
                print(f"{name}:", flush=True)
                ours = mi_timecourse(data, target, n_permutations=args.permutations, seed=0)
                mi, null_max = np.asarray(ours.mi), ours.null_max
                worker(name, "permutations")
                theirs_mi, theirs_null = worker.result(name, "permutations")
                timings = {}
                for kind, permutations in (("map", 0), ("permutations", args.permutations)):
                    timers = {
                        "iblearn": lambda p=permutations, t=target: thread_seconds(
                            lambda: mi_timecourse(data, t, n_permutations=p, seed=0)
                        ),
                        "frites": lambda k=kind, nm=name: worker(nm, k),
                    }
                    timings[kind] = interleaved(timers, args.reps)
                out[name] = {
                    "max_abs_difference_nats": float(np.abs(mi - theirs_mi).max()),
                    "null_max_abs_difference_nats": float(np.abs(null_max - theirs_null).max()),
                    "largest_mi_nats": float(mi.max()),
                    "window": {
                        "iblearn": window(np.asarray(ours.p_value)),
                        "frites": window(corrected(theirs_mi, theirs_null)),
                    },
                    "planted": dict(zip(("channels", "first", "last"), PLANTED[name], strict=True)),
                    "thread_seconds": timings,
                }
        finally:
            worker.close()
    return out


def peer_versions(python: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m; print(m.version('frites'), m.version('numpy'), m.version('scipy'))"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    frites, numpy, scipy = done.stdout.split()
    return {"frites": frites, "frites_numpy": numpy, "frites_scipy": scipy}


def table(results: dict[str, Any]) -> str:
    rows = []
    for name, r in results["targets"].items():
        med = {
            kind: {k: statistics.median(v) for k, v in t.items()} for kind, t in r["thread_seconds"].items()
        }
        win = r["window"]

        def shown(w: dict[str, Any]) -> str:
            return (
                f"ch {', '.join(map(str, w['channels']))}, samples {w['first']}-{w['last']}"
                if w["channels"]
                else "none"
            )

        rows.append(
            [
                name,
                f"{r['max_abs_difference_nats']:.1e}",
                f"{med['map']['iblearn']:.3f} / {med['map']['frites']:.3f}",
                f"{med['permutations']['iblearn']:.2f} / {med['permutations']['frites']:.2f}",
                f"{med['permutations']['frites'] / med['permutations']['iblearn']:.1f}x",
                shown(r["planted"]),
                shown(win["iblearn"]),
                shown(win["frites"]),
            ]
        )
    header = [
        "target",
        "max abs diff, nats",
        "map s (iblearn / frites)",
        "with permutations s",
        "frites / iblearn",
        "planted",
        "found by iblearn",
        "found by frites",
    ]
    prov, cfg = results["provenance"], results["config"]
    return (
        f"Epochs of {cfg['trials']} trials x {cfg['channels']} channels x {cfg['times']} samples; "
        f"{cfg['permutations']} permutations; medians of {cfg['reps']} interleaved repetitions of thread "
        "CPU time, one thread.\n\n"
        + markdown_table(header, rows)
        + f"\n\n_`python benchmarks/frites_timecourse.py`; iblearn at commit "
        f"{str(prov['git_commit'])[:12]}, frites {prov['frites']} (numpy {prov['frites_numpy']}), "
        f"{prov['machine']}, kernel {prov['kernel_isa']}._\n"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=script.positive_int, default=5)
    parser.add_argument("--permutations", type=script.positive_int, default=200)
    parser.add_argument("--trials", type=script.positive_int, default=300)
    parser.add_argument("--channels", type=script.positive_int, default=32)
    parser.add_argument("--times", type=script.positive_int, default=250)
    parser.add_argument("--seed", type=script.nonnegative_int, default=0)
    parser.add_argument("--peer-python", default="/tmp/fritesvenv/bin/python", help="a Python with frites")
    parser.add_output(OUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.channels <= max(PLANTED["class"][0]) or args.times <= PLANTED["value"][2]:
        parser.error("--channels and --times: the planted windows need at least 18 channels and 200 samples")
    data, stimulus, value = epochs(args.trials, args.channels, args.times, args.seed)
    targets = compare(data, {"class": stimulus, "value": value}, args)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "peer_python", "write_results")}
    provenance = {
        **script.machine_provenance(),
        **peer_versions(args.peer_python),
        "kernel_isa": kernel_isa(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": environment()["python"],
    }
    agree = all(r["max_abs_difference_nats"] <= TOLERANCE for r in targets.values())
    results = {
        "provenance": provenance,
        "config": config,
        "tolerance_nats": TOLERANCE,
        "agree": agree,
        "targets": targets,
    }
    script.write_folder(args.out, results, table(results))
    sources = [
        "benchmarks/frites_timecourse.py",
        "src/iblearn/neuro.py",
        "src/iblearn/functional/multivariate/inputs.py",
    ]
    write_json(args.out / "sources.json", sources)
    return results


if __name__ == "__main__":
    main()
