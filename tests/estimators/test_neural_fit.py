"""Neural estimators a user can trust on data nobody tuned them for: ``fit`` holds rows out and
keeps its best critic, an estimate that cannot be read as one is flagged and warned about, and one call
splits, fits and estimates."""

from __future__ import annotations

import warnings

import pytest
import torch

from iblearn import estimate_mi
from iblearn.estimation.split import measured, normal_scores
from iblearn.estimators import MINE, NWJ, InfoNCE, MIEstimate
from iblearn.estimators.neural import UnreliableEstimateWarning
from iblearn.estimators.neural.fitting import hold_out, sample_batches
from iblearn.estimators.neural.trainer import History
from iblearn.functional.bounds import infonce_bound

pytestmark = pytest.mark.usefixtures("one_thread")


def _pairs(n: int, seed: int = 0, noise: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    return x, x + noise * torch.randn(n, 2, generator=g)


def test_early_stopping_keeps_the_critic_with_the_best_held_out_bound():
    """200 rows, a wide critic and a large learning rate: the critic fits its training rows, the bound on
    the held-out ones peaks and falls; fit stops and returns the critic of the peak."""
    x, y = _pairs(100, noise=2.0)
    est = NWJ(2, 2, hidden=(64, 64), lr=1e-2, eval_every=5, patience=3, average=None)
    est.fit(x, y, steps=1000, batch_size=40)
    h = est.history
    assert h is not None and h.stopped_early and h.steps[-1] < 1000
    best = max(range(len(h.steps)), key=h.validation.__getitem__)
    assert h.best_step == h.steps[best] == int(est.steps_done)
    assert h.validation[-1] < h.validation[best] and h.train[-1] > h.validation[-1]  # overfitting
    # The estimator is the one of the best step: its bound on the held-out rows is the one recorded.
    _, _, (xv, yv) = hold_out(x, y, 0.2, 0)
    assert float(est(xv, yv)) == pytest.approx(h.validation[best], abs=1e-5)
    assert h.best == (h.train[best], h.validation[best])


def test_validation_zero_trains_every_row_for_every_step_as_before():
    x, y = _pairs(300)
    fitted = MINE(2, 2, hidden=(16,), lr=3e-3, validation=0).fit(x, y, steps=30, batch_size=64)
    by_hand = MINE(2, 2, hidden=(16,), lr=3e-3)
    by_hand.trainer.shuffles.manual_seed(0)
    batches = sample_batches(x, y, 64, 0)
    for _ in range(30):
        by_hand.train_step(*next(batches))
    assert fitted.history is None and int(fitted.steps_done) == 30
    for (name, a), b in zip(fitted.state_dict().items(), by_hand.state_dict().values(), strict=True):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b), name


def test_a_dataloader_is_used_whole():
    x, y = _pairs(256)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64)
    est = InfoNCE(2, 2, hidden=(8,)).fit(loader, steps=5)
    assert est.history is None and int(est.steps_done) == 5


def test_a_negative_bound_is_flagged_and_warned_about():
    x, y = _pairs(400)
    est = NWJ(2, 2, hidden=(32,), lr=3e-3, validation=0).fit(x, y, steps=100)
    with pytest.warns(UnreliableEstimateWarning, match="nwj: unreliable estimate: .* below 0"):
        result = measured(est, (x, -y))  # dependent the other way round
    assert float(result) < -0.05 and result.reliable is False and "below 0" in result.caveat
    assert "unreliable" in repr(result) and "unreliable: " in str(result)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fine = measured(est, (x, y))
    assert fine.reliable is None and fine.caveat is None and float(fine) > 0
    bare = est(x, -y)  # alone, the estimator returns the figures: not checked
    assert float(bare) == float(result) and bare.reliable is None


def test_an_estimate_far_below_the_training_value_is_flagged():
    x, y = _pairs(400)
    est = MINE(2, 2, hidden=(32,), lr=3e-3).fit(x, y, steps=100)
    assert est.history is not None
    value = float(est(x, y))
    est.trainer.history = History(steps=[100], train=[2 * value + 0.5], validation=[value], best_step=100)
    with pytest.warns(UnreliableEstimateWarning, match="far below the critic's"):
        assert measured(est, (x, y)).reliable is False


def test_mine_clip_bounds_the_scores_of_both_terms():
    x, y = _pairs(300)
    est = MINE(2, 2, hidden=(32,), lr=3e-3, clip=0.5, validation=0).fit(x, y, steps=20)
    joint, marginal = est._scores(x * 100, y * 100, 2, torch.Generator().manual_seed(0))
    assert joint.abs().max() <= 0.5 and marginal.abs().max() <= 0.5
    assert float(est(x, y)) <= 1.0  # the DV bound of a critic within [-c, c] is at most 2c


