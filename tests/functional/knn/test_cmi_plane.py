"""Frenzel-Pompe's three counts of single columns x, y, z in one sweep along z (``cmi_plane_count``,
_maxnorm_plane.h) against brute force and against the three counts apart, integer for integer.

n_xz, n_yz and n_z are exact integers whatever kernel counts them, so the sweep must give the very
numbers of comparing each pair: on continuous and heavy-tailed samples, and on lattices where the
k-th neighbour's radius, a pairwise distance, ends runs exactly on tied values. The estimates that
take the sweep, :func:`ksg_cmi` and :func:`ksg_cmi_ranked`, must then be the same floats as with the
three counts apart.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iblearn.functional import ksg_cmi
from iblearn.functional.knn import cmi
from iblearn.functional.knn import neighbors as nb

pytestmark = pytest.mark.skipif(not nb.HAVE_KERNEL, reason="the compiled kernel was not built")


def _columns(kind: str, n: int, seed: int) -> list[np.ndarray]:
    """x, y, z ``(n, 1)`` each: Gaussian with y depending on x and z, Student-t of 1 degree of freedom, or
    a lattice of few values (every distance an integer, ties in every column and repeated points)."""
    rng = np.random.default_rng(seed)
    if kind == "lattice":
        return [rng.integers(0, 6, (n, 1)).astype(np.float64) for _ in range(3)]
    if kind == "student-t":
        return [rng.standard_t(1.0, (n, 1)) for _ in range(3)]
    x, z = rng.standard_normal((2, n, 1))
    return [x, x**2 + z + 0.5 * rng.standard_normal((n, 1)), z]


def _brute(columns: list[np.ndarray], k: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """The k-th neighbour's max-norm distance in the joint space (a pairwise distance, so that a
    neighbour lies exactly at every radius) and the strict counts within it in the (x, z), (y, z) and z
    spaces, by comparing every pair (a point is not its own neighbour, even at a radius of 0: repeated
    points)."""
    dx, dy, dz = (np.abs(c - c.T) for c in columns)
    eps = np.sort(np.maximum(np.maximum(dx, dy), dz), axis=1)[:, k]
    inner = [np.maximum(dx, dz), np.maximum(dy, dz), dz]
    return eps, [(d < eps[:, None]).sum(axis=1) - (eps > 0) for d in inner]


def _sweep(columns: list[np.ndarray], radius: np.ndarray, inclusive: bool = False) -> list[np.ndarray]:
    n = len(radius)
    out = np.full((3, n), -2, dtype=np.int64)
    sorted_, ranks = nb._sorted_columns(np.hstack(columns))
    nb._maxnorm.cmi_plane_count(sorted_, ranks, n, np.ascontiguousarray(radius), inclusive, *out)
    return list(out)


def _apart(
    columns: list[np.ndarray], radius: np.ndarray, orders: object = None, inclusive: bool = False
) -> list[np.ndarray]:
    """n_xz, n_yz and n_z each by its own kernel: the sweep of each plane, the bisections of z."""
    x, y, z = columns
    r = np.ascontiguousarray(radius)
    found = [np.empty(len(z), dtype=np.int64) for _ in range(2)]
    for a, out in zip((x, y), found, strict=True):
        nb._maxnorm.plane_count(*nb._plane_layout(np.hstack([a, z]))[1], len(z), r, inclusive, out)
    return [*found, nb.count_in_index(nb.count_index(z), r, inclusive).numpy()]


@pytest.mark.parametrize("kind", ["gaussian", "student-t", "lattice"])
def test_one_sweep_counts_as_brute_force_and_the_counts_apart(kind):
    for n in (2, 3, 5, 40, 300):
        columns = _columns(kind, n, seed=n)
        for k in (1, 2, 3):
            if k >= n:
                continue
            eps, brute = _brute(columns, k)
            got = _sweep(columns, eps)
            for g, want, apart in zip(got, brute, _apart(columns, eps), strict=True):
                np.testing.assert_array_equal(g, want)
                np.testing.assert_array_equal(g, apart)
            # an ulp either side of the radius, strict and inclusive: runs that end on tied values
            for radius in (np.nextafter(eps, 0), np.nextafter(eps, np.inf), eps):
                for inclusive in (False, True):
                    want = _apart(columns, radius, inclusive=inclusive)
                    for g, w in zip(_sweep(columns, radius, inclusive), want, strict=True):
                        np.testing.assert_array_equal(g, w)


def test_known_orders_lay_the_sweep_out_as_a_sort_does():
    columns = _columns("gaussian", 500, seed=1)
    eps, brute = _brute(columns, 3)
    orders = [np.argsort(c[:, 0], kind="stable") for c in columns]
    for got in (nb.cmi_column_counts(columns, eps), nb.cmi_column_counts(columns, eps, orders)):
        for g, want in zip(got, brute, strict=True):
            np.testing.assert_array_equal(g, want)


@pytest.mark.parametrize("bound", ["PLANE_MAX_N", "CMI_SWEEP_MAX_N"])
@pytest.mark.parametrize("kind", ["student-t", "lattice"])
def test_beyond_the_sweeps_bounds_the_planes_take_their_grids(monkeypatch, bound, kind):
    columns = _columns(kind, 400, seed=2)
    eps, brute = _brute(columns, 3)
    orders = [np.argsort(c[:, 0], kind="stable") for c in columns]
    monkeypatch.setattr(nb, bound, 399)
    monkeypatch.setattr(nb._maxnorm, "cmi_plane_count", None)  # neither sweep is called
    monkeypatch.setattr(nb._maxnorm, "plane_count", None)
    for got in (nb.cmi_column_counts(columns, eps), nb.cmi_column_counts(columns, eps, orders)):
        for g, want in zip(got, brute, strict=True):
            np.testing.assert_array_equal(g, want)


def test_the_kernel_names_a_buffer_of_the_wrong_size():
    columns = _columns("gaussian", 10, seed=3)
    sorted_, ranks = nb._sorted_columns(np.hstack(columns))
    out = np.empty((3, 10), dtype=np.int64)
    with pytest.raises(ValueError, match="out_nz"):
        nb._maxnorm.cmi_plane_count(sorted_, ranks, 10, np.ones(10), False, out[0], out[1], out[2, :9])
    with pytest.raises(ValueError, match="ranks"):
        nb._maxnorm.cmi_plane_count(sorted_, ranks[:2], 10, np.ones(10), False, *out)


@pytest.mark.parametrize("kind", ["gaussian", "student-t", "lattice"])
def test_ksg_cmi_is_the_same_float_as_with_the_counts_apart(kind, monkeypatch):
    # the lattice jittered by ksg_cmi's ties="jitter", radii at pairwise distances of the jittered points
    x, y, z = (torch.from_numpy(c) for c in _columns(kind, 1500, seed=4))
    values = {}
    for counts in ("sweep", "apart"):
        if counts == "apart":
            monkeypatch.setattr(cmi, "cmi_column_counts", _apart)
        values[counts] = [float(ksg_cmi(x, y, z, k, seed=s)) for k in (1, 4) for s in (0, 7)]
        values[counts].append(float(ksg_cmi(x, y, z, 3, local=True).sum()))
    assert values["sweep"] == values["apart"]


def test_ksg_cmi_ranked_is_the_same_float_as_with_the_counts_apart(monkeypatch):
    from iblearn.functional.multivariate.inputs import ranked_normal

    scores, ranks, _ = ranked_normal(torch.from_numpy(np.hstack(_columns("gaussian", 1200, 5))))
    assert ranks is not None
    x, y, z = scores.split(1, dim=1)
    values = {}
    for counts in ("sweep", "apart"):
        if counts == "apart":
            monkeypatch.setattr(cmi, "cmi_column_counts", _apart)
        values[counts] = [cmi.ksg_cmi_ranked(x, y, z, list(ranks), 1200, k, 5) for k in (1, 3, 6)]
    assert None not in values["sweep"]
    assert values["sweep"] == values["apart"]


def _cache(root, level: str, kind: str, size: str, index: int = 2) -> None:
    folder = root / f"index{index}"
    folder.mkdir()
    for name, text in (("level", level), ("type", kind), ("size", size)):
        (folder / name).write_text(text + "\n")


def test_the_sweeps_bound_follows_a_cores_level_2_cache(tmp_path):
    _cache(tmp_path, "1", "Data", "32K", 0)
    _cache(tmp_path, "1", "Instruction", "32K", 1)
    _cache(tmp_path, "2", "Unified", "512K")
    _cache(tmp_path, "3", "Unified", "32768K", 3)
    assert nb.l2_cache_bytes(tmp_path) == 512 * 1024
    assert nb.cmi_sweep_max_n(256 * 1024) == 8192
    assert nb.cmi_sweep_max_n(512 * 1024) == 16384
    assert nb.cmi_sweep_max_n(2 << 20) == nb.cmi_sweep_max_n(None) == 40_000  # never past the measured bound
    (tmp_path / "index2" / "size").write_text("2M\n")
    assert nb.l2_cache_bytes(tmp_path) == 2 << 20
    (tmp_path / "index2" / "size").write_text("a lot\n")
    assert nb.l2_cache_bytes(tmp_path) is None
    assert nb.l2_cache_bytes(tmp_path / "absent") is None
