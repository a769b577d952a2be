"""The compiled kernels' instruction set (``IBLEARN_SIMD``): read once when the kernel is imported, capped
at the widest the CPU runs, refused by name when it names no set, and reported by ``kernel_isa`` and
by the benchmarks' provenance; and every set gives the portable set's neighbours, counts and KSG values.

Within one process the tests switch sets by the kernel's private ``_set_isa``; the whole kernel test
files run again under each set this CPU has in ``make test-isa``, IBLEARN_SIMD set.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from iblearn import _provenance
from iblearn.functional.knn import bivariate as bv
from iblearn.functional.knn import kernel_isa, ksg_mi, mixed_ksg_mi, pairwise_mi
from iblearn.functional.knn import mixed as mx
from iblearn.functional.knn import neighbors as nb

pytestmark = pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")

SETS = ("portable", "avx2", "avx512")  # narrowest first
#: The kernel module alone, without iblearn or torch (a fraction of a second), as a fresh process loads it.
LOAD_ALONE = (
    "import importlib.util, sys\n"
    "spec = importlib.util.spec_from_file_location('iblearn.functional.knn._maxnorm', sys.argv[1])\n"
    "module = importlib.util.module_from_spec(spec)\n"
    "print(module.ISA)\n"
)


def _env(value: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "IBLEARN_SIMD"}
    return env if value is None else {**env, "IBLEARN_SIMD": value}


def _load_alone(value: str | None) -> subprocess.CompletedProcess[str]:
    """The kernel loaded by a fresh process with IBLEARN_SIMD set to ``value`` (None: unset)."""
    path = str(nb._maxnorm.__file__)
    return subprocess.run(
        [sys.executable, "-c", LOAD_ALONE, path], env=_env(value), capture_output=True, text=True, timeout=60
    )


def _isa_alone(value: str | None) -> str:
    done = _load_alone(value)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def widest() -> str:
    """The widest set this CPU runs: the kernel's choice with IBLEARN_SIMD unset."""
    return _isa_alone(None)


def test_unset_or_empty_runs_the_widest_set_the_cpu_runs(widest):
    assert widest in SETS
    assert _isa_alone("") == widest


@pytest.mark.parametrize("asked", SETS)
def test_a_forced_set_runs_where_the_cpu_has_it_else_the_widest(asked, widest):
    want = asked if SETS.index(asked) <= SETS.index(widest) else widest
    assert _isa_alone(asked) == want


@pytest.mark.parametrize("value", ["sse2", "AVX2", "avx-512", " avx2"])
def test_a_value_that_names_no_set_fails_the_import_naming_the_variable(value):
    done = _load_alone(value)
    assert done.returncode != 0
    assert "ValueError: IBLEARN_SIMD" in done.stderr and f"'{value}'" in done.stderr
    assert "portable, avx2 or avx512" in done.stderr


def test_this_process_runs_the_set_its_environment_asks_for():
    """So a run under IBLEARN_SIMD (make test-isa) tests that set: the public name and the provenance
    report what the kernel loaded alone reports under the same environment."""
    asked = os.environ.get("IBLEARN_SIMD")
    assert kernel_isa() == _isa_alone(asked) == nb._maxnorm.ISA
    assert _provenance.environment()["kernel_isa"] == kernel_isa()


def _values() -> dict[str, np.ndarray]:
    """Every kernel once: the k-th neighbours and the range counts of the slabs, the k-d tree and the
    grids of cells, the pairwise scans (KSG 1) and grid (KSG 2), KSG in several dimensions, with ties and
    mixed, the neighbour lists' counts of many candidates, and the float32 band counts."""
    g = np.random.default_rng(5)
    out: dict[str, np.ndarray] = {}
    spaces = {
        "slabs": g.normal(size=(400, 16)),
        "grid": np.round(g.normal(size=(400, 3)), 1),
        "tree": np.round(g.normal(size=(400, 5)), 1),
    }
    for name, x in spaces.items():
        eps, idx = nb.kth_neighbour([torch.from_numpy(x)], 4, "chebyshev", "tree")
        out[f"eps_{name}"], out[f"idx_{name}"] = eps.numpy(), idx.numpy()
        for inclusive in (False, True):
            counts = nb.count_within(torch.from_numpy(x), eps, "chebyshev", "tree", inclusive=inclusive)
            out[f"count_{name}_{inclusive}"] = counts.numpy()
    columns = g.normal(size=(300, 5)) + g.normal(size=(300, 1))
    for variant in (1, 2):
        out[f"ksg_pairwise_{variant}"] = np.asarray(pairwise_mi(columns, variant=variant))
        out[f"ksg_local_{variant}"] = ksg_mi(
            columns[:, 0], columns[:, 1], variant=variant, local=True
        ).numpy()
    x, y = spaces["slabs"][:, :8], spaces["slabs"][:, 8:] + spaces["slabs"][:, :8]
    out["ksg_joint"] = ksg_mi(x, y, k=4).numpy()
    out["ksg_ties"] = ksg_mi(spaces["grid"][:, :1], spaces["grid"][:, 1:]).numpy()
    out["ksg_mixed"] = mixed_ksg_mi(spaces["slabs"][:, :4], g.integers(0, 3, size=400)).numpy()
    # The neighbour lists' counts of many candidates at once, a vector's width at a time: short lists,
    # so that some points are measured against all, and a count that leaves the last group part empty.
    yz = np.ascontiguousarray(g.normal(size=(300, 3)))
    lists = nb.neighbour_lists(yz, 12), nb.neighbour_lists(np.ascontiguousarray(yz[:, 1:]), 40)
    xs = g.normal(size=(11, 300)) + yz[:, 1]
    for k in (4, 3):  # the default k, its compare-exchanges unrolled, and any other
        eps, counts = nb.listed_counts_many(xs, k, yz, 1, *lists)
        out[f"listed_many_eps_{k}"] = eps
        for name, c in zip(("nxz", "nyz", "nz"), counts, strict=True):
            out[f"listed_many_{name}_{k}"] = c
    value = torch.from_numpy(g.normal(size=(40, 70)).astype(np.float32))
    bounds = [torch.from_numpy(g.normal(size=m).astype(np.float32)) for m in (40, 40, 40, 70, 70)]
    bounds[1] = bounds[0] - 0.5  # maybe <= sure, as the caller makes them
    for name, counts in zip(
        ("sure", "maybe", "col_sure", "col_maybe"), mx._band(value, *bounds), strict=True
    ):
        out[f"count_band_{name}"] = counts.numpy()
    return out


