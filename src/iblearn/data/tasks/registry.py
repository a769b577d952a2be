"""Every task by name: the MI benchmark tasks (:func:`standard_tasks`) and the tasks with exact answers
of every family (:func:`exact_tasks`: the tables of :mod:`iblearn.data.tasks.tables` and the MI
tasks)."""

from __future__ import annotations

import functools

from iblearn import _checks as V
from iblearn.data.tasks.base import FAMILIES, Task
from iblearn.data.tasks.gaussian import bivariate_normal, dense_gaussian, high_mi, sparse_gaussian
from iblearn.data.tasks.labels import label_tasks
from iblearn.data.tasks.mixtures import additive_uniform, categorical_uniform, sign_mixture, zero_inflated
from iblearn.data.tasks.pid import pid_tasks
from iblearn.data.tasks.student import student_t
from iblearn.data.tasks.tables import AIS_TABLE, CMI_TABLE, MULTIVARIATE_TABLE, TE_TABLE, expand


def standard_tasks() -> list[Task]:
    """The MI benchmark tasks, in a fixed order.

    Example:
        >>> [t.name for t in standard_tasks()][:3]
        ['bivariate-normal-0.75', 'dense-gaussian-5x5', 'dense-gaussian-25x25']
    """
    return [
        bivariate_normal(0.75),
        dense_gaussian(5),
        dense_gaussian(25),
        sparse_gaussian(3),
        sparse_gaussian(5),
        sparse_gaussian(25),
        additive_uniform(0.1),
        additive_uniform(0.75),
        categorical_uniform(5),
        student_t(2, 2, 1.0),
        *(high_mi(nats, dim) for dim in (100, 784) for nats in (2.0, 4.0, 8.0)),
    ]


def get_task(name: str) -> Task:
    """A standard task (:func:`standard_tasks`) by name."""
    tasks = {t.name: t for t in standard_tasks()}
    if name not in tasks:
        raise ValueError(f"name: unknown task {name!r}; known: {', '.join(tasks)}")
    return tasks[name]


def mi_tasks() -> list[Task]:
    """The MI tasks with exact answers: :func:`standard_tasks`, then the sign and zero-inflated
    mixtures, strong dependence of one column a side (two to four nats) and the class means given
    labels (:func:`~iblearn.data.tasks.labels.label_tasks`)."""
    mixtures = [sign_mixture(1), sign_mixture(3), zero_inflated(1), zero_inflated(3)]
    strong = [bivariate_normal(0.99), bivariate_normal(0.999), additive_uniform(0.01)]
    return [*standard_tasks(), *mixtures, *strong, *label_tasks()]


@functools.cache
def _registry() -> dict[str, Task]:
    tables = (CMI_TABLE, TE_TABLE, AIS_TABLE, MULTIVARIATE_TABLE)
    tasks = [*(task for table in tables for task in expand(table)), *mi_tasks(), *pid_tasks()]
    out = {t.name: t for t in tasks}
    if len(out) != len(tasks):
        raise RuntimeError("tasks: two tasks share a name")
    return out


def exact_tasks(family: str | None = None) -> list[Task]:
    """Every task with an exact answer, in a fixed order (by family: cmi, te, ais, multivariate, mi,
    pid), or those of one ``family``.

    Example:
        >>> {f: len(exact_tasks(f)) >= 10 for f in FAMILIES}
        {'cmi': True, 'te': True, 'ais': True, 'multivariate': True, 'mi': True, 'pid': True}
    """
    tasks = list(_registry().values())
    if family is None:
        return tasks
    V.choice(family, "family", FAMILIES)
    return [t for t in tasks if t.family == family]


def get_exact_task(name: str) -> Task:
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
