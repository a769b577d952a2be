"""The A/B timings behind the compiled max-norm kernels' constants (``iblearn.functional.knn.neighbors``)
and behind ``iblearn._checks.finite_rows``: each choice against the form it replaced, the constants set
at run time and restored after, the same answers::

    python benchmarks/kernel_choices.py [--repeats 7] [--quick] [--only CHOICE ...] [--write-results]

* ``grid``: the k-th neighbour (k = 3) on the grid of cells (``CELL_MAX_DIM``) against the k-d tree, in
  2, 3, 4 and 6 dimensions (the code takes the grid up to ``CELL_MAX_DIM``), N = 10,000 and 200,000, on
  Gaussian samples and on a lattice (integer points, about one a site: exact ties everywhere).
* ``count grid``: range counts on a grid of cells (``COUNT_CELL_MAX_DIM``, ``COUNT_CELL_POINTS``) against
  the tree, or the sweep where the code took it without the grid, the layouts' making included, in 2,
  3 and 4 dimensions (the code takes the grid up to ``COUNT_CELL_MAX_DIM``), N = 20,000 and 100,000, on
  Gaussian samples and on the lattice: KSG's marginal count (x, y = x plus unit noise as many columns,
  the points of x strictly within the joint space's 3rd-neighbour distance).
* ``count grid, estimates``: the same for whole KSG estimates (``ksg_mi``, ``ksg_cmi``, k = 3) whose
  counts take the grid, N = 20,000: MI of 1 x 2, 2 x 2, 3 x 1 and 3 x 3 columns and the conditional MI
  of 1 x 1 columns given 2 (Gaussian; y depends on x's first column, and in the conditional case x and
  y each on a column of z).
* ``count leaves``: range counts on the tree with leaves of 256 (``COUNT_LEAF``) against 128, in 2 - 10
  dimensions at N = 20,000 and 100,000, and in 4 and 6 at 300,000: KSG's marginal count as above.
  Here and in ``sweep`` and ``float32 counts`` the counts' grid is turned off (``COUNT_CELL_MAX_DIM =
  1``) for both forms, and in two dimensions at 20,000 the sweep too (``PLANE_MAX_N = 0``), so that the
  tree counts.
* ``search leaves``: the k-th neighbour search (k = 3) on the tree with leaves twice as long against
  as long as the code's shorter pair (``knn_leaf``: ``TREE_LEAF`` times 1, 2 or 4 by the dimension and
  the instruction set; the pair is the code's leaves and half as many where the code takes more than
  ``TREE_LEAF``, else ``TREE_LEAF`` and twice as many), in 5 - 12 dimensions at N = 20,000, in 8 and 10
  at 100,000 and in 6 and 8 at 300,000, Gaussian; and (sample ``longer``, Gaussian too) the code's
  leaves doubled against the code's, in 6 and 8 dimensions at 20,000 and 100,000.
* ``leaves, estimates``: whole KSG estimates (``ksg_mi``, ``ksg_cmi``, k = 3) with the trees' leaves of
  the code (the search's ``knn_leaf``, the counts' ``COUNT_LEAF``) against half as many, N = 5,000,
  20,000 and 100,000: MI of 3 x 3, 4 x 4 and 5 x 5 columns and the conditional MI of 2 x 2 columns
  given 2 (``ESTIMATES``' rows, Gaussian).
* ``sweep``: two-dimensional counts by the sweep (``PLANE_MAX_N``) against the tree, sorting and the
  tree's building included, N = 10,000, 50,000 and 200,000, the marginal count of 2x2 KSG as above
  (off the grid, the code sweeps up to ``PLANE_MAX_N``: the counts of columns whose orders are known,
  ``ordered_index``).
* ``float32 search`` and ``float32 counts``: the tree's k-th neighbour search (k = 3) and its range
  counts with a float32 first pass over each leaf (``FLOAT32_PASS``) against float64 alone: the search
  in 6, 10 and 12 dimensions at N = 10,000 and 20,000 (12 dimensions at 10,000 is the automatic 3 x 3
  MI's additivity check), Gaussian and lattice; KSG's marginal counts as above in 3, 5 and 6
  dimensions at N = 10,000 - 200,000, and on the lattice jittered as KSG jitters ties (distances tie
  to float32's resolution, where the pass decides little and the code falls back to float64).
* ``cmi sweep``: conditional MI's three counts of single columns x, y, z (``CMI_SWEEP``) in one sweep
  along z against the two planes' counts (on their grids) and z's bisections apart, the columns' orders
  known as the automatic CMI's reruns know them, N = 8,000, 16,000, 32,000, 50,000 and 100,000 (the
  code sweeps up to ``CMI_SWEEP_MAX_N``): x, z standard normal, y = x^2 + z plus noise (the automatic
  CMI's door case), strictly within the joint space's 3rd-neighbour distance.
* ``finite_rows``: a sample's finiteness from its sum against ``torch.isfinite(t).all()``, on a 5,000 x
  100 standard normal sample in float64 and float32, a call at a time (``CALLS`` calls a timing).

Thread CPU time on one thread, the two settings interleaved, each in turn first, the median of
``--repeats``; each pair must give the same neighbours and distances, the same counts, or (finite_rows)
the same sample back and the same error on one with a NaN. ``--quick`` runs every choice on small
samples (a check of the script, not a measurement); ``--only`` the rows of the choices named (another
CPU's record of those, with ``--out``). Writes ``results.json`` (rows, settings, the
constants' values, provenance: the CPU and the kernel's instruction set) and ``table.md``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from benchmarks.runners import script
from iblearn import _checks
from iblearn.functional import ksg_cmi, ksg_mi
from iblearn.functional.knn import neighbors
from iblearn.records import atomic_write_text, markdown_table

K = 3
#: Calls of a finiteness check in one timing (one call takes well under a millisecond).
CALLS = 50
#: The constants the choices read, recorded with the run.
CONSTANTS = (
    "CELL_MAX_DIM",
    "CELL_POINTS",
    "TREE_LEAF",
    "LONG_LEAF_DIM",
    "WIDE_TREE_DIM",
    "PORTABLE_LONG_LEAF_DIM",
    "COUNT_LEAF",
    "PLANE_MAX_N",
    "TREE_LOW_DIM",
    "TREE_MIN_N",
    "FLOAT32_PASS",
    "CMI_SWEEP",
    "CMI_SWEEP_MAX_N",
    "COUNT_CELL_MAX_DIM",
    "COUNT_CELL_POINTS",
)
#: Each choice: its title, and its two forms, the one the code took first (the other's time over its
#: own is the ratio the table gives).
CHOICES = {
    "grid": ("The k-th neighbour: the grid of cells against the tree", ("grid", "tree")),
    "count grid": ("Range counts: a grid of cells against the tree or the sweep", ("grid", "tree or sweep")),
    "count grid, estimates": (
        "Whole estimates: the counts on a grid of cells against the tree or the sweep",
        ("grid", "tree or sweep"),
    ),
    "count leaves": ("Range counts: the tree's leaves of 256 against 128", ("256", "128")),
    "search leaves": (
        "The k-th neighbour search: the tree's leaves, twice as long against as long",
        ("longer", "shorter"),
    ),
    "leaves, estimates": (
        "Whole estimates: the trees' leaves of the code against half as many",
        ("the code's", "half"),
    ),
    "sweep": ("Two-dimensional counts: the sweep against the tree", ("sweep", "tree")),
    "float32 search": (
        "The k-th neighbour search on the tree: a float32 first pass over each leaf against float64 alone",
        ("float32", "float64"),
    ),
    "float32 counts": (
        "Range counts on the tree: a float32 first pass over each leaf against float64 alone",
        ("float32", "float64"),
    ),
    "cmi sweep": (
        "Conditional MI's three counts of single columns: one sweep along z against the planes and z apart",
        ("one sweep", "apart"),
    ),
    "finite_rows": ("finite_rows: the sum's finiteness against isfinite(t).all()", ("sum", "isfinite")),
}
#: The whole estimates of ``count grid, estimates`` and ``leaves, estimates``: their columns (x, y, and z
#: where conditional).
ESTIMATES = {
    "MI 1 x 2": (1, 2),
    "MI 2 x 2": (2, 2),
    "MI 3 x 1": (3, 1),
    "MI 3 x 3": (3, 3),
    "CMI 1 x 1 | 2": (1, 1, 2),
    "MI 4 x 4": (4, 4),
    "MI 5 x 5": (5, 5),
    "CMI 2 x 2 | 2": (2, 2, 2),
}
#: Those whose counts take the grid (``count grid, estimates``), and those whose trees' leaves the code
#: sets (``leaves, estimates``).
GRID_ESTIMATES = ("MI 1 x 2", "MI 2 x 2", "MI 3 x 1", "MI 3 x 3", "CMI 1 x 1 | 2")
LEAF_ESTIMATES = ("MI 3 x 3", "MI 4 x 4", "MI 5 x 5", "CMI 2 x 2 | 2")
#: (choice, sample, N, dims) of each row, the full run and --quick's.
FULL = (
    [("grid", s, n, d) for s in ("gaussian", "lattice") for n in (10_000, 200_000) for d in (2, 3, 4, 6)]
    + [("count grid", s, n, d) for s in ("gaussian", "lattice") for n in (20_000, 100_000) for d in (2, 3, 4)]
    + [("count grid, estimates", name, 20_000, sum(ESTIMATES[name])) for name in GRID_ESTIMATES]
    + [("count leaves", "gaussian", n, d) for n in (20_000, 100_000) for d in (2, 3, 4, 6, 8, 10)]
    + [("count leaves", "gaussian", 300_000, d) for d in (4, 6)]
    + [("search leaves", "gaussian", 20_000, d) for d in (5, 6, 8, 10, 12)]
    + [("search leaves", "gaussian", 100_000, d) for d in (8, 10)]
    + [("search leaves", "gaussian", 300_000, d) for d in (6, 8)]
    + [("search leaves", "longer", n, d) for n in (20_000, 100_000) for d in (6, 8)]
    + [
        ("leaves, estimates", name, n, sum(ESTIMATES[name]))
        for n in (5000, 20_000, 100_000)
        for name in LEAF_ESTIMATES
    ]
    + [("sweep", "gaussian", n, 2) for n in (10_000, 50_000, 200_000)]
    + [
        ("float32 search", s, n, d)
        for s in ("gaussian", "lattice")
        for n, d in ((10_000, 12), (20_000, 6), (20_000, 10))
    ]
    + [("float32 counts", "gaussian", n, d) for n, d in ((10_000, 6), (20_000, 3), (20_000, 5), (200_000, 5))]
    + [("float32 counts", "lattice", 20_000, d) for d in (3, 5)]
    + [("cmi sweep", "gaussian", n, 3) for n in (8000, 16_000, 32_000, 50_000, 100_000)]
    + [("finite_rows", s, 5000, 100) for s in ("float64", "float32")]
)
QUICK = (
    [("grid", s, 2000, d) for s in ("gaussian", "lattice") for d in (2, 6)]
    + [("count grid", s, 2000, d) for s in ("gaussian", "lattice") for d in (2, 3)]
    + [("count grid, estimates", name, 2000, sum(ESTIMATES[name])) for name in ("MI 3 x 1", "CMI 1 x 1 | 2")]
    + [("count leaves", "gaussian", 2000, d) for d in (2, 5)]
    + [("search leaves", "gaussian", 2000, 10)]
    + [("leaves, estimates", "CMI 2 x 2 | 2", 2000, 6)]
    + [("sweep", "gaussian", n, 2) for n in (2000, 60_000)]
    + [("float32 search", "lattice", 2000, 8), ("float32 counts", "gaussian", 2000, 5)]
    + [("cmi sweep", "gaussian", 2000, 3)]
    + [("finite_rows", "float64", 500, 10)]
)


@contextlib.contextmanager
def constants(values: dict[str, Any]) -> Iterator[None]:
    """The module constants of ``neighbors`` set to ``values``, restored on leaving (they are read at
    each call, not at import)."""
    saved = {name: getattr(neighbors, name) for name in values}
    for name, value in values.items():
        setattr(neighbors, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(neighbors, name, value)


def under(values: dict[str, Any], call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` run with the constants ``values``."""

    def run() -> Any:
        with constants(values):
            return call()

    return run


