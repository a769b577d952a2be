"""The least ``iblearn.estimate("mi", x, y)`` (``method="auto"``, KSG chosen) can cost against KSG alone
while its checks stay as they are: the KSG estimates it makes (the estimate, the four half-samples, the
shuffled half, the invariance map on a half, the two copies side by side), replayed on the same rows
with nothing else, over ``ksg_mi`` on the raw rows. Student-t samples (3 degrees of freedom), N = 20,000,
1 x 1 and 3 x 3.

Times are thread CPU times, one thread; the replay and the estimate alternate, and each ratio is the
median over the repetitions of the ratio of each pair.

    python benchmarks/auto_floor.py      # writes benchmarks/results/auto_floor/results.json
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import warnings
from pathlib import Path
from typing import Any

import torch

import iblearn
from benchmarks.runners.paired import paired_ratio
from benchmarks.runners.script import cpu_model
from iblearn.data import student_t
from iblearn.estimation import choose
from iblearn.functional import ksg_mi
from iblearn.functional.knn import kernel_isa
from iblearn.records import environment, write_json

OUT = Path(__file__).parent / "results" / "auto_floor" / "results.json"


def ksg_calls(x: torch.Tensor, y: torch.Tensor) -> list[tuple[Any, ...]]:
    """The arguments of every KSG estimate ``estimate("mi", x, y)`` makes."""
    calls: list[tuple[Any, ...]] = []
    inner = choose.ibf.ksg_mi

    def recorded(*args: Any, **kw: Any) -> Any:
        calls.append((args, kw))
        return inner(*args, **kw)

    choose.ibf.ksg_mi = recorded  # type: ignore[attr-defined]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            iblearn.estimate("mi", x, y)
    finally:
        choose.ibf.ksg_mi = inner  # type: ignore[attr-defined]
    return calls


def main() -> None:
    torch.set_num_threads(1)
    rows = {}
    for d in (1, 3):
        x, y = student_t(d, d, dof=3.0).sample(20_000, seed=0)
        calls = ksg_calls(x, y)

        def replay(calls: list[tuple[Any, ...]] = calls) -> None:
            for args, kw in calls:
                ksg_mi(*args, **kw)

        r = paired_ratio(replay, lambda x=x, y=y: ksg_mi(x, y), 7)
        rows[f"{d} x {d}"] = {**r, "ksg_estimates": len(calls)}
        print(f"{d} x {d}: {len(calls)} KSG estimates, {r['ratio']:.2f}x ksg_mi", flush=True)
    provenance = {**environment(), "cpu": cpu_model(), "kernel_isa": kernel_isa(), "threads": 1}
    write_json(OUT, {"provenance": provenance, "floor": rows})


if __name__ == "__main__":
    main()
