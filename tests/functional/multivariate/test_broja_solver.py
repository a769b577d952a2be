"""BROJA's sparse barrier solver: feasible, certified by its own gap on random and sparse tables, and
fast on tables of a thousand cells."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
import torch

from iblearn.functional.multivariate._broja import solve_broja

torch.set_num_threads(1)


def _tables() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    out = []
    for shape in [(2, 3, 4), (3, 3, 3), (4, 3, 2), (5, 5, 5)]:
        dense = rng.random(shape)
        holes = dense * (rng.random(shape) < 0.5)
        peaked = rng.dirichlet(np.full(int(np.prod(shape)), 0.1)).reshape(shape)
        out += [t / t.sum() for t in (dense, holes, peaked) if t.sum() > 0]
    return out


@pytest.mark.parametrize("p", _tables())
def test_the_minimiser_keeps_p_s_marginals_and_certifies_its_optimum(p: np.ndarray) -> None:
    sol = solve_broja(p)
    assert sol.q.sum(1) == pytest.approx(p.sum(1), abs=1e-12)
    assert sol.q.sum(0) == pytest.approx(p.sum(0), abs=1e-12)
    assert (sol.q >= 0).all()
    assert 0 <= sol.gap < 1e-9
    pt = p.sum((0, 1))
    coupling = p.sum(1)[:, None, :] * p.sum(0)[None, :, :] / np.where(pt > 0, pt, 1)
    joint = coupling.sum(2, keepdims=True) * pt
    start = float(
        (coupling * np.log(np.where(coupling > 0, coupling / np.where(joint > 0, joint, 1), 1))).sum()
    )
    assert sol.joint_mi <= start + 1e-12  # never worse than where it started


def test_a_ten_by_ten_by_ten_table_is_solved_in_seconds() -> None:
    p = np.random.default_rng(10).random((10, 10, 10))
    p /= p.sum()
    start = time.perf_counter()
    sol = solve_broja(p)
    assert time.perf_counter() - start < 60  # the dense Hessian's solver took minutes
    assert sol.gap < 1e-9


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="interval timers are POSIX")
def test_a_keyboard_interrupt_reaches_python_between_newton_steps() -> None:
    p = np.random.default_rng(12).random((12, 12, 12))
    p /= p.sum()

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    start = time.perf_counter()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(KeyboardInterrupt):
            solve_broja(p)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - start < 3  # one step, not the whole solve