def sample(kind: str, n: int, dims: int, seed: int = 0) -> torch.Tensor:
    """``n`` points in ``dims`` dimensions, float64: integer points on a lattice of about ``n`` sites
    (``"lattice"``), so that many distances tie and some points coincide; else standard normal."""
    g = torch.Generator().manual_seed(seed)
    if kind == "lattice":
        side = max(2, round(n ** (1 / dims)))
        return torch.randint(0, side, (n, dims), generator=g).double()
    return torch.randn(n, dims, generator=g, dtype=torch.float64)


def marginal_count(n: int, dims: int, kind: str = "gaussian") -> Callable[[], torch.Tensor]:
    """KSG's count in x's space (``dims`` columns of ``kind``) within the joint space's k-th neighbour
    distance, y = x plus noise of that kind; on the lattice both jittered as KSG jitters ties (a
    ten-billionth of a unit, below float32's resolution there)."""
    x = sample(kind, n, dims)
    y = x + sample(kind, n, dims, seed=1)
    if kind == "lattice":
        x, y = (t + 1e-10 * sample("gaussian", n, dims, seed=2 + i) for i, t in enumerate((x, y)))
    eps = neighbors.kth_neighbour([x, y], K, "chebyshev", "tree")[0]
    return functools.partial(neighbors.count_within, x, eps, "chebyshev", "tree", inclusive=False)


