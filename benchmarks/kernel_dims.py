"""Where the tree stops paying: KSG and MixedKSG by the tree (``backend="tree"``: the compiled max-norm
kernel, or scipy's k-d tree for Euclidean distances) against brute force (``backend="brute"``) as the
dimension grows, the evidence behind ``KERNEL_MAX_DIM`` and ``TREE_MAX_DIM``
(``iblearn.functional.knn.neighbors``)::

    python benchmarks/kernel_dims.py [--repeats 2] [--out benchmarks/results/kernel_dims]

KSG: x of d / 2 standard normal columns, y a fixed random linear map of x plus unit noise, at N = 2,000
and 10,000, joint dims 32, 64, 100, 128 and 200, and 1,568 (784 + 784) at N = 2,000. MixedKSG: 10 class
centres plus noise, with its default Euclidean metric in 1 - 8 and 10 dims at N = 5,000 and 20,000 (behind
``iblearn.functional.knn.ksg.mixed_tree_dim``) and with the max-norm in 10, 20 and 40 dims at 5,000. Thread
CPU time on one thread, the two backends alternated, best of ``--repeats``; each pair must give the
same value to 1e-12. Writes ``results.json`` (rows, settings, provenance) and ``table.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from benchmarks.runners import script
from iblearn import functional as ibf
from iblearn._provenance import environment
from iblearn.functional.knn.neighbors import HAVE_KERNEL
from iblearn.records import atomic_write_text

KSG_CASES = [(n, d) for n in (2000, 10_000) for d in (32, 64, 100, 128, 200)] + [(2000, 1568)]
MIXED_CASES = [(n, d) for n in (5000, 20_000) for d in (1, 2, 3, 4, 5, 6, 7, 8, 10)]
MAXNORM_CASES = [(5000, d) for d in (10, 20, 40)]


def ksg_data(n: int, dims: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(dims)
    x = torch.randn(n, dims // 2, generator=g, dtype=torch.float64)
    w = torch.randn(dims // 2, dims // 2, generator=g, dtype=torch.float64) / (dims // 2) ** 0.5
    return x, x @ w + torch.randn(n, dims // 2, generator=g, dtype=torch.float64)


def mixed_data(n: int, dims: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(dims)
    labels = torch.randint(0, 10, (n,), generator=g)
    centres = torch.randn(10, dims, generator=g, dtype=torch.float64)
    return centres[labels] + torch.randn(n, dims, generator=g, dtype=torch.float64), labels


def timed(f: Callable[[], torch.Tensor]) -> tuple[float, float]:
    start = time.thread_time()
    value = float(f())
    return value, time.thread_time() - start


def row(kind: str, n: int, dims: int, repeats: int) -> dict[str, Any]:
    if kind == "ksg":
        x, y = ksg_data(n, dims)
        call = {b: (lambda b=b: ibf.ksg_mi(x, y, backend=b)) for b in ("tree", "brute")}
    else:
        x, y = mixed_data(n, dims)
        metric = "chebyshev" if kind.endswith("max-norm") else "euclidean"
        call = {b: (lambda b=b: ibf.mixed_ksg_mi(x, y, metric=metric, backend=b)) for b in ("tree", "brute")}
    best = {b: float("inf") for b in call}
    values: dict[str, float] = {}
    for _ in range(repeats):  # alternated: kernel, then brute force
        for b, f in call.items():
            values[b], seconds = timed(f)
            best[b] = min(best[b], seconds)
    if abs(values["tree"] - values["brute"]) > 1e-12:
        raise AssertionError(f"{kind} n={n} dims={dims}: {values['tree']!r} against {values['brute']!r}")
    return {
        "estimator": kind,
        "n": n,
        "dims": dims,
        "tree_s": best["tree"],
        "brute_s": best["brute"],
        "value": values["tree"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Brute force's time over the tree's (above 1: the tree is faster), per N and dims."""

    def cell(r: dict[str, Any]) -> str:
        ratio = r["brute_s"] / r["tree_s"]
        return f"{ratio:.1f}x" if ratio >= 1 else f"1/{1 / ratio:.1f}x"

    lines = []
    for kind in ("ksg", "mixed_ksg", "mixed_ksg max-norm"):
        mine = [r for r in rows if r["estimator"] == kind]
        dims = sorted({r["dims"] for r in mine})
        lines += [
            f"{kind}: brute force's time over the tree's (tree, brute force seconds)",
            "",
            "| N | " + " | ".join(f"{d} dims" for d in dims) + " |",
            "|---|" + "---|" * len(dims),
        ]
        for n in sorted({r["n"] for r in mine}):
            at = {r["dims"]: r for r in mine if r["n"] == n}
            cells = [
                f"{cell(at[d])} ({at[d]['tree_s']:.3g} s, {at[d]['brute_s']:.3g} s)" if d in at else "-"
                for d in dims
            ]
            lines.append(f"| {n:,} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_output(Path(__file__).parent / "results" / "kernel_dims")
    args = parser.parse_args(argv)
    if not HAVE_KERNEL:
        raise SystemExit("the compiled kernel is not built: `python setup.py build_ext --inplace`")
    torch.set_num_threads(1)
    rows = []
    for kind, cases in (
        ("ksg", KSG_CASES),
        ("mixed_ksg", MIXED_CASES),
        ("mixed_ksg max-norm", MAXNORM_CASES),
    ):
        for n, dims in cases:
            rows.append(row(kind, n, dims, args.repeats))
            r = rows[-1]
            print(
                f"{kind} n={n} dims={dims}: tree {r['tree_s']:.3f} s, brute {r['brute_s']:.3f} s",
                flush=True,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {
        "repeats": args.repeats,
        "threads": 1,
        "timing": "time.thread_time, best of repeats, alternated",
    }
    record = {"settings": settings, "provenance": environment(), "rows": rows}
    atomic_write_text(args.out / "results.json", json.dumps(record, indent=1) + "\n")
    atomic_write_text(args.out / "table.md", f"# The tree against brute force\n\n{table(rows)}")
    print(table(rows))


if __name__ == "__main__":
    main()
