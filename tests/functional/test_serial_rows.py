"""The row-order check's one-pass exit for independent rows says what the full check says."""

from __future__ import annotations

import numpy as np

from iblearn.functional import serial


def _ar(phi: float, n: int, cols: int, g: np.random.Generator) -> np.ndarray:
    x = np.zeros((n + 100, cols))
    e = g.standard_normal((n + 100, cols))
    for t in range(1, n + 100):
        x[t] = phi * x[t - 1] + e[t]
    return x[100:]


def test_one_pass_exit_agrees_with_the_full_check(monkeypatch):
    g = np.random.default_rng(0)
    cases = []
    for phi in (0.0, 0.05, 0.1, 0.3, 0.9):
        for n, cols in ((200, 1), (1000, 1), (500, 3), (300, 12)):
            cases.append((_ar(phi, n, cols, g), _ar(0.9, n, 1, g)))
    fast = [serial.ordered_rows(list(c), ["x", "y"]) for c in cases]
    monkeypatch.setattr(serial, "_clearly_unordered", lambda cols, bound: False)
    assert fast == [serial.ordered_rows(list(c), ["x", "y"]) for c in cases]
    assert any(f is None for f in fast) and any(f is not None for f in fast)


def test_one_pass_exit_reads_the_lag1_autocorrelation_of_the_fft():
    c = _ar(0.2, 800, 2, np.random.default_rng(1))
    c = c - c.mean(axis=0)
    rho1 = serial.autocorrelation(c, 1)[1]
    bound = float(np.abs(rho1).max())
    assert serial._clearly_unordered([c], bound * (1 + 1e-6))
    assert not serial._clearly_unordered([c], bound * (1 - 1e-6))
