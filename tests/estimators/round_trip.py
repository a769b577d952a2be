"""What every fitted representation estimator (LMI, MIENF, MINDE) must keep across a rebuild."""

from __future__ import annotations

from typing import Any


def assert_state_round_trips(est: Any, x: Any, y: Any) -> None:
    """``est`` (fitted on ``x[:600]``) rebuilt from its settings and state dict gives the same estimate on
    ``x[2000:]``, and after 5 more steps on both, the same again (the optimizer's state came along)."""
    est.validation = 0.0  # the 5 steps below on every row, alike for both
    rebuilt = type(est)(**est.settings())
    rebuilt.load_state_dict(est.state_dict())  # the standardization's buffers come along
    assert float(rebuilt(x[2000:], y[2000:])) == float(est(x[2000:], y[2000:]))
    est.fit(x[:600], y[:600], steps=5, batch_size=64, seed=1)
    rebuilt.fit(x[:600], y[:600], steps=5, batch_size=64, seed=1)
    assert float(rebuilt(x[2000:], y[2000:])) == float(est(x[2000:], y[2000:]))  # and Adam's state
