"""Tasks whose value of an information measure is known exactly: one type, :class:`Task`, for MI,
conditional MI, transfer entropy, active information storage and the multivariate measures.

Every task has a ``name``, the ``measure`` its ``truth`` (nats) is a value of, its ``family``
(``"cmi"``, ``"te"``, ``"ais"``, ``"multivariate"``, ``"mi"``, ``"pid"``), a description, and
``sample(n, seed)`` returning the arrays that measure takes, so a test reads
``assert float(est(x, y)) == approx(task.truth, ...)`` (the pattern of the bmi benchmark, Czyz et al.
2023, whose MI tasks these follow):

- ``mi``: ``(x, y)``, as :func:`~iblearn.functional.ksg_mi` takes them; ``mutual_information``,
  ``dim_x``, ``dim_y`` and ``y_discrete`` (labels ``(N,)``, always second) describe them.
- ``cmi``: ``(x, y, z)``, z floats or int64 class labels (:func:`~iblearn.functional.ksg_cmi`).
- ``te``: ``(source, target)`` series of ``n + max(lag, history)`` steps, so that
  :func:`~iblearn.functional.transfer_entropy` with ``task.options`` (``lag``, ``history``) sees ``n``
  samples.
- ``cte``: ``(source, target, condition)``, the conditional transfer entropy ``I(target_t;
  source_{t-lag} | target_{t-1..t-history}, condition_{t-1..t-history})``; :func:`te_samples` gives the
  three arguments of that CMI (and of a ``te`` task's).
- ``ais``: ``(series,)`` of ``n + history`` steps, so that
  :func:`~iblearn.functional.information_dynamics.active_information_storage` with ``task.options``
  (``history``) sees ``n`` samples; :func:`ais_samples` gives the two arguments of the MI it is.
- ``tc``, ``dtc``, ``o``, ``s``: ``(x,)``, ``(N, d)`` whose variables are its columns or
  ``options["blocks"]`` (:func:`~iblearn.functional.total_correlation` and the others).
- ``ii``: ``(x, y, z)`` (:func:`~iblearn.functional.interaction_information`).
- ``pid-redundancy``, ``pid-unique-1``, ``pid-unique-2``, ``pid-synergy``: ``(x1, x2, target)``, one part
  of :func:`~iblearn.functional.pid` (the minimum-MI redundancy of Barrett 2015).
- ``pid``: ``(x1, x2, target)``; ``truth`` is ``I(X1, X2; T)`` and ``options["atoms"]`` maps each
  redundancy measure to its exact ``(redundancy, unique_1, unique_2, synergy)``
  (:mod:`iblearn.data.tasks.pid`: gates through labels, Gaussian systems).

Continuous arrays are float64; the arrays named in ``labels`` are int64 class labels (a discrete
system, a discrete Z, a class label Y). Where the density is known, ``pointwise(*arrays)`` gives the
information of each sample (``-sum_S c_S log p(x_S)`` for a measure ``sum_S c_S h(X_S)``; per step for a
series), whose mean is the truth: the tests check every truth against it by Monte Carlo, or against a
second closed form. Sampling is vectorized (a series is one loop over its steps) and seeded, so a draw
is cheap and the same for the same ``(n, seed)``.

Where things are: the type and the measures as sums of entropies in :mod:`~iblearn.data.tasks.base`;
the builders by kind of joint in :mod:`~iblearn.data.tasks.gaussian`,
:mod:`~iblearn.data.tasks.student`, :mod:`~iblearn.data.tasks.discrete`,
:mod:`~iblearn.data.tasks.series` (VAR processes), :mod:`~iblearn.data.tasks.mixtures` and
:mod:`~iblearn.data.tasks.labels` (class means and class densities given labels); the tasks
with exact answers as rows of :mod:`~iblearn.data.tasks.tables`; the lists and look-ups by name in
:mod:`~iblearn.data.tasks.registry`. A new task is a row of a table, or a builder and its row.

References:
    T. Schreiber. Measuring information transfer. Phys. Rev. Lett. 85, 461 (2000).
    P. Williams, R. Beer. Nonnegative decomposition of multivariate information. arXiv:1004.2515 (2010).
    R. Arellano-Valle, J. Contreras-Reyes, M. Genton. Shannon entropy and mutual information for
    multivariate skew-elliptical distributions. Scand. J. Stat. 40, 42 (2013): the Student-t entropies.
    A. Barrett. Exploration of synergistic and redundant information sharing in static and dynamical
    Gaussian systems. Phys. Rev. E 91, 052802 (2015): the minimum-MI PID of Gaussian sources.
    W. Gao, S. Kannan, S. Oh, P. Viswanath. Estimating mutual information for discrete-continuous
    mixtures. NeurIPS (2017).
    F. Rosas, P. Mediano, M. Gastpar, H. Jensen. Quantifying high-order interdependencies via
    multivariate extensions of the mutual information. Phys. Rev. E 100, 032305 (2019).
    P. Czyz, F. Grabowski, J. Vogt, N. Beerenwinkel, A. Marx. Beyond normal: on the evaluation of mutual
    information estimators. NeurIPS (2023).

Example:
    >>> task = get_exact_task("cmi-gauss-1x1x1")
    >>> x, y, z = task.sample(1000, seed=0)
    >>> tuple(x.shape), task.family, task.measure, round(task.truth, 4)
    ((1000, 1), 'cmi', 'cmi', 0.0393)
    >>> len(exact_tasks()) >= 100
    True
    >>> round(get_task("bivariate-normal-0.75").mutual_information, 4)
    0.4133
"""

from iblearn.data.tasks.base import FAMILIES, PID_PARTS, Task
from iblearn.data.tasks.discrete import discrete_task
from iblearn.data.tasks.gaussian import (
    bivariate_normal,
    dense_gaussian,
    gaussian_task,
    high_mi,
    sparse_gaussian,
)
from iblearn.data.tasks.labels import class_densities, class_means, label_tasks
from iblearn.data.tasks.mixtures import additive_uniform, categorical_uniform, sign_mixture, zero_inflated
from iblearn.data.tasks.registry import exact_tasks, get_exact_task, get_task, mi_tasks, standard_tasks
from iblearn.data.tasks.series import ais_samples, embed, te_samples, var_task
from iblearn.data.tasks.student import student_t, student_task

__all__ = [
    "FAMILIES",
    "PID_PARTS",
    "Task",
    "additive_uniform",
    "ais_samples",
    "bivariate_normal",
    "categorical_uniform",
    "class_densities",
    "class_means",
    "dense_gaussian",
    "discrete_task",
    "embed",
    "exact_tasks",
    "gaussian_task",
    "get_exact_task",
    "get_task",
    "high_mi",
    "label_tasks",
    "mi_tasks",
    "sign_mixture",
    "sparse_gaussian",
    "standard_tasks",
    "student_t",
    "student_task",
    "te_samples",
    "var_task",
    "zero_inflated",
]
