"""The choosers (the entropy estimator from the counts' coincidence regime: choose_discrete_method)
and the features the rule reads."""

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


@pytest.mark.parametrize(("dx", "dy", "atom"), [(2, 1, 0.2), (70, 10, 0.2), (1, 70, 0.2)])
def test_features_read_the_ties_from_the_scores_sort_as_from_their_own(dx, dy, atom):
    # Both read the first 64 columns, x's then y's: y's ties count only where x has fewer.
    import numpy as np

    from iblearn.data import student_t
    from iblearn.estimation.choose import features
    from iblearn.functional.multivariate.inputs import ranked_normal

    x, y = student_t(dx, dy, dof=3.0).sample(3000, seed=0)
    x[:600, 0] = 0.5  # a point mass
    y = (y * 4).round() / 4  # ties
    rx, ry = ranked_normal(x), ranked_normal(y)
    own = features(x, y, lambda: (rx.scores, ry.scores))
    shared = features(
        x, y, lambda: (rx.scores, ry.scores), lambda: np.concatenate([rx.ascending, ry.ascending])
    )
    assert shared == own and own["atom"] == atom and (own["ties"] > 0.9) == (dx < 64)


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


def test_the_columns_moments_in_blocks_are_the_whole_columns_moments(monkeypatch):
    # Blocks of a few rows, a remainder among them, against the moments of every row at once (the
    # sample variance, N - 1), on columns of three scales and a heavy tail.
    import numpy as np
    import torch

    from iblearn.estimation import choose

    rng = np.random.default_rng(0)
    t = np.column_stack(
        [rng.standard_t(3, 1001) * 1e-80, rng.exponential(size=1001), rng.normal(size=1001) * 1e90]
    )
    scale = choose.power_of_two_scale(torch.from_numpy(t), dim=0)
    c = t / scale.numpy()
    c -= c.mean(0)
    var = (c**2).sum(0) / (len(c) - 1)
    skew = np.abs((c**3).mean(0) / var**1.5).max()
    kurtosis = ((c**4).mean(0) / var**2).max() - 3
    for block in (1 << 16, 3 * 7, 3):  # one block; 7 rows a block, 143 blocks; one row a block
        monkeypatch.setattr(choose, "MOMENT_BLOCK", block)
        got = choose._moments(torch.from_numpy(t), scale)
        assert got == pytest.approx((skew, kurtosis), rel=1e-12)
        assert got[1] > 5  # the exponential's excess kurtosis (6): the largest is the one reported


def test_features_of_the_raw_joint_read_only_its_selected_columns_as_a_copy_would():
    # The raw rows' joint features (Mardia's kurtosis, the rank, the bend) from the columns each side
    # reads, each over its own scale where it is read, equal those of the whole sides scaled and laid
    # out anew, for float64 and columns strided in memory; float32 reads the same rank.
    import torch

    from iblearn.data import dense_gaussian
    from iblearn.estimation.choose import features, marginals_gaussian
    from iblearn.functional.scale import power_of_two_scale

    x0, y0 = dense_gaussian(40).sample(2500, seed=0)
    x, y = x0 * 1e200, y0 * 1e-200  # squares overflow and vanish unscaled

    def no_scores():
        raise AssertionError("the raw rows need no scores")

    own = features(x, y, no_scores)
    assert marginals_gaussian(own) and {"mardia", "rank", "bend"} <= set(own)
    scaled = features(*(t / power_of_two_scale(t, dim=0) for t in (x, y)), no_scores)
    joint = ("mardia", "rank", "bend", "bend p")
    assert {k: own[k] for k in joint} == {k: scaled[k] for k in joint}
    assert features(torch.cat([x, y], 1).T.contiguous().T[:, :40], y, no_scores) == own
    single = features(x0.float(), y0.float(), no_scores)
    assert single["rank"] == own["rank"] and abs(single["mardia"] - own["mardia"]) < 1e-3
