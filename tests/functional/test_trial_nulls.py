"""The p-values of transfer entropy and active information storage over trials against their two nulls:
whole trials of the past permuted against the present (``null="trials"``) and the past shifted in time
within each trial (``null="shift"``), and ``"auto"``'s choice between them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn.functional.cmi_surrogates import GaussianCMI, condition
from iblearn.functional.information_dynamics import (
    NULLS,
    active_information_storage,
    null_kind,
    permutation_fields,
    transfer_entropy,
)

torch.set_num_threads(1)


def _coupled(trials: int = 30, steps: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x iid N(0, 1) and y_t = 0.5 y_{t-1} + 0.6 x_{t-1} + e_t, ``(trials, steps)`` each."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((trials, steps))
    y = np.zeros((trials, steps))
    y[:, 0] = rng.standard_normal(trials) * math.sqrt(1.36 / 0.75)
    for t in range(1, steps):
        y[:, t] = 0.5 * y[:, t - 1] + 0.6 * x[:, t - 1] + rng.standard_normal(trials)
    return x, y


@pytest.mark.parametrize("method", ["gaussian", "ksg"])
@pytest.mark.parametrize("null", ["trials", "shift"])
def test_a_planted_coupling_over_thirty_trials_has_the_smallest_p_value(method: str, null: str) -> None:
    x, y = _coupled()
    est = transfer_entropy(list(x), list(y), method=method, n_permutations=19, null=null)
    assert est.p_value is not None and est.p_value <= 2 / 20
    assert est.null == NULLS[null] and est.n_permutations == 19


def test_a_source_from_other_trials_is_not_found_coupled_on_most_seeds() -> None:
    p_values = []
    for seed in range(6):
        x, y = _coupled(seed=seed)
        other = np.roll(x, 1, axis=0)  # trial r's target against trial r - 1's source
        for null in ("trials", "shift"):
            est = transfer_entropy(list(other), list(y), method="gaussian", n_permutations=39, null=null)
            p_values.append(est.p_value)
    assert sum(p > 0.1 for p in p_values) >= 8


def test_auto_permutes_trials_of_one_length_and_enough_of_them_else_shifts() -> None:
    assert null_kind("auto", (99,) * 30, 200) == "trials"
    assert null_kind("auto", (99,) * 9, 200) == "shift"  # fewer than serial.MIN_TRIALS
    assert null_kind("auto", (99,) * 29 + (80,), 200) == "shift"  # unequal lengths
    assert null_kind("auto", (500,), 200) == "shift"  # one series
    x, y = _coupled(trials=12, steps=60)
    assert transfer_entropy(list(x), list(y), method="gaussian", n_permutations=9).null == NULLS["trials"]
    few = transfer_entropy(list(x[:5]), list(y[:5]), method="gaussian", n_permutations=9)
    assert few.null == NULLS["shift"]
    one = transfer_entropy(x.reshape(-1), y.reshape(-1), method="gaussian", n_permutations=9)
    assert one.null == NULLS["shift"]


def test_trials_are_refused_where_they_cannot_be_permuted_naming_null() -> None:
    x, y = _coupled(trials=12, steps=60)
    uneven_x = [t if r != 3 else t[:-5] for r, t in enumerate(x)]
    uneven_y = [t if r != 3 else t[:-5] for r, t in enumerate(y)]
    with pytest.raises(ValueError, match=r"^null: 'trials' .*one length"):
        transfer_entropy(uneven_x, uneven_y, method="gaussian", n_permutations=9, null="trials")
    with pytest.raises(ValueError, match=r"^null: 'trials' .*one length"):
        active_information_storage(uneven_y, method="gaussian", n_permutations=9, null="trials")
    with pytest.raises(ValueError, match=r"^null: 'trials' .*one series"):
        transfer_entropy(x[0], y[0], method="gaussian", n_permutations=9, null="trials")
    with pytest.raises(ValueError, match=r"^null: 'trials' .*4 trials have 24 orders"):
        transfer_entropy(list(x[:4]), list(y[:4]), method="gaussian", n_permutations=99, null="trials")
    with pytest.raises(ValueError, match=r"^null: "):
        transfer_entropy(list(x), list(y), n_permutations=9, null="local")
    # Unequal lengths shift within each trial, as asked or by default.
    for null in ("auto", "shift"):
        est = transfer_entropy(uneven_x, uneven_y, method="gaussian", n_permutations=9, null=null)
        assert est.null == NULLS["shift"]


def test_a_null_without_permutations_is_refused_naming_both() -> None:
    from iblearn import estimate
    from iblearn.functional.knn import transfer_entropy_estimate

    x, y = _coupled(trials=12, steps=60)
    refused = r"^null: '(trials|shift)' .*n_permutations"
    with pytest.raises(ValueError, match=refused):
        transfer_entropy(list(x), list(y), method="gaussian", null="trials")
    with pytest.raises(ValueError, match=refused):
        active_information_storage(list(y), method="gaussian", null="shift")
    with pytest.raises(ValueError, match=refused):
        transfer_entropy_estimate(x[0], y[0], null="shift")
    for measure, args in (("te", (x[0], y[0])), ("ais", (y[0],))):
        for method in ("auto", "ksg", "gaussian"):
            with pytest.raises(ValueError, match=refused):
                estimate(measure, *args, method=method, null="shift")
    assert transfer_entropy(list(x), list(y), method="gaussian", null="auto").p_value is None


def test_permutation_fields_refuses_a_plan_that_does_not_fit_the_rows() -> None:
    rng = np.random.default_rng(0)
    y, c, z = rng.standard_normal(100), rng.standard_normal((100, 1)), rng.standard_normal((100, 1))
    cond = condition(y, z)
    assert permutation_fields(GaussianCMI(), cond, c, 0.1, ((10,) * 10, 9, "shift", 0))["n_permutations"] == 9
    for plan, match in (
        (((10,) * 10, 9, "local", 0), r"^null: expected one of 'trials', 'shift'"),  # a KeyError
        (((10,) * 5, 9, "shift", 0), r"^segments: 50 rows in all, but c has 100"),  # a p-value of half
        (((10,) * 10, 0, "shift", 0), r"^n_permutations: expected a positive integer"),  # p = 1 of none
    ):
        with pytest.raises(ValueError, match=match):
            permutation_fields(GaussianCMI(), cond, c, 0.1, plan)


def test_the_surrogates_are_drawn_from_the_seed() -> None:
    x, y = _coupled(seed=1)
    other = list(np.roll(x, 1, axis=0))
    for null in ("trials", "shift"):
        p = [
            transfer_entropy(other, list(y), method="gaussian", n_permutations=49, null=null, seed=s).p_value
            for s in (0, 0, 1, 2, 3)
        ]
        assert p[0] == p[1] and len(set(p[1:])) > 1


def test_storage_of_trials_against_either_null() -> None:
    """AIS's null is the past taken apart from the present: the past of another trial, or the past
    shifted within the trial."""
    _, y = _coupled()
    p_values = []
    for null in ("trials", "shift"):
        stored = active_information_storage(list(y), method="gaussian", n_permutations=19, null=null)
        assert stored.p_value <= 2 / 20 and stored.null == NULLS[null]
        for seed in range(6):
            white = np.random.default_rng(seed).standard_normal((30, 100))
            none = active_information_storage(list(white), method="gaussian", n_permutations=39, null=null)
            p_values.append(none.p_value)
    assert sum(p > 0.1 for p in p_values) >= 8
    knn = active_information_storage(list(y), method="ksg", n_permutations=19)
    assert knn.p_value <= 2 / 20 and knn.null == NULLS["trials"]
