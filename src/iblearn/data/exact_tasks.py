"""Tasks with exact answers for conditional MI, transfer entropy and the multivariate measures, and the
MI tasks of :mod:`iblearn.data.synthetic`, behind one interface.

Every :class:`ExactTask` has a ``name``, a ``family`` (``"cmi"``, ``"te"``, ``"multivariate"``,
``"mi"``), the ``measure`` its ``truth`` (nats) is a value of, a description, and ``sample(n, seed)``
returning the arrays that measure takes:

- ``mi``: ``(x, y)``, as :func:`~iblearn.functional.ksg_mi` takes them.
- ``cmi``: ``(x, y, z)``, z floats or int64 class labels (:func:`~iblearn.functional.ksg_cmi`).
- ``te``: ``(source, target)`` series of ``n + max(lag, history)`` steps, so that
  :func:`~iblearn.functional.transfer_entropy` with ``task.options`` (``lag``, ``history``) sees ``n``
  samples.
- ``cte``: ``(source, target, condition)``, the conditional transfer entropy ``I(target_t;
  source_{t-lag} | target_{t-1..t-history}, condition_{t-1..t-history})``; :func:`te_samples` gives the
  three arguments of that CMI (and of a ``te`` task's).
- ``tc``, ``dtc``, ``o``, ``s``: ``(x,)``, ``(N, d)`` whose variables are its columns or
  ``options["blocks"]`` (:func:`~iblearn.functional.total_correlation` and the others).
- ``ii``: ``(x, y, z)`` (:func:`~iblearn.functional.interaction_information`).
- ``pid-redundancy``, ``pid-unique-1``, ``pid-unique-2``, ``pid-synergy``: ``(x1, x2, target)``, one part
  of :func:`~iblearn.functional.pid` (the minimum-MI redundancy of Barrett 2015).

Continuous arrays are float64; the arrays named in ``labels`` are int64 class labels (a discrete
system, or a discrete Z). Where the density is known, ``pointwise(*arrays)`` gives the information of
each sample (``-sum_S c_S log p(x_S)`` for a measure ``sum_S c_S h(X_S)``; per step for a series), whose
mean is the truth: the tests check every truth against it by Monte Carlo, or against a second closed
form. Sampling is vectorized (a series is one loop over its steps) and seeded, so a draw is cheap and
the same for the same ``(n, seed)``.

References:
    T. Schreiber. Measuring information transfer. Phys. Rev. Lett. 85, 461 (2000).
    P. Williams, R. Beer. Nonnegative decomposition of multivariate information. arXiv:1004.2515 (2010).
    R. Arellano-Valle, J. Contreras-Reyes, M. Genton. Shannon entropy and mutual information for
    multivariate skew-elliptical distributions. Scand. J. Stat. 40, 42 (2013): the Student-t entropies.
    A. Barrett. Exploration of synergistic and redundant information sharing in static and dynamical
    Gaussian systems. Phys. Rev. E 91, 052802 (2015): the minimum-MI PID of Gaussian sources.
    F. Rosas, P. Mediano, M. Gastpar, H. Jensen. Quantifying high-order interdependencies via
    multivariate extensions of the mutual information. Phys. Rev. E 100, 032305 (2019).

Example:
    >>> task = get_exact_task("cmi-gauss-1x1x1")
    >>> x, y, z = task.sample(1000, seed=0)
    >>> tuple(x.shape), task.family, task.measure, round(task.truth, 4)
    ((1000, 1), 'cmi', 'cmi', 0.0393)
    >>> len(exact_tasks()) >= 100
    True
"""

from __future__ import annotations

import functools

from iblearn import _checks as V
from iblearn.data import exact_families as F
from iblearn.data.exact_task import FAMILIES, PID_PARTS, ExactTask, embed, te_samples

__all__ = ["FAMILIES", "PID_PARTS", "ExactTask", "embed", "exact_tasks", "get_exact_task", "te_samples"]


# ------------------------------------------------------------------------------------------ the registry
@functools.cache
def _registry() -> dict[str, ExactTask]:
    tasks = [*F.cmi_tasks(), *F.te_tasks(), *F.multivariate_tasks(), *F.mi_tasks()]
    out = {t.name: t for t in tasks}
    if len(out) != len(tasks):
        raise RuntimeError("exact tasks: two tasks share a name")
    return out


def exact_tasks(family: str | None = None) -> list[ExactTask]:
    """Every task with an exact answer, in a fixed order (by family: cmi, te, multivariate, mi), or
    those of one ``family``.

    Example:
        >>> {f: len(exact_tasks(f)) >= 10 for f in FAMILIES}
        {'cmi': True, 'te': True, 'multivariate': True, 'mi': True}
    """
    tasks = list(_registry().values())
    if family is None:
        return tasks
    V.choice(family, "family", FAMILIES)
    return [t for t in tasks if t.family == family]


def get_exact_task(name: str) -> ExactTask:
    """The task called ``name`` (:func:`exact_tasks` lists them).

    Example:
        >>> task = get_exact_task("o-synergy-3")
        >>> task.measure, round(task.truth, 4)  # O < 0: synergy
        ('o', -0.5108)
    """
    tasks = _registry()
    if name not in tasks:
        raise ValueError(f"name: unknown exact task {name!r}; exact_tasks() lists the {len(tasks)} names")
    return tasks[name]
