"""The peers a benchmark compares iblearn's estimators with, as more methods of the accuracy grid
(:class:`iblearn.experiments.estimators.accuracy.Method`).

Peers come from the ``bench`` extra and are imported only when used; one that cannot be imported
is reported as unavailable, with the reason, instead of failing the run.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray
from torch import Tensor

from iblearn.experiments.estimators.accuracy import Method, continuous, one_dimensional, ours


def _np(t: Tensor) -> NDArray[Any]:
    return t.detach().cpu().numpy()


def _sklearn(x: Tensor, y: Tensor) -> float:
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    if y.is_floating_point():
        return float(mutual_info_regression(_np(x), _np(y)[:, 0], n_neighbors=3, random_state=0)[0])
    return float(mutual_info_classif(_np(x), _np(y), n_neighbors=3, random_state=0)[0])


def _ennemi(x: Tensor, y: Tensor) -> float:
    from ennemi import estimate_mi

    return float(
        np.asarray(
            estimate_mi(
                _np(y).reshape(len(y), -1)[:, 0],
                _np(x)[:, 0],
                k=3,
                discrete_y=not y.is_floating_point(),
                max_threads=1,
            )
        ).ravel()[0]
    )


def _npeet(x: Tensor, y: Tensor) -> float:
    from npeet_plus import estimators as npeet

    if y.is_floating_point():
        return float(npeet.mi(_np(x), _np(y), k=3, base=np.e))
    return float(npeet.micd(_np(x), _np(y)[:, None], k=3, base=np.e, warning=False))


def _jax_cpu() -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


def _bmi_ksg(x: Tensor, y: Tensor) -> float:
    _jax_cpu()
    from bmi.estimators.ksg import KSGEnsembleFirstEstimator

    est = KSGEnsembleFirstEstimator(neighborhoods=(3,), standardize=True, metric_x="chebyshev")
    return float(est.estimate(_np(x), _np(y)))


def _bmi_cca(x: Tensor, y: Tensor) -> float:
    _jax_cpu()
    from bmi.estimators.correlation import CCAMutualInformationEstimator

    return float(CCAMutualInformationEstimator().estimate(_np(x), _np(y)))


def peers() -> list[Method]:
    # scikit-learn and ennemi estimate MI between scalar variables (one feature at a time).
    return [
        Method("sklearn", one_dimensional, _sklearn, "sklearn"),
        Method("ennemi", one_dimensional, _ennemi, "ennemi"),
        Method("npeet-plus", lambda t: True, _npeet, "npeet_plus"),
        Method("bmi KSG", continuous, _bmi_ksg, "bmi"),
        Method("bmi CCA", continuous, _bmi_cca, "bmi"),
    ]


def all_methods() -> list[Method]:
    return ours() + peers()
