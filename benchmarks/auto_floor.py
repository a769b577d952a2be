"""The least ``iblearn.estimate`` (``method="auto"``, KSG chosen) can cost against KSG alone while its
checks stay as they are: the KSG estimates it makes, replayed on the same rows with nothing else, over
the estimator on the raw rows.

* MI (``estimate("mi", x, y)``): the estimate, the four half-samples, the shuffled half, the invariance
  map on a half and the two copies side by side (on single columns of normal scores, those whose orders
  the ranks give by ``ksg_mi_ranked``, the estimate's by ``pair_terms_ranked``; on several columns the
  estimate's by ``pair_terms``), over ``ksg_mi``;
  Student-t samples (3 degrees of freedom), N = 20,000, 1 x 1 and 3 x 3.
* Conditional MI (``estimate("cmi", x, y, z)``): the estimate and the four half-samples on single
  columns of normal scores, whose orders the ranks give (``ksg_cmi_ranked``, the estimate's by
  ``cmi_terms_ranked``), and the two copies side by side (``ksg_cmi``), over ``ksg_cmi``; x and z
  standard normal, y = x^2 + z plus noise, N = 32,000 (the automatic CMI's case in
  ``benchmarks/ratios.py``).

Beside the replay, in the same loop, the automatic estimate itself over the same estimator: what the
rest of it (the features, the choice, the ranks, the resamples' rows, the verdict) adds to the floor.

Times are thread CPU times, one thread; the automatic estimate, the replay and the estimator take turns
(each in turn first), and each ratio is the median over the repetitions of the ratio of each round.

    python benchmarks/auto_floor.py --write-results   # writes benchmarks/results/auto_floor/results.json
    python benchmarks/auto_floor.py --out DIR          # another CPU's record (DIR/results.json)
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import statistics
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import iblearn
from benchmarks.runners import script
from benchmarks.runners.paired import taking_turns
from benchmarks.runners.script import cpu_model
from iblearn import functional as ibf
from iblearn.data import student_t
from iblearn.estimation import auto, pairs
from iblearn.functional import ksg_cmi, ksg_mi
from iblearn.functional.knn import kernel_isa
from iblearn.records import environment, write_json

OUT = Path(__file__).parent / "results" / "auto_floor" / "results.json"
#: Rounds of the three timings.
REPEATS = 9

#: A recorded call: the function, its arguments and keywords.
Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def recorded_calls(run: Callable[[], Any], where: list[tuple[Any, str]]) -> list[Call]:
    """Every call ``run`` makes to the functions named in ``where`` ((module, name) pairs), in order."""
    calls: list[Call] = []
    inner = [getattr(module, name) for module, name in where]

    def recording(f: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kw: Any) -> Any:
            calls.append((f, args, kw))
            return f(*args, **kw)

        return call

    for (module, name), f in zip(where, inner, strict=True):
        setattr(module, name, recording(f))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run()
    finally:
        for (module, name), f in zip(where, inner, strict=True):
            setattr(module, name, f)
    return calls


def floor(calls: list[Call], auto_call: Callable[[], Any], core: Callable[[], Any]) -> dict[str, Any]:
    """The replay of ``calls`` and the automatic estimate ``auto_call`` over ``core``, taking turns
    (``REPEATS`` rounds, each in turn first), how many calls of each function the replay made, and all
    of them (``ksg_estimates``)."""

    def replay() -> None:
        for f, args, kw in calls:
            f(*args, **kw)

    def automatic() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            auto_call()

    counts: dict[str, int] = {}
    for f, _args, _kw in calls:
        counts[f.__name__] = counts.get(f.__name__, 0) + 1
    auto_s, hot_s, core_s = taking_turns([automatic, replay, core], REPEATS)
    return {
        "ratio": statistics.median(h / c for h, c in zip(hot_s, core_s, strict=True)),
        "auto_ratio": statistics.median(a / c for a, c in zip(auto_s, core_s, strict=True)),
        "beyond": statistics.median((a - h) / c for a, h, c in zip(auto_s, hot_s, core_s, strict=True)),
        "auto_s": statistics.median(auto_s),
        "hot_s": statistics.median(hot_s),
        "core_s": statistics.median(core_s),
        "repeats": REPEATS,
        "calls": counts,
        "ksg_estimates": len(calls),
    }


def main() -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_output(OUT)
    out = Path(parser.parse_args().out)
    torch.set_num_threads(1)
    rows = {}
    for d in (1, 3):
        x, y = student_t(d, d, dof=3.0).sample(20_000, seed=0)

        def door(x: Any = x, y: Any = y) -> Any:
            return iblearn.estimate("mi", x, y)

        spied = [(ibf, "ksg_mi"), (auto, "ksg_mi_ranked"), (auto, "pair_terms_ranked"), (auto, "pair_terms")]
        calls = recorded_calls(door, spied)
        rows[f"{d} x {d}"] = floor(calls, door, lambda x=x, y=y: ksg_mi(x, y))
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(2, 32_000, 1, generator=g, dtype=torch.float64)
    y = x**2 + z + 0.5 * torch.randn(32_000, 1, generator=g, dtype=torch.float64)

    def door_cmi() -> Any:
        return iblearn.estimate("cmi", x, y, z)

    calls = recorded_calls(
        door_cmi, [(ibf, "ksg_cmi"), (pairs, "ksg_cmi_ranked"), (pairs, "cmi_terms_ranked")]
    )
    rows["cmi 1 x 1 x 1"] = floor(calls, door_cmi, lambda: ksg_cmi(x, y, z))
    for name, r in rows.items():
        print(
            f"{name}: auto {r['auto_ratio']:.2f}x the estimator; its KSG estimates alone {r['ratio']:.2f}x, "
            f"the rest {r['beyond']:.2f}x",
            flush=True,
        )
    provenance = {**environment(), "cpu": cpu_model(), "kernel_isa": kernel_isa(), "threads": 1}
    write_json(out if out.suffix else out / "results.json", {"provenance": provenance, "floor": rows})


if __name__ == "__main__":
    main()