@contextlib.contextmanager
def _running(isa: str) -> Iterator[None]:
    """The kernel calls within run ``isa`` (the private switch of the tests), then the set before."""
    before = nb._maxnorm._set_isa(isa)
    try:
        yield
    finally:
        nb._maxnorm._set_isa(before)


def test_the_switch_of_the_tests_is_capped_and_restored(widest):
    before = kernel_isa()
    for isa in SETS:
        with _running(isa):
            assert kernel_isa() == (isa if SETS.index(isa) <= SETS.index(widest) else widest)
        assert kernel_isa() == before
    with pytest.raises(ValueError, match="isa"):
        nb._maxnorm._set_isa("sse2")
    assert kernel_isa() == before


@pytest.mark.parametrize("isa", SETS[1:])
def test_every_set_gives_the_portable_sets_values(isa, widest):
    """Counts, neighbours and distances alike to the bit (the max-norm's arithmetic is exact); the KSG
    values are those counts through the same digammas, so equal to round-off."""
    if SETS.index(isa) > SETS.index(widest):
        pytest.skip(f"this CPU does not run {isa}")
    with _running("portable"):
        portable = _values()
    with _running(isa):
        assert kernel_isa() == isa
        got = _values()
    assert got.keys() == portable.keys()
    for name, value in got.items():
        if name.startswith("ksg"):
            np.testing.assert_allclose(
                value, portable[name], rtol=1e-13, atol=1e-15, err_msg=f"{name}, {isa}"
            )
        else:
            np.testing.assert_array_equal(value, portable[name], err_msg=f"{name}, {isa}")


def test_every_copy_of_the_scans_gives_the_scalar_copys_counts_and_terms():
    """The scans (KSG 1 between 1-d variables) have a copy more than the sets: the portable set's is SSE2
    on x86-64 and scalar C elsewhere, and ``scan``'s level -1 runs the scalar one here too. Every copy
    gives its counts and terms to the bit: continuous, tied and binary columns, N odd and below the
    widest vector, every k the scans take."""
    g = np.random.default_rng(11)
    for n in (3, 7, 301):
        z = g.normal(size=(n, 2))
        columns = [z[:, 0], z[:, 0] + z[:, 1], np.round(2 * z[:, 1]), (z[:, 0] > 0).astype(float)]
        values, ranks = bv.sorted_ranks([torch.from_numpy(c.reshape(-1, 1)) for c in columns])
        pairs = np.array([(a, b) for a in range(4) for b in range(4) if a != b], dtype=np.int64)
        table = np.ascontiguousarray(bv.digamma_table(n)[1 : n + 1])
        for k in range(1, min(nb._maxnorm.SCAN_KMAX, n - 1) + 1):
            got = {}
            for level in (-1, 0, 1, 2):  # each capped at the set this process runs
                nx, ny = np.full((2, len(pairs), n), -7, dtype=np.int64)
                terms = np.empty((len(pairs), n))
                assert nb._maxnorm.scan(values, ranks, n, pairs, k, None, nx, ny, level) == -1
                assert nb._maxnorm.scan(values, ranks, n, pairs, k, table, terms, terms, level) == -1
                got[level] = (nx, ny, terms)
            for level in (0, 1, 2):
                for name, a, b in zip(("n_x", "n_y", "terms"), got[level], got[-1], strict=True):
                    np.testing.assert_array_equal(a, b, err_msg=f"{name}, n {n}, k {k}, level {level}")
