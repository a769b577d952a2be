"""iblearn.tigramite.CMITest: its statistic is iblearn's CMI, it finds a planted graph in PCMCI, its
shuffle null is reproducible by seed, and bad settings are named."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("tigramite")

from tigramite import data_processing as pp
from tigramite.pcmci import PCMCI

import iblearn
from iblearn import functional as ibf
from iblearn.functional.multivariate.inputs import copula_normal
from iblearn.tigramite import CMITest, _split

torch.set_num_threads(1)


def _arrays(n=300, seed=0):
    """A tigramite array (dim, T): x, y one row each, z two rows; y depends on x beyond z."""
    g = np.random.default_rng(seed)
    z = g.standard_normal((n, 2))
    x = z[:, :1] + g.standard_normal((n, 1))
    y = z[:, 1:] + 0.5 * x + g.standard_normal((n, 1))
    return np.vstack([x.T, y.T, z.T]), np.array([0, 1, 2, 2]), (x, y, z)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("ksg", lambda x, y, z: ibf.ksg_cmi(x, y, z, 30, seed=7)),  # a tenth of the 300 rows
        ("gaussian", lambda x, y, z: iblearn.estimate("cmi", x, y, z, method="gaussian").value),
        ("auto", lambda x, y, z: iblearn.estimate("cmi", x, y, z, seed=7).value),
    ],
)
def test_the_measure_is_iblearns_cmi(method, expected):
    array, xyz, (x, y, z) = _arrays()
    value = CMITest(method=method, seed=7).get_dependence_measure(array, xyz)
    assert value == pytest.approx(float(expected(x, y, z)), abs=1e-10)


@pytest.mark.parametrize(("k", "used"), [(None, 30), (3, 3), (0.2, 60), (np.int64(5), 5)])
def test_k_is_a_count_or_a_share_of_the_tests_samples(k, used):
    array, xyz, (x, y, z) = _arrays()
    value = CMITest(method="ksg", k=k, seed=7).get_dependence_measure(array, xyz)
    assert value == pytest.approx(float(ibf.ksg_cmi(x, y, z, used, seed=7)), abs=1e-10)


def test_the_ksg_shuffle_test_compares_the_same_estimate():
    array, xyz, (x, y, z) = _arrays()
    _, null = CMITest(method="ksg", sig_samples=5, seed=7).get_shuffle_significance(
        array, xyz, 0.0, return_null_dist=True
    )
    test = ibf.ksg_cmi_test(x, y, z, 30, n_permutations=5, permutation_seed=7, seed=7)
    assert test.value == pytest.approx(float(ibf.ksg_cmi(x, y, z, 30, seed=7)), abs=1e-10)
    np.testing.assert_allclose(null, np.sort(test.null.numpy()), atol=1e-12)


def test_the_ksg_null_of_an_empty_z_is_ksg_mi_of_each_shift():
    array, xyz, (x, y, _) = _arrays()
    test = CMITest(method="ksg", sig_samples=6, seed=7)
    p, null = test.get_shuffle_significance(array[:2], xyz[:2], 0.0, return_null_dist=True)
    loop = [
        float(ibf.ksg_mi(torch.roll(torch.from_numpy(x), int(s), 0), y, 30, seed=7))
        for s in test._shifts(300)
    ]
    np.testing.assert_array_equal(null, np.sort(loop))
    observed = float(ibf.ksg_mi(x, y, 30, seed=7))
    assert p == (1 + sum(v >= observed for v in loop)) / 7


def test_the_copula_null_is_the_copula_estimate_of_each_surrogate():
    # "auto" tests its copula choice by the same null.
    array, xyz, _ = _arrays(n=200)
    test = CMITest(method="copula", sig_samples=8, seed=3)
    for rows in (slice(None), slice(0, 2)):  # with z, and with none
        _, null = test.get_shuffle_significance(array[rows], xyz[rows], 0.0, return_null_dist=True)
        x, y, z = _split(array[rows], xyz[rows])
        copula = test._statistic("copula")
        np.testing.assert_array_equal(null, np.sort([copula(xs, y, z) for xs in test._surrogates(x, z)]))


def test_empty_z_gives_the_mi():
    array, xyz, (x, y, _) = _arrays()
    value = CMITest(method="gaussian").get_dependence_measure(array[:2], xyz[:2])
    assert value == pytest.approx(float(ibf.gaussian_mi(x, y)), abs=1e-10)


def test_copula_is_the_gaussian_on_normal_scores():
    array, xyz, (x, y, z) = _arrays()
    value = CMITest(method="copula", significance="analytic").get_dependence_measure(array, xyz)
    s = [copula_normal(torch.from_numpy(v)) for v in (x, y, z)]
    expected = ibf.gaussian_mi(s[0], torch.cat(s[1:], 1)) - ibf.gaussian_mi(s[0], s[2])
    assert value == pytest.approx(float(expected), abs=1e-10)


def test_the_analytic_p_value_is_parcorrs():
    from tigramite.independence_tests.parcorr import ParCorr

    _, _, (x, y, z) = _arrays()
    ours = CMITest(method="gaussian", significance="analytic").run_test_raw(x, y, z)
    theirs = ParCorr().run_test_raw(x, y, z)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-6)
    # The Gaussian CMI is -1/2 log(1 - rho^2) of ParCorr's partial correlation rho.
    assert ours[0] == pytest.approx(-0.5 * np.log1p(-(theirs[0] ** 2)), rel=1e-9)


def _planted(n=500, seed=0):
    """Three series, links 0 -> 1 at lag 1 and 1 -> 2 at lag 2."""
    g = np.random.default_rng(seed)
    data = g.standard_normal((n, 3))
    for t in range(2, n):
        data[t, 0] += 0.4 * data[t - 1, 0]
        data[t, 1] += 0.5 * data[t - 1, 0]
        data[t, 2] += 0.5 * data[t - 2, 1]
    return data


def test_pcmci_with_the_gaussian_test_finds_the_planted_links():
    pcmci = PCMCI(pp.DataFrame(_planted()), cond_ind_test=CMITest(method="gaussian", significance="analytic"))
    graph = pcmci.run_pcmci(tau_max=2, pc_alpha=0.05, alpha_level=0.01)["graph"]
    links = {(int(i), int(j), int(lag)) for i, j, lag in zip(*np.nonzero(graph == "-->"), strict=True) if lag}
    assert links == {(0, 0, 1), (0, 1, 1), (1, 2, 2)}


def test_the_shuffle_null_is_reproducible_by_seed():
    array, xyz, _ = _arrays(n=200)
    array[1] = np.random.default_rng(1).standard_normal(200)  # y independent: p spread over (0, 1]
    runs = [
        CMITest(method=m, sig_samples=30, seed=s).get_shuffle_significance(
            array, xyz, 0.0, return_null_dist=True
        )
        for m, s in (("ksg", 3), ("ksg", 3), ("ksg", 4), ("gaussian", 3), ("gaussian", 3))
    ]
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][1], runs[2][1])
    np.testing.assert_array_equal(runs[3][1], runs[4][1])
    # Where z is empty, the null is of circular shifts: seeded too.
    shifted = [
        CMITest(method="gaussian", sig_samples=20, seed=5).get_shuffle_significance(array[:2], xyz[:2], 0.0)
    ]
    shifted += [
        CMITest(method="gaussian", sig_samples=20, seed=5).get_shuffle_significance(array[:2], xyz[:2], 0.0)
    ]
    assert shifted[0] == shifted[1]


def test_a_dependent_pair_is_rejected_by_the_shuffle_null():
    array, xyz, _ = _arrays(n=300)
    test = CMITest(method="ksg", sig_samples=19)
    assert test.get_shuffle_significance(array, xyz, 0.0) == pytest.approx(1 / 20)


@pytest.mark.parametrize("z", [[(2, -1), (3, -1)], []])
def test_a_tests_null_stops_once_settled_at_its_level_and_decides_as_the_whole_null(z):
    array, _, _ = _arrays(n=200)
    array[1] = np.random.default_rng(1).standard_normal(200)  # y independent: p spread over (0, 1]
    x, y = [(0, -1)], [(1, 0)]

    def test(seed):
        t = CMITest(method="ksg", sig_samples=99, seed=seed)
        t.set_dataframe(pp.DataFrame(array.T))
        return t

    stopped = 0
    for seed in range(4):
        value, whole = test(seed).run_test(x, y, z, tau_max=1)  # no level: all 99 permutations
        cut = test(seed)
        for level in (0.2, 0.05, 0.01):  # each lower level reuses the p-value settled above the last
            v, p, dependent = cut.run_test(x, y, z, tau_max=1, alpha_or_thres=level)
            assert v == value and dependent == (whole <= level)
            assert (p <= level) == dependent
        stopped += p != whole
        # Asked at a higher level than it was settled at, the test is drawn again.
        assert (
            cut.run_test(x, y, z, tau_max=1, alpha_or_thres=0.5)[1:]
            == test(seed).run_test(x, y, z, tau_max=1, alpha_or_thres=0.5)[1:]
        )
        assert cut.run_test(x, y, z, tau_max=1)[1] == whole
    assert stopped >= 2


def test_a_level_the_shuffle_null_cannot_reach_is_warned_of_before_the_test_and_recorded():
    array, _, _ = _arrays(n=120)
    x, y, z = ([tuple(p) for p in part] for part in ([(0, -1)], [(1, 0)], [(2, -1), (3, -1)]))
    test = CMITest(method="gaussian", sig_samples=19)
    test.set_dataframe(pp.DataFrame(array.T))
    # 1/20 = 0.05 is the least p-value of 19 permutations: 0.01 is out of reach, 0.05 is not.
    with pytest.warns(UserWarning, match=r"sig_samples: 19 permutations .* 1/20 = 0.05.*use at least 99"):
        test.run_test(x, y, z, tau_max=1, alpha_or_thres=0.01)
    assert test.p_floor == pytest.approx(0.05)
    assert test.unreachable == {0.01: 99}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        test.run_test(x, y, z, tau_max=1, alpha_or_thres=0.01)  # said once a level
        test.run_test(x, y, z, tau_max=1, alpha_or_thres=0.05)
        test.run_test(x, y, z, tau_max=1)
        analytic = CMITest(method="gaussian", significance="analytic")
        analytic.set_dataframe(pp.DataFrame(array.T))
        analytic.run_test(x, y, z, tau_max=1, alpha_or_thres=0.001)
    assert test.unreachable == {0.01: 99} and analytic.p_floor is None and analytic.unreachable == {}


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"method": "knn"}, "method"),
        ({"significance": "bootstrap"}, "significance"),
        ({"method": "ksg", "significance": "analytic"}, "significance"),
        ({"method": "auto", "significance": "analytic"}, "significance"),
        ({"k": 0}, "k"),
        ({"k": 1.5}, "k"),
        ({"k": True}, "k"),
        ({"sig_samples": 0}, "sig_samples"),
    ],
)
def test_bad_settings_are_named(settings, named):
    with pytest.raises(ValueError, match=f"^{named}:"):
        CMITest(**settings)


def test_a_missing_tigramite_names_the_extra_and_iblearn_does_not_import_it():
    code = (
        "import sys; sys.modules['tigramite'] = None\n"
        "import iblearn; iblearn.estimate\n"
        "try:\n    import iblearn.tigramite\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "iblearn.tigramite needs tigramite: pip install 'iblearn[tigramite]'"
