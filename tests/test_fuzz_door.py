"""Fuzzing the front door's answers, not only its refusals. One generated family per way an answer
has gone wrong before:

* every measure and method on small and odd inputs (constant columns, ties, repeated rows, values of
  1e-200 and 1e200, a few rows): an estimate whose interval is ordered, finite where the estimate is,
  and never a point on a non-zero estimate; or a ``ValueError`` that names an argument;
* the series measures at any scale: the answer of the series at unit scale (standard deviations,
  least-squares fits and moments once read 1e-200 as 0 and 1e200 as inf);
* a linear relation, given a condition or not: the Gaussian estimate is ``inf``, never the logarithm
  of its round-off;
* an estimate below 0: an interval from 0 that keeps its width, never the point ``[0, 0]``.

Derandomized. The default families take a few seconds; the wide sweep is marked slow
(``make test-all``).
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import iblearn
from iblearn import functional as ibf
from tests.test_fuzz import FUZZ

torch.set_num_threads(1)
FEW = settings(FUZZ, max_examples=12)
MANY = settings(FUZZ, max_examples=400)

#: (measure, variables, method, options): each measure by auto and by its named methods.
CALLS = [
    ("mi", 2, "auto", {}),
    ("mi", 2, "ksg", {"n_resamples": 8}),
    ("mi", 2, "gaussian", {"n_resamples": 8}),
    ("mi", 2, "gaussian", {"n_permutations": 9}),
    ("mi", 2, "binning", {}),
    ("cmi", 3, "auto", {}),
    ("cmi", 3, "ksg", {"n_resamples": 8}),
    ("cmi", 3, "gaussian", {"n_resamples": 8}),
    ("te", 2, "auto", {}),
    ("te", 2, "ksg", {"n_resamples": 6}),
    ("te", 2, "gaussian", {"n_resamples": 6}),
    ("te", 2, "copula", {"n_resamples": 6}),
    ("ais", 1, "auto", {}),
    ("ais", 1, "gaussian", {"n_resamples": 6}),
    ("ais", 1, "ksg", {"n_resamples": 6}),
    ("entropy", 1, "auto", {}),
    ("entropy", 1, "nsb", {}),
    ("pid", 3, "auto", {}),
    ("pid", 3, "gaussian", {"n_resamples": 6}),
    ("pid", 3, "copula", {"n_resamples": 6}),
    ("total_correlation", 1, "auto", {}),
    ("o_information", 1, "gaussian", {"n_resamples": 6}),
]
KINDS = [
    "normal",
    "constant column",
    "ties",
    "tiny",
    "huge",
    "mixed scales",
    "labels",
    "repeated rows",
    "float32",
]

#: Words a refusal may start with: the argument it names.
ARGUMENTS = (
    "x",
    "y",
    "z",
    "source",
    "target",
    "series",
    "labels",
    "data",
    "x1",
    "x2",
    "k",
    "history",
    "lag",
    "n_resamples",
    "sample counts",
)


def _variable(kind: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal((n, d))
    if kind == "constant column":
        a[:, 0] = 3.0
    elif kind == "ties":
        a = np.round(a)
    elif kind == "tiny":
        a *= 1e-200
    elif kind == "huge":
        a *= 1e200
    elif kind == "mixed scales":
        a[:, -1] *= 1e150
    elif kind == "labels":
        return rng.integers(0, 3, n)
    elif kind == "repeated rows":
        a = np.repeat(a[: -(-n // 4)], 4, axis=0)[:n]
    elif kind == "float32":
        a = a.astype(np.float32)
    return a


@st.composite
def _calls(draw: st.DrawFn) -> tuple[str, str, dict, list[np.ndarray], str]:
    measure, count, method, options = draw(st.sampled_from(CALLS))
    n = draw(st.sampled_from([3, 8, 16, 20, 40, 64, 150]))
    d = draw(
        st.sampled_from([2, 3])
        if measure in ("total_correlation", "o_information")
        else st.sampled_from([1, 2])
    )
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(count)]
    if measure == "entropy":
        values = [rng.integers(0, draw(st.sampled_from([1, 2, 5])), n)]
    else:
        values = [_variable(kind, n, d, rng) for kind in kinds]
        if measure in ("te", "ais"):
            values = [v if v.ndim == 1 else v[:, 0] for v in values]
    return measure, method, options, values, f"{measure} {method} {options} n={n} d={d} {kinds}"


def _answered(measure: str, method: str, options: dict, values: list[np.ndarray], what: str) -> None:
    """The call's estimate has a sound interval, or it is refused naming an argument."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = iblearn.estimate(measure, *values, method=method, **options)
    except (ValueError, TypeError) as err:
        named = re.match(r"[\w ,\[\]()]+:", str(err)) or str(err).startswith("k=")
        assert named and any(str(err).startswith(a) for a in ARGUMENTS), f"{what}: names no argument: {err}"
        return
    for part in result.values() if isinstance(result, dict) else [result]:
        value = float(part)
        assert not math.isnan(value), f"{what}: nan"
        if part.interval is None:
            continue
        low, high = part.interval
        assert low <= high, f"{what}: interval {part.interval}"
        if math.isfinite(value):
            assert math.isfinite(low) and math.isfinite(high), f"{what}: interval {part.interval} of {value}"
            assert low < high or value == low == 0.0, f"{what}: the point {part.interval} on {value}"


