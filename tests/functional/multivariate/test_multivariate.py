"""Information among many variables: every measure and estimator against the Gaussian closed forms,
the signs of redundant and synergistic systems, the PID's sum, the subset search, and bad input."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from scipy.stats import rankdata

import iblearn.functional as ibf
from iblearn.functional.multivariate import search as multivariate_search

torch.set_num_threads(1)

MEASURES = {
    "tc": ibf.total_correlation,
    "dtc": ibf.dual_total_correlation,
    "o": ibf.o_information,
    "s": ibf.s_information,
}
METHODS = ("ksg", "gaussian", "copula")


def _logdet(c: torch.Tensor) -> float:
    return float(torch.linalg.slogdet(c)[1])


def closed_forms(cov: torch.Tensor, blocks: list[list[int]]) -> dict[str, float]:
    """TC, DTC, O and S of a Gaussian from log-determinants (entropies up to constants that cancel)."""
    m = len(blocks)

    def h(cols: list[int]) -> float:
        return 0.5 * _logdet(cov[cols][:, cols])

    everything = [c for b in blocks for c in b]
    rest = [[c for j, b in enumerate(blocks) if j != i for c in b] for i in range(m)]
    tc = sum(h(b) for b in blocks) - h(everything)
    dtc = sum(h(r) for r in rest) - (m - 1) * h(everything)
    return {"tc": tc, "dtc": dtc, "o": tc - dtc, "s": tc + dtc}


def random_covariance(m: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = 0.5 * torch.randn(m, m, generator=g, dtype=torch.float64)
    return a @ a.T + torch.eye(m, dtype=torch.float64)


def gaussian_sample(cov: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, cov.shape[0], generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T


def test_closed_forms_satisfy_the_identities() -> None:
    cov = random_covariance(4, 0)
    v = closed_forms(cov, [[0], [1], [2], [3]])
    # DTC = sum_i I(X_i; X_-i) - TC, with each I from the Gaussian MI's closed form.
    mi = sum(
        float(
            ibf.gaussian_mi_from_cov(
                cov[[i] + [j for j in range(4) if j != i]][:, [i] + [j for j in range(4) if j != i]], 1
            )
        )
        for i in range(4)
    )
    assert v["dtc"] == pytest.approx(mi - v["tc"], abs=1e-12)


@pytest.mark.parametrize("name", MEASURES)
def test_gaussian_method_is_the_closed_form_of_the_sample_covariance(name: str) -> None:
    x = gaussian_sample(random_covariance(4, 1), 500, 0)
    blocks = [[0, 1], [2], [3]]
    centred = x - x.mean(0)
    expected = closed_forms(centred.T @ centred / len(x), blocks)[name]
    value = MEASURES[name](x, blocks, method="gaussian", bias_correction=False)
    assert float(value) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("name", MEASURES)
def test_copula_is_the_gaussian_method_on_normal_scores(name: str) -> None:
    x = gaussian_sample(random_covariance(3, 2), 400, 1)
    warped = torch.stack([x[:, 0].exp(), x[:, 1] ** 3, torch.tanh(x[:, 2])], 1)  # monotone per column
    ranks = x.argsort(0).argsort(0).to(torch.float64) + 1
    scores = torch.special.ndtri(ranks / (len(x) + 1))
    expected = MEASURES[name](scores, method="gaussian")
    assert float(MEASURES[name](warped, method="copula")) == pytest.approx(float(expected), abs=1e-10)


def test_copula_ranks_ties_by_their_average() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 4, (300, 3), generator=g).to(torch.float64) + torch.randn(300, 3, generator=g) * (
        torch.arange(3) > 0
    )  # column 0 has 4 values only
    ranks = torch.from_numpy(rankdata(x.numpy(), axis=0))
    expected = ibf.o_information(torch.special.ndtri(ranks / 301), method="gaussian")
    assert float(ibf.o_information(x, method="copula")) == pytest.approx(float(expected), abs=1e-12)


@pytest.mark.parametrize("method", ("gaussian", "copula"))
@pytest.mark.parametrize("seed", (3, 4))
def test_gaussian_estimators_against_the_truth(method: str, seed: int) -> None:
    cov = random_covariance(5, seed)
    truth = closed_forms(cov, [[j] for j in range(5)])
    x = gaussian_sample(cov, 10_000, seed)
    for name, fn in MEASURES.items():  # sd at N = 10,000: 0.005 - 0.02 nats
        assert float(fn(x, method=method)) == pytest.approx(truth[name], abs=0.05), name


def test_bias_correction_removes_the_small_sample_bias() -> None:
    cov = random_covariance(6, 5)
    truth = closed_forms(cov, [[j] for j in range(6)])["s"]
    plain, corrected = [], []
    for seed in range(40):
        x = gaussian_sample(cov, 60, seed)
        plain.append(float(ibf.s_information(x, method="gaussian", bias_correction=False)))
        corrected.append(float(ibf.s_information(x, method="gaussian")))
    mean_plain, mean_corrected = sum(plain) / 40, sum(corrected) / 40
    assert mean_plain - truth > 0.2  # the plug-in's upward bias at N = 60
    assert abs(mean_corrected - truth) < 0.1


def test_ksg_tc_of_two_variables_is_ksg_mi() -> None:
    x = gaussian_sample(random_covariance(3, 6), 1000, 2)
    assert float(ibf.total_correlation(x, [[0], [1, 2]])) == float(ibf.ksg_mi(x[:, :1], x[:, 1:]))


def test_ksg_s_information_is_a_sum_of_ksg_mi() -> None:
    x = gaussian_sample(random_covariance(3, 7), 1000, 3)
    parts = [
        float(ibf.ksg_mi(x[:, [i]], x[:, [j for j in range(3) if j != i]], ties="raise")) for i in range(3)
    ]
    assert float(ibf.s_information(x, ties="raise")) == pytest.approx(sum(parts), abs=1e-12)


def test_ksg_brute_force_and_tree_agree() -> None:
    x = gaussian_sample(random_covariance(4, 14), 800, 11)
    blocks = [[0, 1], [2], [3]]
    for fn in MEASURES.values():
        assert float(fn(x, blocks, backend="brute")) == pytest.approx(float(fn(x, blocks)), abs=1e-12)


def test_ksg_against_the_truth_fast() -> None:
    cov = random_covariance(4, 100)
    truth = closed_forms(cov, [[j] for j in range(4)])
    x = gaussian_sample(cov, 3000, 0)
    for name, fn in MEASURES.items():  # sd at N = 3,000 up to 0.04 (S)
        assert float(fn(x)) == pytest.approx(truth[name], abs=0.12), name


@pytest.mark.parametrize("seed", (100, 101, 102))
def test_ksg_against_the_truth_at_10000(seed: int) -> None:
    cov = random_covariance(4, seed)
    truth = closed_forms(cov, [[j] for j in range(4)])
    x = gaussian_sample(cov, 10_000, seed)
    for name, fn in MEASURES.items():  # sampling sd at N = 10,000: 0.01 (O) - 0.02 (S); 0.7 s a test
        assert float(fn(x)) == pytest.approx(truth[name], abs=0.06), name


@pytest.mark.parametrize("method", METHODS)
def test_redundant_system_has_positive_o_information(method: str) -> None:
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3000, 1, generator=g)
    x = z + 0.5 * torch.randn(3000, 3, generator=g)  # three noisy copies of one source
    o = float(ibf.o_information(x, method=method))
    closed = closed_forms(torch.eye(3, dtype=torch.float64) * 0.25 + 1.0, [[0], [1], [2]])["o"]  # J + I / 4
    assert closed > 0.2 and o > 0.1 and o == pytest.approx(closed, abs=0.1)


@pytest.mark.parametrize("method", METHODS)
def test_synergistic_system_has_negative_o_information(method: str) -> None:
    g = torch.Generator().manual_seed(1)
    x12 = torch.randn(3000, 2, generator=g)
    y = x12.sum(1, keepdim=True) + 0.3 * torch.randn(3000, 1, generator=g)
    o = float(ibf.o_information(torch.cat([x12, y], 1), method=method))
    assert o < -0.5
    assert float(ibf.interaction_information(x12[:, 0], x12[:, 1], y, method=method)) == pytest.approx(
        o, abs=1e-12
    )


def test_interaction_information_against_the_closed_form() -> None:
    cov = random_covariance(3, 8)
    x = gaussian_sample(cov, 10_000, 4)
    truth = closed_forms(cov, [[0], [1], [2]])["o"]  # co-information of three = O-information
    for method in METHODS:
        value = ibf.interaction_information(x[:, 0], x[:, 1], x[:, 2], method=method)
        assert float(value) == pytest.approx(truth, abs=0.04), method


def pid_truth(cov: torch.Tensor) -> tuple[float, float, float, float]:
    def mi(a: list[int], b: list[int]) -> float:
        idx = a + b
        return float(ibf.gaussian_mi_from_cov(cov[idx][:, idx], len(a)))

    one, two, joint = mi([0], [2]), mi([1], [2]), mi([0, 1], [2])
    red = min(one, two)
    return red, one - red, two - red, joint - one - two + red


@pytest.mark.parametrize("method", METHODS)
def test_pid_parts_sum_to_the_joint_mi_and_match_the_closed_form(method: str) -> None:
    cov = torch.tensor([[1.0, 0.3, 0.6], [0.3, 1.0, 0.4], [0.6, 0.4, 1.0]], dtype=torch.float64)
    x = gaussian_sample(cov, 5000, 5)
    parts = ibf.pid(x[:, 0], x[:, 1], x[:, 2], method=method)
    assert parts._fields == ("redundancy", "unique_1", "unique_2", "synergy")
    assert float(sum(parts)) == pytest.approx(float(parts.total), abs=1e-12)
    if method != "ksg":
        joint = ibf.total_correlation(x, [[0, 1], [2]], method=method)
        assert float(parts.total) == pytest.approx(float(joint), abs=1e-12)
    for got, want in zip(parts, pid_truth(cov), strict=True):
        assert float(got) == pytest.approx(want, abs=0.04)
    assert float(parts.unique_2) == 0.0  # MMI: the weaker source has no unique part


def test_ksg_pid_joint_is_ksg_mi() -> None:
    x = gaussian_sample(random_covariance(3, 9), 2000, 6)
    parts = ibf.pid(x[:, 0], x[:, 1], x[:, 2])
    joint = ibf.ksg_mi(x[:, :2], x[:, 2], ties="raise")
    assert float(parts.total) == pytest.approx(float(joint), abs=0.01)


@pytest.mark.parametrize("method", METHODS)
def test_search_equals_one_call_per_subset(method: str) -> None:
    x = gaussian_sample(random_covariance(6, 10), 600, 7)
    found = ibf.o_information_search(x, sizes=(3, 4), method=method, top=200, ties="raise")
    assert found.evaluated == math.comb(6, 3) + math.comb(6, 4)
    assert len(found.highest) == found.evaluated
    expected = {
        s: float(ibf.o_information(x[:, list(s)], method=method, ties="raise"))
        for size in (3, 4)
        for s in itertools.combinations(range(6), size)
    }
    for subset, value in found.highest:
        assert value == pytest.approx(expected[subset], abs=1e-10)
    assert [v for _, v in found.highest] == pytest.approx(sorted(expected.values(), reverse=True), abs=1e-10)
    assert [v for _, v in found.lowest] == pytest.approx(sorted(expected.values()), abs=1e-10)


def test_search_total_correlation_and_top() -> None:
    x = gaussian_sample(random_covariance(5, 11), 500, 8)
    found = ibf.o_information_search(x, sizes=(2,), method="gaussian", measure="total_correlation", top=2)
    pairs = {
        p: float(ibf.total_correlation(x[:, list(p)], method="gaussian"))
        for p in itertools.combinations(range(5), 2)
    }
    best = sorted(pairs, key=lambda p: -pairs[p])[:2]
    assert [s for s, _ in found.highest] == best and len(found.lowest) == 2


def test_search_reports_progress_and_ranks_ksg_total_correlation(capsys) -> None:
    x = gaussian_sample(random_covariance(4, 13), 400, 10)
    found = ibf.o_information_search(x, sizes=(2, 3), measure="total_correlation", top=1, progress=True)
    assert capsys.readouterr().err.strip().endswith("10/10 subsets")
    # TC only grows when a variable is added, so the top is a triplet and the bottom a pair.
    assert len(found.highest[0][0]) == 3 and len(found.lowest[0][0]) == 2
    subset, value = found.highest[0]
    assert value == pytest.approx(float(ibf.total_correlation(x[:, list(subset)])), abs=0.01)


def test_search_resumes_from_its_checkpoint(tmp_path, monkeypatch) -> None:
    x = gaussian_sample(random_covariance(8, 12), 300, 9)
    fresh = ibf.o_information_search(x, sizes=(3, 4), method="copula", top=5)
    path = tmp_path / "search"
    monkeypatch.setattr(multivariate_search, "BATCH_BYTES", 8 * 4 * 16 * 10)  # 10 subsets a batch
    saves = 0
    save = multivariate_search._State.save

    def killed(self):
        nonlocal saves
        save(self)
        saves += 1
        if saves == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(multivariate_search._State, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        ibf.o_information_search(x, sizes=(3, 4), method="copula", top=5, checkpoint=path)
    assert json.loads((path / "search.json").read_text())["done"] == 30
    monkeypatch.setattr(multivariate_search._State, "save", save)
    resumed = ibf.o_information_search(x, sizes=(3, 4), method="copula", top=5, checkpoint=path)
    assert resumed == fresh
    with pytest.raises(ValueError, match="checkpoint"):
        ibf.o_information_search(x, sizes=(3,), method="copula", top=5, checkpoint=path)


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", MEASURES)
def test_bad_input_is_refused_by_name(method: str, name: str) -> None:
    fn = MEASURES[name]
    x = torch.randn(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ValueError, match=r"x: .*at least 2"):
        fn(x[:, :1], method=method)
    with pytest.raises(ValueError, match=r"x: .*at least 2"):
        fn(x, [[0, 1, 2]], method=method)
    bad = x.clone()
    bad[5, 1] = float("nan")
    with pytest.raises(ValueError, match="x: contains NaN"):
        fn(bad, method=method)
    constant = x.clone()
    constant[:, 2] = 1.5
    with pytest.raises(ValueError, match=r"x \(variable 2\).*constant"):
        fn(constant, method=method)
    with pytest.raises(ValueError, match="method"):
        fn(x, method="knn")
    with pytest.raises(ValueError, match="blocks"):
        fn(x, [[0], [0, 1]], method=method)


@pytest.mark.parametrize("method", METHODS)
def test_three_variable_functions_refuse_bad_input(method: str) -> None:
    g = torch.Generator().manual_seed(0)
    a, b, c = (torch.randn(100, generator=g, dtype=torch.float64) for _ in range(3))
    for fn, names in ((ibf.interaction_information, ("x", "y", "z")), (ibf.pid, ("x1", "x2", "target"))):
        with pytest.raises(ValueError, match="sample counts differ"):
            fn(a, b, c[:50], method=method)
        with pytest.raises(ValueError, match=f"{names[2]}: contains NaN"):
            fn(a, b, torch.full_like(c, float("nan")), method=method)
        with pytest.raises(ValueError, match=f"{names[1]}.*constant"):
            fn(a, torch.ones_like(b), c, method=method)
        with pytest.raises(ValueError, match=f"{names[0]}: expected continuous"):
            fn(torch.arange(100), b, c, method=method)


def test_search_refuses_bad_settings() -> None:
    x = torch.randn(100, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with pytest.raises(ValueError, match="sizes"):
        ibf.o_information_search(x, sizes=(5,), method="gaussian")
    with pytest.raises(ValueError, match="sizes"):
        ibf.o_information_search(x, sizes=(1,), method="gaussian")
    with pytest.raises(ValueError, match="top"):
        ibf.o_information_search(x, method="gaussian", top=0)
    with pytest.raises(ValueError, match="measure"):
        ibf.o_information_search(x, method="gaussian", measure="dtc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"x: .*at least 2"):
        ibf.o_information_search(x[:, :1], sizes=(2,), method="gaussian")


def test_every_measure_of_the_table_is_one_combination_of_tc_and_dtc_everywhere():
    # One row of iblearn._measures.MEASURE_TABLE a measure: the functions, their estimates, the search
    # and the command read it.
    from iblearn._measures import MEASURE_TABLE
    from iblearn.cli.estimate_many import MEASURES

    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 1, generator=g, dtype=torch.float64) + torch.randn(
        400, 3, generator=g, dtype=torch.float64
    )
    tc = float(ibf.total_correlation(x, method="gaussian"))
    dtc = float(ibf.dual_total_correlation(x, method="gaussian"))
    functions = {
        "total_correlation": ibf.total_correlation,
        "dual_total_correlation": ibf.dual_total_correlation,
        "o_information": ibf.o_information,
        "s_information": ibf.s_information,
        "interaction_information": lambda t, method: ibf.interaction_information(
            t[:, :1], t[:, 1:2], t[:, 2:], method=method
        ),
    }
    assert set(functions) == set(MEASURE_TABLE) and set(MEASURE_TABLE) <= set(MEASURES)
    for name, spec in MEASURE_TABLE.items():
        value = spec.tc * tc + spec.dtc * dtc
        assert float(functions[name](x, method="gaussian")) == pytest.approx(value, abs=1e-12)
        assert float(ibf.multivariate_estimate(name, x, method="gaussian")) == pytest.approx(value, abs=1e-12)
        found = ibf.o_information_search(x, sizes=(3,), measure=name, method="gaussian", top=1)
        assert found.evaluated == 1 and found.highest[0][1] == pytest.approx(value, abs=1e-9)


def test_the_search_names_a_tables_columns():
    pd = pytest.importorskip("pandas")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 4, generator=g, dtype=torch.float64)
    x[:, 1:3] += x[:, :1]
    table = pd.DataFrame(x.numpy(), columns=["gene_a", "gene_b", "gene_c", "gene_d"])
    found = ibf.o_information_search(table, sizes=(3,), method="gaussian", top=1)
    by_index = ibf.o_information_search(x, sizes=(3,), method="gaussian", top=1)
    assert found.highest[0] == (("gene_a", "gene_b", "gene_c"), by_index.highest[0][1])
    assert by_index.highest[0][0] == (0, 1, 2)