def estimate(name: str, n: int) -> Callable[[], torch.Tensor]:
    """The KSG estimate ``name`` of :data:`ESTIMATES` on ``n`` Gaussian rows: y is x's first column plus
    unit noise in each of its columns; conditional, x and y each plus a column of z."""
    dims = ESTIMATES[name]
    x = sample("gaussian", n, dims[0])
    y = x[:, :1] + sample("gaussian", n, dims[1], seed=1)
    if len(dims) == 2:
        return functools.partial(ksg_mi, x, y, K)
    z = sample("gaussian", n, dims[2], seed=2)
    return functools.partial(ksg_cmi, x + z[:, :1], y + z[:, -1:], z, K)


def cmi_counts(n: int) -> Callable[[], tuple[torch.Tensor, ...]]:
    """Conditional MI's three counts on ``n`` rows of the automatic CMI's door case, the columns' orders
    known, within the joint space's k-th neighbour distance."""
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(2, n, 1, generator=g, dtype=torch.float64)
    y = x**2 + z + 0.5 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    eps = neighbors.kth_neighbour([x, y, z], K, "chebyshev", "tree")[0].numpy()
    columns = [t.numpy() for t in (x, y, z)]
    orders = [np.argsort(c[:, 0], kind="stable") for c in columns]
    return lambda: tuple(torch.from_numpy(c) for c in neighbors.cmi_column_counts(columns, eps, orders))


