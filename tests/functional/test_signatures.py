"""The kNN measures take their shared settings one way: ``**options`` typed by one TypedDict
(:class:`KNNKeywords`, or :class:`MeasureKeywords` for the measures among many variables) and checked
once by one frozen dataclass; these tests keep every member of the family on it, and the other families'
shared keywords equal."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest
import torch

import iblearn.functional as ibf
from iblearn.estimators import KSG, MixedKSG
from iblearn.functional.knn.options import KNNKeywords, KNNOptions
from iblearn.functional.knn.transfer import ksg_transfer_entropy
from iblearn.functional.multivariate.core import MeasureKeywords, MeasureOptions
from iblearn.functional.multivariate.pid_mmi import mmi_pid
from iblearn.functional.renyi.entropy import DEFAULT_ALPHA, DEFAULT_SIGMA

#: The measures among many variables, on the kNN engine through their own options.
MULTIVARIATE_FAMILY: tuple[Callable[..., Any], ...] = (
    ibf.total_correlation,
    ibf.dual_total_correlation,
    ibf.o_information,
    ibf.s_information,
    ibf.interaction_information,
    mmi_pid,
    ibf.o_information_search,
    ibf.multivariate_estimate,
    ibf.pid_estimate,
)
KNN_FAMILY: tuple[Callable[..., Any], ...] = (
    ibf.ksg_mi,
    ibf.ksg_mi_test,
    ibf.ksg_mi_shifted,
    ibf.ksg_cmi_test,
    ibf.transfer_entropy_test,
    ibf.transfer_entropy_estimate,
    ibf.ksg_mi_pairs,
    ibf.pairwise_mi,
    ibf.layerwise_mi,
    ibf.ksg_cmi,
    ksg_transfer_entropy,
    ibf.mixed_ksg_mi,
    *MULTIVARIATE_FAMILY,
    ibf.transfer_entropy_matrix,
)
#: The estimator objects state their settings in their own signatures.
KNN_CLASSES = (KSG, MixedKSG)
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


def _options(fn: Callable[..., Any]) -> Any:
    """The TypedDict of ``fn``'s ``**options``."""
    params = _parameters(fn)
    var = [p for p in params.values() if p.kind is inspect.Parameter.VAR_KEYWORD]
    assert [p.name for p in var] == ["options"], "the shared settings come as **options"
    hints = typing.get_type_hints(fn, include_extras=True)
    (typed,) = typing.get_args(hints["options"])  # Unpack[...]
    assert not set(KNN_KEYWORDS) & set(params), "a shared setting stated again beside **options"
    return typed


@pytest.mark.parametrize("fn", KNN_FAMILY, ids=lambda fn: fn.__name__)
def test_knn_family_takes_the_shared_options(fn: Callable[..., Any]) -> None:
    params = _parameters(fn)
    if "k" in params:
        assert params["k"].default == 3
    if "variant" in params:
        assert params["variant"].default == 1
    assert set(typing.get_type_hints(_options(fn))) >= set(KNN_KEYWORDS)


def test_the_shared_options_hold_the_defaults_and_check_them() -> None:
    assert set(typing.get_type_hints(KNNKeywords)) == set(KNN_KEYWORDS)
    assert {f: getattr(KNNOptions(), f) for f in KNN_KEYWORDS} == KNN_KEYWORDS
    assert {f: getattr(MeasureOptions(), f) for f in MULTIVARIATE_KEYWORDS} == MULTIVARIATE_KEYWORDS
    assert MeasureOptions().k == 3
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ties": "drop"}, "ties"),
        ({"backend": "gpu"}, "backend"),
        ({"seed": 0.5}, "seed"),
    ]
    for bad, name in cases:
        with pytest.raises(ValueError, match=rf"^{name}: "):
            KNNOptions(**bad)
    with pytest.raises(ValueError, match=r"^method: "):
        MeasureOptions(method="kde")  # type: ignore[arg-type]


def test_a_measure_refuses_an_unknown_or_bad_setting() -> None:
    x = torch.randn(50, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(TypeError, match="standardise"):
        ibf.ksg_mi(x, x, standardise=False)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match=r"^ties: "):
        ibf.ksg_mi(x, x, ties="drop")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", KNN_CLASSES, ids=lambda cls: cls.__name__)
def test_knn_estimators_state_the_shared_defaults(cls: Callable[..., Any]) -> None:
    params = _parameters(cls)
    assert params["k"].default == 3
    for name, default in KNN_KEYWORDS.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert params[name].default == default, name


@pytest.mark.parametrize("fn", MULTIVARIATE_FAMILY, ids=lambda fn: fn.__name__)
def test_multivariate_measures_take_the_measure_options(fn: Callable[..., Any]) -> None:
    assert _options(fn) is MeasureKeywords
    assert issubclass(MeasureOptions, KNNOptions)


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
