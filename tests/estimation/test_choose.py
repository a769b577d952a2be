"""The entropy estimator chosen from the counts' coincidence regime (:func:`choose_discrete_method`)."""

from __future__ import annotations

import pytest

from iblearn.estimation.choose import choose_discrete_method


def test_choice_by_coincidence_regime():
    # Well sampled with K unknown: Chao-Wang-Jost, whose RMSE the benchmark finds at or below
    # Miller-Madow's there; with K known, NSB wherever symbols repeat.
    assert choose_discrete_method([400, 300, 300])[0] == "cwj"
    assert choose_discrete_method([400, 300, 300], alphabet=3)[0] == "nsb"
    assert choose_discrete_method([1] * 50 + [2] * 10, alphabet=1000)[0] == "nsb"
    assert choose_discrete_method([1] * 50 + [2] * 10)[0] == "pym"  # 50 of 60 seen once: a heavy tail
    assert choose_discrete_method([1] * 10 + [2] * 20 + [3] * 10)[0] == "nsb"
    with pytest.warns(UserWarning, match="no symbol repeats"):
        assert choose_discrete_method([1] * 20)[0] == "plugin"