def test_infonces_clip_bounds_the_scores_smoothly():
    x, y = _pairs(64)
    est = InfoNCE(2, 2, hidden=(16,), clip=2.0)
    raw = InfoNCE(2, 2, hidden=(16,), clip=None)
    raw.load_state_dict(est.state_dict())
    big = raw._pairs(x * 100, y * 100)
    scores = est._pairs(x * 100, y * 100)
    assert scores.abs().max() <= 2.0 and big.abs().max() > 20.0  # the input is far out: bounded
    torch.testing.assert_close(scores, 2.0 * torch.tanh(big / 2.0))
    torch.testing.assert_close(est.batch_mi(x, y), infonce_bound(2.0 * torch.tanh(raw._pairs(x, y) / 2.0)))


def test_normal_scores_are_a_monotone_map_to_normal_quantiles():
    torch.manual_seed(0)
    x = torch.distributions.StudentT(1.0).sample((2000, 2))  # Cauchy: |x| up to thousands
    x[:10, 0] = 0.5  # ties
    z = normal_scores(x, x[:1000])
    for j in range(2):
        order = x[:1000, j].argsort()
        assert bool((z[:1000, j][order].diff() >= 0).all())  # increasing in x on the reference
        assert bool((z[:, j][x[:, j].argsort()].diff() >= 0).all())  # held-out rows by the same map
    assert len(z[:10, 0].unique()) == 1  # ties share a score
    assert z.abs().max() < 3.5 and abs(float(z[:1000].mean())) < 0.02
    assert abs(float(z[:1000].std()) - 1) < 0.05


def test_estimate_mi_standardizes_by_ranks_where_asked():
    torch.manual_seed(0)
    x = torch.distributions.StudentT(1.0).sample((600, 1))
    y = x + torch.distributions.StudentT(1.0).sample((600, 1))
    seen = []

    class Spy(InfoNCE):
        def fit(self, x, y, **kw):
            seen.append(x)
            return super().fit(x, y, **kw)

    from iblearn.estimation.split import fit_on_split

    for mode in ("ranks", "moments", "none"):
        fit_on_split(Spy(1, 1, hidden=(8,)), x, y, steps=2, standardize=mode)
    ranks, moments, raw = seen
    assert ranks.abs().max() < 3.5 < moments.abs().max()  # normal scores: no far-out rows left
    torch.testing.assert_close(ranks.argsort(dim=0), moments.argsort(dim=0))  # the same order
    assert raw.abs().max() > 50  # "none": the Cauchy rows as given


def test_estimate_mi_names_its_estimator_and_split():
    x, y = _pairs(1000)
    result = estimate_mi(x, y, "infonce", steps=150, hidden=(16,), lr=5e-3, n_resamples=4)
    assert isinstance(result, MIEstimate) and result.estimator == "infonce"
    assert result.report.split == {"train": 640, "validation": 160, "test": 200}
    assert result.n_samples == 200 and result.stderr is not None and result.bound == "lower"
    assert float(result) > 0.1  # truth 2 * 0.5 log 2 = 0.69
    ksg = estimate_mi(x, y, "ksg", n_resamples=0)
    assert ksg.estimator == "ksg" and ksg.report.split is None and ksg.n_samples == 1000


def test_estimate_mi_takes_labels():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (400,), generator=g)
    x = labels[:, None].float() + 0.3 * torch.randn(400, 1, generator=g)
    result = estimate_mi(x, labels, "mine", steps=150, hidden=(16,), lr=1e-2, n_resamples=0)
    assert result.report.split == {"train": 256, "validation": 64, "test": 80}
    assert float(result) > 0.5  # truth about 0.85


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: MINE(1, 1, validation=1.0), "validation: .* in \\[0, 1\\)"),
        (lambda: InfoNCE(1, 1, validation=-0.1), "validation: "),
        (lambda: NWJ(1, 1, validation=True), "validation: "),
        (lambda: MINE(1, 1, patience=0), "patience: expected a positive integer"),
        (lambda: MINE(1, 1, eval_every=0), "eval_every: expected a positive integer"),
        (lambda: MINE(1, 1, clip=0.0), "clip: "),
        (lambda: InfoNCE(1, 1, clip=-1.0), "clip: "),
        (lambda: MINE(1, 1, validation=float("nan")), "validation: "),
        (lambda: MINE(1, 1, patience=1.5), "patience: "),
        (lambda: MINE(2, 2).fit(*_pairs(6, 0), steps=1), "validation: 0.2 of 6 rows leaves fewer than 2"),
        (lambda: estimate_mi(*_pairs(20, 0), "mine", test=1.0), "test: "),
        (lambda: estimate_mi(*_pairs(20, 0), "mine", standardize="rank"), "standardize: "),
        (lambda: estimate_mi(*_pairs(20, 0), "nope"), "method: unknown estimator 'nope'"),
    ],
)
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_reporting_scores_with_the_weight_average_within_it_only():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 1, generator=g)
    est = MINE(1, 1, hidden=(4,), seed=0)
    with est.reporting():
        assert est.scorer is est.critic  # before a step nothing is averaged
    est.train_step(x, x + torch.randn(64, 1, generator=g))
    assert est.scorer is est.critic  # training steps score with the live critic
    with est.reporting():
        assert est.scorer is est.averaged
    with pytest.raises(KeyError), est.reporting():
        raise KeyError("a failure while reporting")
    assert est.scorer is est.critic
    with est.reporting():
        with est.reporting():  # LMI's embeddings report within a report
            pass
        assert est.scorer is est.averaged  # the inner one left the outer one's critic in place


