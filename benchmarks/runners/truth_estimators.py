"""The estimators of benchmarks/truth.py, iblearn's and its peers', and a worker process that runs them.

Run as a script (``python truth_estimators.py``), it is a worker: it reads one JSON request a line
from stdin (``{"estimator", "measure", "data", "options", "labels"}``, ``data`` an ``.npz`` of the
task's arrays ``a0, a1, ..`` and, for a series, the samples of its conditional MI ``e0, e1, e2``),
runs the estimator on one thread and writes ``{"estimate", "seconds"}`` (``seconds``: the CPU time of
the call, every thread of the worker counted, so that other work on the machine does not inflate it)
or ``{"failed"}`` as one line;
``iblearn auto`` (the front door, :func:`iblearn.estimate`) adds its interval (``lower``, ``upper``),
``reliable``, the estimator it ``chosen`` and its ``caveat``.
The first call of an estimator on a measure runs once untimed on the first 300 rows, so that imports
and just-in-time compilation (numba, jax) are not counted. Only numpy is imported at the top: iblearn's
estimators run in the project's environment, the peers in theirs (benchmarks/truth.py says which).

Values are nats (hoi and dit report bits: converted).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

Array = Any
Request = dict[str, Any]
#: an estimate in nats, or (``iblearn auto``) a dict of it and what the front door says of it
Result = float | dict[str, Any]
LN2 = math.log(2)
K = 3
MULTI = ("tc", "dtc", "o", "s")
PID = ("pid-redundancy", "pid-unique-1", "pid-unique-2", "pid-synergy")

#: estimator -> the library (worker) that runs it
LIBRARY = {
    "iblearn KSG": "iblearn",
    "iblearn Gaussian": "iblearn",
    "iblearn copula": "iblearn",
    "iblearn plug-in": "iblearn",
    "iblearn auto": "iblearn",
    "NPEET-plus": "npeet",
    "tigramite CMIknn": "tigramite",
    "ennemi": "ennemi",
    "infomeasure KSG": "infomeasure",
    "hoi gc": "hoi",
    "hoi knn": "hoi",
    "THOI": "thoi",
    "dit": "dit",
}
#: the front door's name of each measure among many variables, and of each part of the PID
DOOR = {
    "tc": "total_correlation",
    "dtc": "dual_total_correlation",
    "o": "o_information",
    "s": "s_information",
    "ii": "interaction_information",
}
PARTS = dict(zip(PID, ("redundancy", "unique_1", "unique_2", "synergy"), strict=True))
#: the most rows an estimator is run on: hoi's kNN path holds the N x N distance matrix
MAX_N = {"hoi knn": 5000}


def applies(estimator: str, task: dict[str, Any]) -> bool:
    """Whether ``estimator`` computes the task's measure on arrays like its own. ``task`` has
    ``measure``, ``labels`` (positions of label arrays), ``dims`` (columns of each array), ``options``."""
    measure, labels, dims = task["measure"], set(task["labels"]), task["dims"]
    discrete = task["family"] == "multivariate" and bool(labels)
    blocks = "blocks" in task["options"]
    continuous_z = not labels
    # hoi and THOI take one column a variable
    columns = (measure in MULTI and not blocks) or (measure == "ii" and all(d == 1 for d in dims))
    if estimator == "iblearn auto":
        return True
    if measure == "ais":  # of the harness's estimators, only the library's take a series' own past
        return estimator in ("iblearn KSG", "iblearn Gaussian", "iblearn copula")
    if estimator == "iblearn plug-in" or estimator == "dit":
        return discrete
    if discrete:
        return False
    if estimator in ("iblearn KSG", "iblearn Gaussian"):
        return not (measure == "mi" and labels and estimator == "iblearn Gaussian")
    if estimator == "iblearn copula":
        return measure != "mi" or not labels
    if estimator == "NPEET-plus":
        return measure in ("mi", "te", "cte") or (measure == "cmi" and continuous_z)
    if estimator == "tigramite CMIknn":
        return measure in ("te", "cte") or (measure == "cmi" and continuous_z)
    if estimator == "ennemi":
        scalar = dims[0] == 1 and dims[1] == 1
        return scalar and not labels and measure in ("mi", "cmi")
    if estimator == "infomeasure KSG":
        if measure in ("te", "cte"):  # its conditional TE takes no source delay beyond one step
            return all(d == 1 for d in dims) and (measure == "te" or task["options"]["lag"] == 1)
        return (measure in ("mi", "cmi") and continuous_z) or (measure == "tc" and not blocks)
    if estimator in ("hoi gc", "hoi knn"):
        pid_ok = (
            measure in ("pid-redundancy", "pid-synergy") and dims[0] == dims[1] == 1 and estimator == "hoi gc"
        )
        return columns or pid_ok
    if estimator == "THOI":
        return columns
    return False


# --------------------------------------------------------------------------------------------- iblearn
def _iblearn(estimator: str, measure: str, a: list[Array], e: list[Array], options: dict[str, Any]) -> Result:
    import torch

    import iblearn.functional as ibf
    from iblearn.functional.information_dynamics import active_information_storage
    from iblearn.functional.knn.transfer import ksg_transfer_entropy
    from iblearn.functional.multivariate.inputs import copula_normal

    t = [torch.from_numpy(v) for v in a]
    if estimator == "iblearn plug-in":
        return _plug_in(measure, a)
    if estimator == "iblearn auto":
        return _auto(measure, a, options)
    method = {"iblearn KSG": "ksg", "iblearn Gaussian": "gaussian", "iblearn copula": "copula"}[estimator]
    if measure == "ais":
        return float(active_information_storage(t[0], options["history"], method, k=K))
    if measure in MULTI:
        f = {
            "tc": ibf.total_correlation,
            "dtc": ibf.dual_total_correlation,
            "o": ibf.o_information,
            "s": ibf.s_information,
        }[measure]
        return float(f(t[0], options.get("blocks"), method=method))
    if measure == "ii":
        return float(ibf.interaction_information(*t, method=method))
    if measure in PID:
        return float(ibf.pid(*t, method=method)[PID.index(measure)])
    if measure in ("te", "cte"):
        x, y, z = (torch.from_numpy(v) for v in e)
        if measure == "te" and method == "ksg":
            return float(ksg_transfer_entropy(t[0], t[1], options["lag"], options["history"], K))
    elif measure == "cmi":
        x, y, z = t
    else:  # mi
        x, y = t
        if method == "ksg":
            return float(ibf.mixed_ksg_mi(x, y, K) if not y.is_floating_point() else ibf.ksg_mi(x, y, K))
        if method == "copula":
            x, y = copula_normal(x), copula_normal(y)
        return float(ibf.gaussian_mi(x, y))
    if method == "ksg":
        return float(ibf.ksg_cmi(x, y, z, K))
    if method == "copula":
        x, y = copula_normal(x), copula_normal(y)
        z = copula_normal(z) if z.is_floating_point() else z
    return float(ibf.gaussian_cmi(x, y, z))


def _auto(measure: str, a: list[Array], options: dict[str, Any]) -> dict[str, Any]:
    """The front door's automatic estimate (:func:`iblearn.estimate`, ``method="auto"``) of the task's
    measure from its own arrays: its value, interval, verdict, choice and caveat."""
    from iblearn import estimate as door

    if measure in ("te", "cte"):
        condition = {"condition": a[2]} if measure == "cte" else {}
        est = door("te", a[0], a[1], lag=options["lag"], history=options["history"], **condition)
    elif measure == "ais":
        est = door("ais", a[0], history=options["history"])
    elif measure in PID:
        est = door("pid", *a)[PARTS[measure]]
    elif measure == "ii":  # three variables, each its columns
        cols = [v.reshape(len(v), -1) for v in a]
        edges = np.cumsum([0] + [c.shape[1] for c in cols])
        blocks = [list(range(lo, hi)) for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True)]
        est = door(DOOR[measure], np.hstack(cols), blocks=blocks)
    elif measure in DOOR:
        est = door(DOOR[measure], a[0], blocks=options.get("blocks"))
    else:  # mi, cmi
        est = door(measure, *a)
    low, high = est.interval if est.interval is not None else (None, None)
    return {
        "estimate": float(est),
        "lower": low,
        "upper": high,
        "reliable": est.reliable,
        "chosen": est.report.chosen,
        "caveat": None if est.caveat is None else est.caveat[:200],
    }


def _plug_in(measure: str, a: list[Array]) -> float:
    """Plug-in entropies of the observed symbols (:func:`iblearn.functional.discrete_entropy`) combined
    into the measure."""
    import torch

    import iblearn.functional as ibf
    from iblearn.data.tasks.base import entropy_terms

    v = np.column_stack([x.reshape(len(x), -1) for x in a])
    t = torch.from_numpy(v)

    def h(cols: tuple[int, ...]) -> float:
        return float(ibf.discrete_entropy(t[:, list(cols)]))

    groups = [[j] for j in range(v.shape[1])]
    if measure in PID:
        one = h((0,)) + h((2,)) - h((0, 2))
        two = h((1,)) + h((2,)) - h((1, 2))
        joint = h((0, 1)) + h((2,)) - h((0, 1, 2))
        red = min(one, two)
        return (red, one - red, two - red, joint - one - two + red)[PID.index(measure)]
    return sum(c * h(cols) for c, cols in entropy_terms(measure, groups))


# ------------------------------------------------------------------------------------------------ peers
def _npeet(measure: str, a: list[Array], e: list[Array]) -> float:
    from npeet_plus import estimators as npeet

    if measure == "mi":
        if a[1].dtype.kind == "i":
            return float(npeet.micd(a[0], a[1].reshape(-1, 1), k=K, base=np.e, warning=False))
        return float(npeet.mi(a[0], a[1], k=K, base=np.e))
    x, y, z = e if measure in ("te", "cte") else a
    return float(npeet.cmi(x, y, z, k=K, base=np.e))


def _tigramite(measure: str, a: list[Array], e: list[Array]) -> float:
    from tigramite.independence_tests.cmiknn import CMIknn

    x, y, z = e if measure in ("te", "cte") else a
    test = CMIknn(knn=K, transform="standardize", workers=1, seed=0)
    xyz = np.array([0] * x.shape[1] + [1] * y.shape[1] + [2] * z.shape[1])
    return float(test.get_dependence_measure(np.hstack([x, y, z]).T.copy(), xyz))


def _ennemi(measure: str, a: list[Array], e: list[Array]) -> float:
    from ennemi import estimate_mi

    cond = a[2] if measure == "cmi" else None
    return float(np.asarray(estimate_mi(a[1][:, 0], a[0][:, 0], cond=cond, k=K, max_threads=1)).ravel()[0])


def _infomeasure(measure: str, a: list[Array], e: list[Array], options: dict[str, Any]) -> float:
    import infomeasure as im

    if measure == "mi":
        return float(im.mi(a[0], a[1], approach="ksg", k=K, base="e"))
    if measure == "cmi":
        return float(im.cmi(a[0], a[1], cond=a[2], approach="ksg", k=K, base="e"))
    if measure == "tc":
        return float(im.mi(*a[0].T, approach="ksg", k=K, base="e"))
    # prop_time: the source's delay beyond one step; dest_hist_len: the target's past samples
    settings = dict(approach="ksg", k=K, base="e", src_hist_len=1, dest_hist_len=options["history"])
    if measure == "te":
        return float(im.te(a[0][:, 0], a[1][:, 0], prop_time=options["lag"] - 1, **settings))
    return float(
        im.cte(a[0][:, 0], a[1][:, 0], cond=a[2][:, 0], cond_hist_len=options["history"], **settings)
    )


def _hoi(estimator: str, measure: str, a: list[Array]) -> float:
    import hoi.metrics as hm

    method = "knn" if estimator == "hoi knn" else "gc"
    if method == "gc":
        import jax

        jax.config.update("jax_enable_x64", True)
    if measure in PID:
        cls = hm.RedundancyMMI if measure == "pid-redundancy" else hm.SynergyMMI
        x = np.hstack([a[0], a[1]])
        return LN2 * float(
            np.asarray(cls(x, a[2], verbose=False).fit(minsize=2, maxsize=2, method=method)).ravel()[0]
        )
    x = np.hstack(a)
    m = x.shape[1]
    cls = {"tc": hm.TC, "dtc": hm.DTC, "o": hm.Oinfo, "ii": hm.Oinfo, "s": hm.Sinfo}[measure]
    return LN2 * float(np.asarray(cls(x, verbose=False).fit(minsize=m, maxsize=m, method=method)).ravel()[0])


def _thoi(measure: str, a: list[Array]) -> float:
    import torch
    from thoi.measures.gaussian_copula import nplets_measures

    x = np.hstack(a)
    column = {"tc": 0, "dtc": 1, "o": 2, "ii": 2, "s": 3}[measure]
    return float(nplets_measures(x, torch.arange(x.shape[1])[None], verbose=40)[0, 0, column])


def _dit(measure: str, a: list[Array]) -> float:
    import dit

    rows = np.column_stack([x.reshape(len(x), -1) for x in a])
    outcomes, counts = np.unique(rows, axis=0, return_counts=True)
    d = dit.Distribution([tuple(r) for r in outcomes.tolist()], (counts / counts.sum()).tolist())
    mv = dit.multivariate
    if measure in PID:
        p = dit.pid.PID_MMI(d, [[0], [1]], [2])
        node = {
            "pid-redundancy": ((0,), (1,)),
            "pid-unique-1": ((0,),),
            "pid-unique-2": ((1,),),
            "pid-synergy": ((0, 1),),
        }[measure]
        return LN2 * float(p.get_pi(node))
    values = {
        "tc": mv.total_correlation,
        "dtc": mv.dual_total_correlation,
        "o": mv.o_information,
        "ii": mv.coinformation,
        "s": lambda q: mv.total_correlation(q) + mv.dual_total_correlation(q),
    }
    return LN2 * float(values[measure](d))


def estimate(estimator: str, measure: str, a: list[Array], e: list[Array], options: dict[str, Any]) -> Result:
    """One estimate, nats (``iblearn auto``: a dict with its interval, verdict and choice)."""
    calls: dict[str, Callable[[], Result]] = {
        "npeet": lambda: _npeet(measure, a, e),
        "tigramite": lambda: _tigramite(measure, a, e),
        "ennemi": lambda: _ennemi(measure, a, e),
        "infomeasure": lambda: _infomeasure(measure, a, e, options),
        "hoi": lambda: _hoi(estimator, measure, a),
        "thoi": lambda: _thoi(measure, a),
        "dit": lambda: _dit(measure, a),
        "iblearn": lambda: _iblearn(estimator, measure, a, e, options),
    }
    return calls[LIBRARY[estimator]]()


# ---------------------------------------------------------------------------------------------- worker
def _load(path: str, labels: list[int]) -> tuple[list[Array], list[Array]]:
    with np.load(path) as data:
        a = [data[f"a{i}"] for i in range(sum(k.startswith("a") for k in data.files))]
        e = [data[f"e{i}"] for i in range(3)] if "e0" in data.files else []
    a = [v.astype(np.int64) if i in labels else v.astype(np.float64) for i, v in enumerate(a)]
    return a, e


def serve() -> None:
    """Answer requests from stdin until it closes."""
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    warm: set[tuple[str, str]] = set()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            a, e = _load(request["data"], request["labels"])
            key = (request["estimator"], request["measure"])
            if key not in warm:
                warm.add(key)
                try:
                    estimate(
                        request["estimator"],
                        request["measure"],
                        [v[:300] for v in a],
                        [v[:300] for v in e],
                        request["options"],
                    )
                except Exception:  # a small sample may not suit the estimator; the timed call says
                    pass
            start = time.process_time()
            value = estimate(request["estimator"], request["measure"], a, e, request["options"])
            seconds = time.process_time() - start
            answer = (
                {**value, "seconds": seconds}
                if isinstance(value, dict)
                else {"estimate": value, "seconds": seconds}
            )
        except Exception as err:  # a peer fails in its own ways: a row says how
            answer = {"failed": f"{type(err).__name__}: {str(err)[:200]}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    serve()