def settings(choice: str, kind: str, n: int, dims: int) -> tuple[tuple[dict[str, Any], dict[str, Any]], str]:
    """The constants that give each form of a kernel's ``choice`` on ``n`` points of ``kind`` in
    ``dims`` dimensions, and the form the code's own constants take there."""
    a, b = CHOICES[choice][1]
    if choice == "grid":
        taken = a if 2 <= dims <= neighbors.CELL_MAX_DIM else b
        return ({"CELL_MAX_DIM": max(dims, 2)}, {"CELL_MAX_DIM": 1}), taken
    grid = 2 <= dims <= neighbors.COUNT_CELL_MAX_DIM
    if choice == "leaves, estimates":
        short = functools.partial(_halved, neighbors.knn_leaf)
        return ({}, {"knn_leaf": short, "COUNT_LEAF": neighbors.COUNT_LEAF // 2}), a
    if choice == "count grid, estimates":
        return ({"COUNT_CELL_MAX_DIM": 3}, {"COUNT_CELL_MAX_DIM": 1}), a
    if choice == "count grid":
        return ({"COUNT_CELL_MAX_DIM": max(dims, 2)}, {"COUNT_CELL_MAX_DIM": 1}), a if grid else b
    off = {"COUNT_CELL_MAX_DIM": 1}  # the other counts' choices, with the grid off
    if choice == "count leaves":  # in two dimensions with the sweep off too, so that the tree counts
        plane = {"PLANE_MAX_N": 0, **off} if dims == 2 else off
        taken = "grid" if grid else "sweep" if neighbors._on_plane(n, dims) else str(neighbors.COUNT_LEAF)
        return ({"COUNT_LEAF": 256, **plane}, {"COUNT_LEAF": 128, **plane}), taken
    if choice == "search leaves":
        code = neighbors.knn_leaf(dims)
        # "longer": the code's leaves doubled against them (the largest, against half, where they are).
        if kind == "longer":
            short = min(code, neighbors.LEAF_MAX // 2)
        else:
            short = code // 2 if code > neighbors.TREE_LEAF else code
        forms = (
            {"knn_leaf": functools.partial(_leaf, 2 * short)},
            {"knn_leaf": functools.partial(_leaf, short)},
        )
        return forms, a if code == 2 * short else b
    if choice == "float32 search":
        return ({"FLOAT32_PASS": True}, {"FLOAT32_PASS": False}), a if neighbors.FLOAT32_PASS else b
    if choice == "float32 counts":
        taken = "grid" if grid else a if neighbors.FLOAT32_PASS else b
        return ({"FLOAT32_PASS": True, **off}, {"FLOAT32_PASS": False, **off}), taken
    if choice == "cmi sweep":
        swept = neighbors.CMI_SWEEP and n <= neighbors.CMI_SWEEP_MAX_N and neighbors._on_plane(n, 2)
        return ({"CMI_SWEEP": True, "CMI_SWEEP_MAX_N": n}, {"CMI_SWEEP": False}), a if swept else b
    taken = "grid" if grid else a if n <= neighbors.PLANE_MAX_N else b
    return ({"PLANE_MAX_N": n, **off}, {"PLANE_MAX_N": 0, **off}), taken


def _leaf(points: int, dims: int) -> int:
    """``points`` a leaf, whatever the dimension: ``knn_leaf`` fixed for one form of a choice."""
    return points


def _halved(leaf: Callable[[int], int], dims: int) -> int:
    """Half the points a leaf that ``leaf`` gives in ``dims`` dimensions."""
    return leaf(dims) // 2


def finite_by_isfinite(t: torch.Tensor, name: str) -> torch.Tensor:
    """``finite_rows`` by ``torch.isfinite(t).all()``: the form the sum replaced, the same outcome."""
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).reshape(len(t), -1).any(dim=1).nonzero()[0, 0])
        raise ValueError(f"{name}: contains NaN or Inf (first at sample {bad})")
    return t


def outcome(check: Callable[[torch.Tensor, str], torch.Tensor], t: torch.Tensor) -> Any:
    """What ``check`` does with ``t``: the tensor it gives back, or its error's message."""
    try:
        return check(t, "x")
    except ValueError as err:
        return str(err)


def arms(choice: str, kind: str, n: int, dims: int) -> tuple[dict[str, Callable[[], Any]], str]:
    """The two forms of ``choice`` on its case, each a call (first the code's first form), and which of
    them the code takes there."""
    a, b = CHOICES[choice][1]
    if choice == "finite_rows":
        return finite_arms(kind, n, dims), a
    if choice in ("grid", "search leaves", "float32 search"):
        call = functools.partial(neighbors.kth_neighbour, [sample(kind, n, dims)], K, "chebyshev", "tree")
    elif choice == "cmi sweep":
        call = cmi_counts(n)
    elif choice in ("count grid, estimates", "leaves, estimates"):
        call = estimate(kind, n)
    else:
        call = marginal_count(n, dims, kind)
    (first, second), taken = settings(choice, kind, n, dims)
    return {a: under(first, call), b: under(second, call)}, taken


def finite_arms(kind: str, n: int, dims: int) -> dict[str, Callable[[], Any]]:
    """``finite_rows`` and the form it replaced, each ``CALLS`` times on an ``n`` x ``dims`` sample of
    dtype ``kind``; first checked to raise the same error on the sample with a NaN."""
    t = sample("gaussian", n, dims).to(getattr(torch, kind))
    nan = t.clone()
    nan[n // 2, dims // 2] = float("nan")
    if outcome(_checks.finite_rows, nan) != outcome(finite_by_isfinite, nan):
        raise AssertionError(f"finite_rows {kind}: the two forms differ on a sample with a NaN")

    def repeated(check: Callable[[torch.Tensor, str], torch.Tensor]) -> Callable[[], Any]:
        return lambda: [check(t, "x") for _ in range(CALLS)][-1]

    sum_, isfinite = CHOICES["finite_rows"][1]
    return {sum_: repeated(_checks.finite_rows), isfinite: repeated(finite_by_isfinite)}


def same(u: Any, v: Any) -> bool:
    """Whether two answers are the same: tensors equal to the last bit, tuples entry by entry."""
    if isinstance(u, tuple):
        return len(u) == len(v) and all(same(p, q) for p, q in zip(u, v, strict=True))
    return bool(torch.equal(u, v))


def measure(calls: dict[str, Callable[[], Any]], repeats: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Each call's median thread CPU time over ``repeats`` rounds, the two interleaved and each in turn
    first, and each one's last answer."""
    names = list(calls)
    times: dict[str, list[float]] = {name: [] for name in names}
    answers: dict[str, Any] = {}
    for i in range(repeats):
        for name in names if i % 2 == 0 else names[::-1]:
            start = time.thread_time()
            answers[name] = calls[name]()
            times[name].append(time.thread_time() - start)
    return {name: statistics.median(t) for name, t in times.items()}, answers


def row(choice: str, kind: str, n: int, dims: int, repeats: int) -> dict[str, Any]:
    calls, taken = arms(choice, kind, n, dims)
    seconds, answers = measure(calls, repeats)
    a, b = CHOICES[choice][1]
    if not same(answers[a], answers[b]):
        raise AssertionError(f"{choice} {kind} n={n} dims={dims}: {a} and {b} give different answers")
    if choice == "finite_rows":
        seconds = {name: s / CALLS for name, s in seconds.items()}
    return {"choice": choice, "sample": kind, "n": n, "dims": dims, "seconds": seconds, "taken": taken}


def duration(seconds: float) -> str:
    """Seconds in the unit that suits them, three significant figures."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-6:.3g} us"


def table(rows: list[dict[str, Any]]) -> str:
    """A table per choice: each form's median time, the second's over the first's (above 1: the first
    is faster), and the form the code's constants take in that case."""
    parts = []
    for choice, (title, (a, b)) in CHOICES.items():
        mine = [r for r in rows if r["choice"] == choice]
        if not mine:
            continue
        head = ["sample", "N", "dims", a, b, f"{b} / {a}", "the code takes"]
        body = [
            [
                r["sample"],
                f"{r['n']:,}",
                str(r["dims"]),
                duration(r["seconds"][a]),
                duration(r["seconds"][b]),
                f"{r['seconds'][b] / r['seconds'][a]:.2f}x",
                r["taken"],
            ]
            for r in mine
        ]
        parts.append(f"{title}\n\n{markdown_table(head, body).rstrip()}\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=script.positive_int, default=7)
    parser.add_argument("--quick", action="store_true", help="small samples: a check of the script")
    parser.add_argument("--only", nargs="+", choices=sorted(CHOICES), help="the rows of these choices alone")
    parser.add_output(script.RESULTS / "kernel_choices")
    args = parser.parse_args(argv)
    if not neighbors.HAVE_KERNEL:
        raise SystemExit("the compiled kernel is not built: `python setup.py build_ext --inplace`")
    torch.set_num_threads(1)
    rows = []
    for case in QUICK if args.quick else FULL:
        if args.only and case[0] not in args.only:
            continue
        rows.append(row(*case, repeats=args.repeats))
        r = rows[-1]
        times = ", ".join(f"{name} {duration(s)}" for name, s in r["seconds"].items())
        print(f"{r['choice']} {r['sample']} n={r['n']} dims={r['dims']}: {times}", flush=True)
    run = {
        "repeats": args.repeats,
        "threads": 1,
        "k": K,
        "finite_rows_calls": CALLS,
        "timing": "time.thread_time, median of repeats, the two forms interleaved, each in turn first",
        "constants": {name: getattr(neighbors, name) for name in CONSTANTS},
    }
    record = {"settings": run, "provenance": script.kernel_provenance(), "rows": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "results.json", json.dumps(record, indent=1) + "\n")
    text = table(rows)
    atomic_write_text(
        args.out / "table.md", f"# The kernels' choices, each against the form it replaced\n\n{text}"
    )
    print(text)


if __name__ == "__main__":
    main()
