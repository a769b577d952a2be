"""Many critics trained at once against one by one: K copies of a neural estimator's default settings
fitted to K Gaussian pairs by ``estimate_many`` (the critics stacked) and with ``stack=False`` (one
fit after another), the same estimates either way.

For K = 4, 8, 16 and 32 and the default InfoNCE and NWJ, the K pairs are correlated Gaussians of 1 to
4 dimensions a side (pair i: ``1 + i % 4``; ``y = x + noise``), ``--rows`` rows each; every fit takes
``--steps`` steps of 256 rows (its default batch) with the default validation share, evaluated once at
the end, and ends in the estimate on the pair's rows. The two calls alternate (in turn first) after a
warm-up call each; each row gives the median seconds of each and the median over the repetitions of
the one-by-one time over the stacked time (the speedup), with the largest difference between the two
calls' estimates. Times are thread CPU times on one thread on the CPU, CUDA event times on a device
(``--device cuda``: the one-by-one fits there replay their captured steps, the stacked steps run eagerly).
The goal is a speedup of at least 5 (stated for a GPU; on a CPU each critic's arithmetic stays).

    python benchmarks/many_critics.py [--ks 4 8 16 32] [--steps 100] [--rows 1000] [--repeats 3]
                                      [--device cpu] [--write-results]

Writes ``results.json`` and ``table.md`` under benchmarks/results/many_critics/ with ``--write-results``
(else its scratch twin), and prints the table.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import statistics
import warnings
from functools import partial
from typing import Any

import torch
from torch import Tensor

from benchmarks.runners import script
from benchmarks.runners.gpu_rows import timed
from iblearn.estimators.neural import NWJ, InfoNCE, NeuralEstimator, estimate_many
from iblearn.estimators.reliability import UnreliableEstimateWarning
from iblearn.records import environment, markdown_table

OUT = script.RESULTS / "many_critics"
ESTIMATORS = {"infonce": InfoNCE, "nwj": NWJ}
#: The speedup the stacked critics are asked for (on a GPU).
GOAL = 5.0


def gaussian_pairs(k: int, rows: int, device: torch.device, seed: int = 0) -> list[tuple[Tensor, Tensor]]:
    """``k`` pairs of correlated Gaussians, pair i of ``1 + i % 4`` dimensions a side, ``y = x + noise``
    (0.5 log 2 nats a dimension)."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for i in range(k):
        x = torch.randn(rows, 1 + i % 4, generator=g)
        pairs.append((x.to(device), (x + torch.randn(x.shape, generator=g)).to(device)))
    return pairs


def many_critics_row(
    name: str, k: int, device: torch.device, *, steps: int = 100, rows: int = 1000, repeats: int = 3
) -> dict[str, Any]:
    """Stacked against one-by-one fits of ``k`` copies of estimator ``name``'s defaults (the module's
    description), timed on ``device``."""
    est: NeuralEstimator = ESTIMATORS[name]().to(device)
    pairs = gaussian_pairs(k, rows, device)
    found: dict[str, list[float]] = {}

    def call(which: str) -> None:
        with warnings.catch_warnings():  # the judgement is timed, not shown
            warnings.simplefilter("ignore", UnreliableEstimateWarning)
            found[which] = [
                float(e.value) for e in estimate_many(est, pairs, steps=steps, stack=which == "stacked")
            ]

    stacked, each = partial(call, "stacked"), partial(call, "each")
    stacked(), each()  # warm-up, and the estimates compared
    diff = max(abs(a - b) for a, b in zip(found["stacked"], found["each"], strict=True))
    times: dict[str, list[float]] = {"stacked": [], "each": []}
    for i in range(repeats):
        order = (("stacked", stacked), ("each", each))
        for which, fn in order if i % 2 == 0 else order[::-1]:
            times[which].append(timed(fn, device))
    speedup = statistics.median(e / s for s, e in zip(times["stacked"], times["each"], strict=True))
    return {
        "estimator": name,
        "k": k,
        "steps": steps,
        "rows": rows,
        "repeats": repeats,
        "device": str(device),
        "stacked_s": statistics.median(times["stacked"]),
        "one_by_one_s": statistics.median(times["each"]),
        "speedup": speedup,
        "goal_met": speedup >= GOAL,
        "max_abs_diff": diff,
    }


def gpu_check_row(name: str, device: torch.device, quick: bool) -> dict[str, Any]:
    """benchmarks/gpu_check.py's row: 32 critics of estimator ``name`` (4 with ``quick``) stacked and one
    by one on ``device``, one timed call each after the warm-up (:func:`many_critics_row`)."""
    k, steps = (4, 20) if quick else (32, 100)
    row = many_critics_row(name, k, device, steps=steps, repeats=1)
    return {
        "device_s": row["stacked_s"],
        "device_one_by_one_s": row["one_by_one_s"],
        "device_speedup": row["speedup"],
        "critics": k,
        "steps": steps,
        "diff": row["max_abs_diff"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    header = ["estimator", "K", "stacked s", "one by one s", "speedup", f"goal {GOAL:g}x", "max abs diff"]
    body = [
        [
            r["estimator"],
            r["k"],
            f"{r['stacked_s']:.2f}",
            f"{r['one_by_one_s']:.2f}",
            f"{r['speedup']:.2f}",
            "met" if r["goal_met"] else "not met",
            f"{r['max_abs_diff']:.1e}",
        ]
        for r in rows
    ]
    return markdown_table(header, body)


def main() -> None:
    p = script.Parser(description=__doc__.splitlines()[0])
    p.add_argument("--ks", nargs="+", type=script.positive_int, default=[4, 8, 16, 32])
    p.add_argument("--estimators", nargs="+", choices=list(ESTIMATORS), default=list(ESTIMATORS))
    p.add_argument("--steps", type=script.positive_int, default=100)
    p.add_argument("--rows", type=script.positive_int, default=1000)
    p.add_argument("--repeats", type=script.positive_int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_output(OUT)
    args = p.parse_args()
    torch.set_num_threads(1)
    device = torch.device(args.device)
    rows = []
    for k in args.ks:  # the smaller K first: a run cut short keeps them
        for name in args.estimators:
            rows.append(
                many_critics_row(name, k, device, steps=args.steps, rows=args.rows, repeats=args.repeats)
            )
            print({key: rows[-1][key] for key in ("estimator", "k", "speedup", "max_abs_diff")}, flush=True)
    provenance = {  # the environment has the date, the commit and torch's threads
        **environment(),
        "cpu": script.cpu_model(),
        "arguments": {
            k: getattr(args, k) for k in ("ks", "estimators", "steps", "rows", "repeats", "device")
        },
    }
    script.write_folder(args.out, {"rows": rows, "provenance": provenance}, table(rows))


if __name__ == "__main__":
    main()
