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


@pytest.mark.parametrize(("d", "read"), [(1, True), (3, True), (6, False)])
def test_features_of_gaussian_columns_read_the_scores_sort_where_ksg_could_be_chosen(d, read):
    # Up to KNN_DIMS joint columns the rule makes the scores whatever it chooses, so their sort gives
    # the ties; beyond, a Gaussian on the raw rows needs no scores, and the columns are sorted alone.
    import numpy as np

    from iblearn.data import dense_gaussian
    from iblearn.estimation.choose import features, marginals_gaussian
    from iblearn.functional.multivariate.inputs import ranked_normal

    x, y = dense_gaussian(d).sample(3000, seed=0)
    rx, ry = ranked_normal(x), ranked_normal(y)
    asked = []

    def ascending():
        asked.append(1)
        return np.concatenate([rx.ascending, ry.ascending])

    own = features(x, y, lambda: (rx.scores, ry.scores))
    shared = features(x, y, lambda: (rx.scores, ry.scores), ascending)
    assert marginals_gaussian(own) and shared == own and bool(asked) == read


def test_the_series_rule_takes_ksg_where_a_gaussian_joint_hides_a_nonmonotone_dependence():
    """TE(x -> y) with y_t = 0.3 y_(t-1) + 0.6 sin(2 x_(t-1)) + e and x i.i.d.: the lagged samples'
    scores look jointly Gaussian (Mardia about 0), and the Gaussian TE reads about 0.01 nats against
    0.0827 by quadrature (I(0.6 sin(2 X) + E; X), as x_(t-1) and e_t are independent of y's past);
    the linearity test sends it to KSG, whose interval holds the truth."""
    import numpy as np

    import iblearn

    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(2100), rng.standard_normal(2100)
    for t in range(1, len(y)):
        y[t] += 0.3 * y[t - 1] + 0.6 * np.sin(2 * x[t - 1])
    est = iblearn.estimate("te", x[100:], y[100:])
    assert est.method == "ksg"
    assert "square or cube" in est.describe()
    low, high = est.interval
    assert low <= 0.0827 <= high


def test_the_series_rule_keeps_the_gaussian_for_a_linear_coupling():
    import numpy as np

    import iblearn

    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(2100), rng.standard_normal(2100)
    for t in range(1, len(y)):
        y[t] += 0.3 * y[t - 1] + 0.6 * x[t - 1]
    assert iblearn.estimate("te", x[100:], y[100:]).method == "gaussian"


def test_a_confounder_entering_through_a_square_makes_the_gaussian_no_reference_for_conditional_ksg():
    """x = sin(2 z) + e1, y = sin(2 z) + e2: I(X; Y | Z) = 0. The Gaussian conditional MI partials z
    out linearly and reads about 0.2 nats, the part of sin(2 z) no line in z removes; KSG conditions on
    z itself and reads about 0. The linearity test sees z enter through its square or cube, so the
    candidates' disagreement says nothing of KSG: the agreement check does not apply, and the estimate
    is judged by the others (over 10 seeds it was flagged by the agreement on every one)."""
    import numpy as np

    import iblearn

    rng = np.random.default_rng(0)
    z = rng.standard_normal(2000)
    x, y = (np.sin(2 * z) + 0.5 * rng.standard_normal(2000) for _ in range(2))
    est = iblearn.estimate("cmi", x, y, z)
    agreement = est.report.checks["agreement"]
    assert est.method == "ksg" and agreement.passed is None and "square or cube" in agreement.why_not
    assert est.report.features["bend y column"] == 1.0  # z, after y's one column
    assert est.reliable and est.interval[0] <= 0.0 <= est.interval[1] + 1e-12


def test_a_bend_between_x_and_y_keeps_the_agreement_of_conditional_ksg():
    """y depends on x through a square, z enters linearly: the Gaussian's conditioning on z is right,
    and the candidates' agreement is still checked."""
    import numpy as np

    import iblearn

    rng = np.random.default_rng(0)
    z = rng.standard_normal(2000)
    x = z + rng.standard_normal(2000)
    y = x**2 + z + 0.5 * rng.standard_normal(2000)
    est = iblearn.estimate("cmi", x, y, z)
    assert est.method == "ksg" and est.report.features["bend y column"] == 0.0
    assert est.report.checks["agreement"].passed is not None
