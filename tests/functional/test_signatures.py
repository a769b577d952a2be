"""Functions of one family state their shared keywords each (CONTRIBUTING, "Repetition that stays"):
these tests keep the copies from drifting apart in name, kind or default."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

import iblearn.functional as ibf
from iblearn.estimators import KSG, MixedKSG
from iblearn.functional.renyi.entropy import DEFAULT_ALPHA, DEFAULT_SIGMA

KNN_FAMILY: tuple[Callable[..., Any], ...] = (
    ibf.ksg_mi,
    ibf.ksg_pmi,
    ibf.ksg_mi_pairs,
    ibf.pairwise_mi,
    ibf.ksg_cmi,
    ibf.transfer_entropy,
    ibf.mixed_ksg_mi,
    KSG,
    MixedKSG,
    ibf.total_correlation,
    ibf.dual_total_correlation,
    ibf.o_information,
    ibf.s_information,
    ibf.interaction_information,
    ibf.pid,
    ibf.o_information_search,
    ibf.multivariate_estimate,
    ibf.pid_estimate,
    ibf.transfer_entropy_matrix,
)
MULTIVARIATE_FAMILY = (
    ibf.total_correlation,
    ibf.dual_total_correlation,
    ibf.o_information,
    ibf.s_information,
    ibf.interaction_information,
    ibf.pid,
    ibf.o_information_search,
    ibf.multivariate_estimate,
    ibf.pid_estimate,
)
#: The many-variable functions run their batches through joblib, one process by default.
PARALLEL_FAMILY = (
    ibf.pairwise_mi,
    ibf.ksg_mi_pairs,
    ibf.transfer_entropy_matrix,
    ibf.o_information_search,
    ibf.multivariate_estimate,
    ibf.pid_estimate,
)
KNN_KEYWORDS = {"standardize": True, "ties": "jitter", "backend": "auto", "seed": 0}

#: The measures of many variables also share their estimator and its bias correction.
MULTIVARIATE_KEYWORDS = {"method": "ksg", "bias_correction": True}

RENYI_FAMILY = (ibf.renyi_mi, ibf.renyi_entropy, ibf.renyi_joint_entropy)


def _parameters(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)


@pytest.mark.parametrize("fn", KNN_FAMILY, ids=lambda fn: fn.__name__)
def test_knn_family_shares_its_search_keywords(fn: Callable[..., Any]) -> None:
    params = _parameters(fn)
    assert params["k"].default == 3
    if "variant" in params:
        assert params["variant"].default == 1
    for name, default in KNN_KEYWORDS.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params[name].default == default, name


@pytest.mark.parametrize("fn", MULTIVARIATE_FAMILY, ids=lambda fn: fn.__name__)
def test_multivariate_measures_share_their_estimator_keywords(fn: Callable[..., Any]) -> None:
    params = _parameters(fn)
    for name, default in MULTIVARIATE_KEYWORDS.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params[name].default == default, name


@pytest.mark.parametrize("fn", PARALLEL_FAMILY, ids=lambda fn: fn.__name__)
def test_many_variable_functions_share_n_jobs(fn: Callable[..., Any]) -> None:
    param = _parameters(fn)["n_jobs"]
    assert param.kind is inspect.Parameter.KEYWORD_ONLY and param.default is None


@pytest.mark.parametrize("fn", RENYI_FAMILY, ids=lambda fn: fn.__name__)
def test_renyi_family_shares_alpha_and_kernel_width(fn: Callable[..., Any]) -> None:
    params = _parameters(fn)
    assert params["alpha"].default == DEFAULT_ALPHA
    widths = [p for name, p in params.items() if name.startswith("sigma")]
    assert widths and all(p.default == DEFAULT_SIGMA for p in widths)
    channels = [p for name, p in params.items() if name.startswith("channels")]
    assert channels and all(p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is False for p in channels)
