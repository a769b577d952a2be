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


def test_features_read_the_ties_from_the_scores_sort_as_from_their_own():
    import numpy as np

    from iblearn.data import student_t
    from iblearn.estimation.choose import features
    from iblearn.functional.multivariate.inputs import ranked_normal

    x, y = student_t(2, 1, dof=3.0).sample(3000, seed=0)
    x[:600, 0] = 0.5  # a point mass
    y = (y * 4).round() / 4  # ties
    rx, ry = ranked_normal(x), ranked_normal(y)
    own = features(x, y, lambda: (rx.scores, ry.scores))
    shared = features(
        x, y, lambda: (rx.scores, ry.scores), lambda: np.concatenate([rx.ascending, ry.ascending])
    )
    assert shared == own and own["atom"] == 0.2 and own["ties"] > 0.9