@FUZZ
@given(_calls())
def test_every_measure_answers_soundly_or_names_the_argument(call):
    _answered(*call)


@pytest.mark.slow
@MANY
@given(_calls())
def test_every_measure_answers_soundly_or_names_the_argument_wide(call):
    _answered(*call)


def _ar_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, e = np.zeros(300), rng.standard_normal(300)
    for t in range(1, 300):
        a[t] = 0.7 * a[t - 1] + e[t]
    return a, np.roll(a, 1) + rng.standard_normal(300)


@FEW
@given(
    st.sampled_from([1e-200, 1e-160, 1e-20, 1e20, 1e160, 1e200]),
    st.sampled_from(
        [("ais", "auto"), ("ais", "gaussian"), ("te", "auto"), ("te", "gaussian"), ("te", "ksg")]
    ),
    st.integers(0, 3),
)
def test_series_measures_read_the_same_at_any_scale(scale, call, seed):
    measure, method = call
    a, b = _ar_pair(seed)
    options = {} if method == "auto" else {"n_resamples": 6}
    series = (a,) if measure == "ais" else (a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unit = iblearn.estimate(measure, *series, method=method, **options)
        scaled = iblearn.estimate(measure, *(s * scale for s in series), method=method, **options)
    assert float(scaled) == pytest.approx(float(unit), rel=1e-6, abs=1e-9)
    assert scaled.interval == pytest.approx(unit.interval, rel=1e-6, abs=1e-9)
    assert scaled.report.chosen == unit.report.chosen


@FEW
@given(
    st.integers(1, 4),
    st.integers(0, 3),
    st.sampled_from([1e-150, 1e-3, 1.0, 1e3, 1e150]),
    st.integers(12, 2000),
    st.integers(0, 2**16),
)
def test_a_linear_relation_is_infinite_given_a_condition_or_not(dx, dz, scale, n, seed):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(n, dx, generator=g, dtype=torch.float64)
    z = torch.randn(n, max(dz, 1), generator=g, dtype=torch.float64)
    y = x @ torch.randn(dx, dx, generator=g, dtype=torch.float64) + 3.3 * scale
    if 2 * dx < n:
        assert math.isinf(float(ibf.gaussian_mi(x, y)))
    if dz and 2 * dx + dz < n:
        y = y + scale * z @ torch.randn(dz, dx, generator=g, dtype=torch.float64)
        assert math.isinf(float(ibf.gaussian_cmi(x, y, z)))
        assert math.isinf(float(ibf.gaussian_cmi(y, x, z)))


@FEW
@given(st.sampled_from(CALLS[:8]), st.integers(0, 2**16))
def test_an_estimate_below_zero_keeps_an_interval_from_zero(call, seed):
    measure, count, method, options = call
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal((40, 1)) for _ in range(count)]  # independent: the truth is 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = iblearn.estimate(measure, *values, method=method, **options)
    if est.interval is not None and float(est) < 0:
        assert est.interval[0] == 0.0 < est.interval[1]


def test_a_resample_that_reads_inf_is_refused_naming_n_resamples():
    # 8 rows of 2 + 2 columns: a bootstrap resample with 4 distinct rows has canonical correlations of 1.
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((8, 2)), rng.standard_normal((8, 2))
    with pytest.raises(ValueError, match=r"^n_resamples: a bootstrap resample of 8 of the 8 rows reads inf"):
        iblearn.estimate("mi", x, y, method="gaussian", n_resamples=8)


def test_a_pid_part_that_its_resamples_all_read_as_0_gets_an_interval_to_0():
    # A unique information that is max(0, I1 - I2) > 0 on the rows but 0 on each of 4 bootstrap
    # resamples (16 rows, seed 6): the interval reaches from the estimate to 0, not the point of a
    # standard error of 0.
    rng = np.random.default_rng(6)
    x1, x2, t = (rng.standard_normal((16, 1)) for _ in range(3))
    part = ibf.pid_estimate(x1, x2, t, method="gaussian", n_resamples=4)["unique_1"]
    assert part.stderr == 0.0 and float(part) > 0.0
    assert part.interval == (0.0, float(part))