def test_batches_that_run_out_end_fit_and_none_at_all_or_dicts_are_refused():
    """An iterator is read once: fit trains on what it yields (``steps`` is at most) instead of waiting
    for a next pass that never comes; an empty one, batches that are dicts or not pairs, and a progress
    that cannot be called are refused by name before any training."""
    x, y = _pairs(64)
    est = NWJ(2, 2, average=None).fit(((x[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)), steps=50)
    assert int(est.steps_done) == 4
    for batches, match in (
        ([], "x: yields no batches"),
        (iter([]), "x: yields no batches"),
        ([{"x": x, "y": y}], r"x: its batches are dict; yield \(x, y\) pairs"),
        ([(x, y, y)], r"x: its batches are tuple of 3; yield \(x, y\) pairs"),
    ):
        with pytest.raises(ValueError, match=match):
            NWJ(2, 2).fit(batches, steps=5)
    with pytest.raises(ValueError, match="progress: expected a callable"):
        NWJ(2, 2).fit(x, y, steps=5, progress=3)


def test_a_default_critic_built_at_the_first_call_refuses_other_widths_by_name():
    """With x_dim and y_dim None the default critic takes its widths from the first inputs; inputs of
    other widths later are refused naming x or y (torch's matmul error said neither)."""
    x, y = _pairs(40)
    est = NWJ(validation=0).fit(x, y, steps=2, batch_size=16)
    with pytest.raises(
        ValueError, match=r"x: the critic takes 2 features per sample \(x_dim\), got shape \(40, 1\)"
    ):
        est(x[:, :1], y)
    with pytest.raises(ValueError, match=r"y: the critic takes 2 features per sample \(y_dim\)"):
        est.loss(x, torch.cat([y, y], 1))
    assert float(est(x, y)) == float(est(x, y))  # the widths it was built for still pass


def test_a_representation_estimator_on_the_meta_device_names_it():
    from iblearn.estimators import LMI

    x, y = _pairs(40)
    with pytest.raises(ValueError, match="x: is on cpu but the critic is on meta"):
        LMI(x_dim=2, y_dim=2).to("meta").fit(x, y, steps=2, batch_size=16)


def test_a_batch_of_one_row_is_refused_naming_batch_size():
    x, y = _pairs(40)
    with pytest.raises(ValueError, match="batch_size: a batch needs at least 2 rows"):
        NWJ(2, 2).fit(x, y, steps=2, batch_size=1)


def test_a_bad_row_is_named_by_its_place_in_the_callers_rows():
    x, y = _pairs(200)
    x[3, 0] = float("nan")
    with pytest.raises(ValueError, match=r"x: contains NaN or Inf \(first at sample 3\)"):
        InfoNCE(2, 2).fit(x, y, steps=5)


def test_the_lr_setting_is_the_one_training_steps_with_after_fit_and_after_a_load():
    """``est.lr`` assigned after a fit, or given to an estimator that loads another's state, is the
    learning rate the next steps take (the state's Adam moments come along, its rate does not)."""
    x, y = _pairs(200)
    seen: list[float] = []

    def watch(est: MINE) -> object:
        return lambda step, loss: seen.append(est.trainer.optimizer.adam.param_groups[0]["lr"])

    est = MINE(2, 2, hidden=(8,), eval_every=5)
    est.fit(x, y, steps=10, batch_size=50)
    est.lr = 1e-5
    est.fit(x, y, steps=3, batch_size=50, progress=watch(est))
    assert seen == [1e-5] * 3
    seen.clear()
    loaded = MINE(2, 2, hidden=(8,), lr=3e-4)
    loaded.load_state_dict(est.state_dict())
    loaded.fit(x, y, steps=3, batch_size=50, progress=watch(loaded))
    assert seen == [3e-4] * 3
