"""The null probe of the automatic estimates: the measure recomputed where it must read about 0 (a
source shifted against its target, a series' steps shuffled, the variables' rows shuffled apart), run
only where its reading can still decide the verdict."""

from __future__ import annotations

from collections.abc import Callable

from iblearn.estimation.autocheck import Check
from iblearn.functional import Estimate

__all__ = ["probed"]


def probed(
    est: Estimate,
    checks: dict[str, Check],
    probe: tuple[str, str, Callable[[], float], str],
    tolerance: float,
) -> Check:
    """The ``probe`` check (name, figure name, its estimate under the null, what it shows): its
    estimate within ``tolerance`` of 0; not run where ``est`` is already unreliable or one of
    ``checks`` failed, as the verdict is then settled."""
    name, figure, estimate, text = probe
    failed = [c.name for c in checks.values() if c.passed is False]
    if est.reliable is False or failed:
        why = f"{', '.join(failed)} failed" if failed else f"it is unreliable already ({est.caveat})"
        return Check(
            name, None, {}, text, why_not=f"{why}: the estimate is unreliable whatever it reads", ran=False
        )
    value = estimate()
    return Check(name, abs(value) <= tolerance, {figure: value}, text, tolerance)
