"""Fuzzing the inputs every measure shares and the solvers beneath them. One generated family per way
an input has gone wrong before:

* the front door: complex values, a single value, no samples, a constant variable, a tensor that
  requires grad, for every measure and every variable: refused naming the variable, or read as values;
* counts past int64 and 2^53: every discrete entropy estimator at the plug-in limit, never wrapped;
* BROJA's solver on sparse and peaked tables: the marginals kept and the optimum certified;
* Phi-ID and network embedding at any scale, with constant or duplicated processes: refused naming
  ``series`` or ``data``, or the answer of the data at unit scale.

Derandomized. The door and the counts take a few seconds; the solver families are marked slow
(``make test-all``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from iblearn import estimate
from iblearn.estimation.door import MEASURES
from iblearn.functional import discrete_entropy, phiid
from iblearn.functional.discrete.entropies import METHODS
from iblearn.functional.multivariate._broja import solve_broja
from tests.test_fuzz import FUZZ

torch.set_num_threads(1)
FEW = settings(FUZZ, max_examples=10)
_CASES = [(m, n) for m, spec in MEASURES.items() for n in spec.variables]


def _good(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if name == "labels":
        return rng.integers(0, 3, n)
    return rng.normal(size=(n, 3) if name == "data" else n)


@st.composite
def _bad(draw: st.DrawFn) -> tuple[str, str, object, str]:
    """A measure, one of its variables, a bad value for it and the words its refusal must hold."""
    measure, name = draw(st.sampled_from(_CASES))
    rows = draw(st.integers(40, 80))
    kind = draw(st.sampled_from(["complex", "scalar", "empty", "constant"]))
    if kind == "complex":
        value: object = _good(name, rows, np.random.default_rng(rows)) * (1 + 1j)
        words = "holds complex values"
    elif kind == "scalar":
        value, words = draw(st.sampled_from([1.0, np.float64(2.0), torch.tensor(3.0), 7])), "single value"
    elif kind == "empty":
        value, words = np.zeros((0, 3) if name == "data" else (0,)), "is empty"
    else:
        level = draw(st.sampled_from([0.0, 1.0, -2.5, 1e-300, 1e300]))
        value, words = np.full((rows, 3) if name == "data" else rows, level), "is constant"
    return measure, name, value, words


@FUZZ
@given(_bad())
def test_the_door_refuses_what_no_measure_can_read_naming_the_variable(case) -> None:
    measure, name, value, words = case
    if measure == "entropy" and words == "is constant":
        return  # an entropy of one value is 0, and is estimated
    rng = np.random.default_rng(0)
    args = [value if n == name else _good(n, 60, rng) for n in MEASURES[measure].variables]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError) as err:
            estimate(measure, *args)
    message = str(err.value)
    assert message.startswith(f"{name}:") and words in message, message


@FUZZ
@given(
    st.lists(st.integers(1, 50), min_size=1, max_size=6),
    st.sampled_from([2**53, 2**62, 2**63, 2**64, 10**19, 10**30, 1e300]),
    st.sampled_from(["int", "float", "tensor"]),
)
def test_counts_at_any_magnitude_reach_the_plug_in_limit(base, factor, kind) -> None:
    p = np.asarray(base, dtype=float) / sum(base)
    want = float(-(p * np.log(p)).sum())
    if kind == "int":
        counts: object = [int(b) * int(factor) for b in base]
    elif kind == "float":
        counts = [float(b) * float(factor) for b in base]
    else:
        counts = torch.tensor([float(b) * float(factor) for b in base], dtype=torch.float64)
    for method in METHODS:
        value = float(discrete_entropy(counts=counts, method=method))  # type: ignore[arg-type]
        assert value == pytest.approx(want, abs=1e-9), method


@pytest.mark.slow
@FEW
@given(
    st.tuples(st.integers(2, 5), st.integers(2, 5), st.integers(2, 5)),
    st.sampled_from(["dense", "holes", "peaked", "function"]),
    st.integers(0, 2**16),
)
def test_broja_keeps_the_marginals_and_certifies_its_optimum(shape, kind, seed) -> None:
    rng = np.random.default_rng(seed)
    p = rng.random(shape)
    if kind == "holes":
        p *= rng.random(shape) < 0.5
    elif kind == "peaked":
        p = rng.dirichlet(np.full(math.prod(shape), 0.1)).reshape(shape)
    elif kind == "function":  # the target a function of the sources
        t = rng.integers(0, shape[2], shape[:2])
        p = np.zeros(shape)
        p[np.arange(shape[0])[:, None], np.arange(shape[1])[None, :], t] = rng.random(shape[:2])
    if p.sum() == 0:
        return
    p /= p.sum()
    sol = solve_broja(p)
    assert np.allclose(sol.q.sum(1), p.sum(1), atol=1e-12) and np.allclose(sol.q.sum(0), p.sum(0), atol=1e-12)
    assert 0 <= sol.gap < 1e-8  # the dense solver's certificate on these tables reaches 1.4e-9


@pytest.mark.slow
@FEW
@given(
    st.sampled_from([1e-300, 1e-150, 1.0, 1e150, 1e300]),
    st.sampled_from(["noise", "constant", "duplicate"]),
    st.integers(1, 5),
)
def test_phiid_is_scale_free_and_names_series_when_it_cannot_answer(scale, kind, lag) -> None:
    rng = np.random.default_rng(lag)
    s = rng.normal(size=(300, 2))
    for t in range(1, 300):
        s[t] += 0.5 * s[t - 1, ::-1]
    if kind == "constant":
        s[:, 0] = 1.0
    elif kind == "duplicate":
        s[:, 1] = s[:, 0]
    try:
        res = phiid(s * scale, lag=lag)
    except ValueError as err:
        assert kind != "noise" and str(err).startswith("series:"), str(err)
        return
    assert kind == "noise"
    plain = phiid(s, lag=lag)
    for name, value in plain.atoms.items():
        assert float(res.atoms[name]) == pytest.approx(float(value), abs=1e-9)
