"""Greedy training: gradients never cross a module boundary (checked by hooks), bad pipelines are
refused before the first step, the objectives train, and a killed run resumes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from iblearn.data.graphs import GraphBatch
from iblearn.models.mole import MessagePassing, NodeLinear, Readout, Sequential
from iblearn.records import RunFolder
from iblearn.training import Batch, CrossEntropy, InfoMax, NoisyIB, Standardize, train_greedy
from iblearn.training.greedy import check_pipeline


def data(n: int = 600, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 10, generator=g)
    x[:, :3] += 2.0 * y[:, None].float()
    return x, y


def batches_of(x, y, size=100):
    return lambda epoch: [Batch(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]


def mlp():
    torch.manual_seed(0)
    return [
        nn.Sequential(nn.Linear(10, 16), nn.ReLU()),
        nn.Sequential(nn.Linear(16, 8), nn.ReLU()),
        nn.Linear(8, 2),
    ]


def objectives():
    return [InfoMax("input", "renyi"), InfoMax("label", "renyi"), CrossEntropy()]


@pytest.mark.parametrize("mode", ["sequential", "isolated"])
def test_no_gradient_crosses_a_module_boundary(mode):
    x, y = data()
    modules = mlp()
    # Count the backward passes that reach each module's first weight, and those that should.
    reached = [0, 0, 0]
    for k, m in enumerate(modules):
        first = next(m.parameters())
        first.register_hook(lambda grad, k=k: reached.__setitem__(k, reached[k] + 1))
    result = train_greedy(modules, objectives(), batches_of(x, y), epochs=2, mode=mode)
    steps = 2 * len(range(0, 600, 100))
    assert reached == [steps, steps, steps]  # each module once per step: from its own loss alone
    assert all(len(h) == 2 for h in result.histories)
    if mode == "sequential":
        assert all(not p.requires_grad for m in modules for p in m.parameters())  # frozen after training


def test_objectives_train_the_network():
    x, y = data(1000)
    modules = mlp()
    train_greedy(
        modules,
        objectives(),
        batches_of(x, y),
        epochs=5,
        optimizer=lambda params: torch.optim.Adam(params, lr=1e-2),
    )
    with torch.no_grad():
        accuracy = float((Sequential(modules)(x).argmax(1) == y).float().mean())
    # Chance is 0.5 and the Bayes rate 0.958 (three features shifted by 2); measured: 0.885.
    assert accuracy > 0.8


def test_each_module_gets_its_own_optimizer_when_given_one_factory_each():
    x, y = data(200)
    modules = mlp()
    made = []

    def sgd(lr):
        def make(params):
            made.append(lr)
            return torch.optim.SGD(params, lr=lr)

        return make

    train_greedy(modules, objectives(), batches_of(x, y), optimizer=[sgd(0.1), sgd(0.2), sgd(0.3)])
    assert made == [0.1, 0.2, 0.3]
    for wrong in ([sgd(0.1)], torch.optim.SGD(mlp()[0].parameters(), lr=0.1)):  # too few; not a factory
        with pytest.raises(ValueError, match="optimizer: expected a factory params -> optimizer"):
            train_greedy(mlp(), objectives(), batches_of(x, y), optimizer=wrong)


def test_noisy_ib_records_both_terms_and_beta_zero_has_no_aamine():
    x, y = data(400)
    modules = [nn.Sequential(nn.Linear(10, 8), nn.ReLU())]
    full = NoisyIB(Sequential(modules), beta=0.01, noise_std=0.1, classes=2, hidden=(16,))
    result = train_greedy(modules, [full], batches_of(x, y), epochs=2)
    assert set(result.histories[0][-1]) >= {"I(Y;L)", "I(X;L+eps)"}
    assert NoisyIB(Sequential(modules), beta=0.0, noise_std=0.1, classes=2).aamine is None


def test_noisy_ib_label_term_sums_over_classes_or_re_pairs():
    torch.manual_seed(0)
    layer = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    x, y = torch.randn(40, 4), torch.arange(40) % 3
    t = layer(x).detach()
    signal = {}
    for term in ("summed", "re-paired"):
        objective = NoisyIB(
            Sequential([layer]), beta=0.0, noise_std=0.1, classes=3, label_term=term, hidden=(8,)
        )
        signal[term] = [float(objective.mine.batch_mi(t, y)) for _ in range(2)]
    assert signal["summed"][0] == signal["summed"][1]  # exact over the classes: no draw
    assert signal["re-paired"][0] != signal["re-paired"][1]  # a fresh draw of labels each call
    with pytest.raises(ValueError, match="label_term: expected one of"):
        NoisyIB(Sequential([layer]), beta=0.0, noise_std=0.1, classes=3, label_term="shuffled")


@pytest.mark.parametrize("estimate", [-5.0, 0.7])
def test_noisy_ib_minimizes_only_a_non_negative_estimate_of_i_x_l(monkeypatch, estimate):
    torch.manual_seed(0)
    layer = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    objective = NoisyIB(Sequential([layer]), beta=0.5, noise_std=0.1, classes=2, hidden=(8,))
    x, y = torch.randn(20, 4), torch.arange(20) % 2
    t = layer(x).detach().requires_grad_(True)
    # an estimate of the given value whose gradient with respect to each entry of L + eps is 1
    monkeypatch.setattr(objective.aamine, "batch_mi", lambda x, lt: estimate + (lt - lt.detach()).sum())
    loss, metrics = objective.loss(Batch(x, y), t)
    (with_penalty,) = torch.autograd.grad(loss, t)
    (i_yl_only,) = torch.autograd.grad(-objective.mine.batch_mi(t, y), t)
    assert metrics["I(X;L+eps)"] == pytest.approx(estimate)  # recorded as it is
    expected = 0.0 if estimate < 0 else 0.5  # MI >= 0: a negative estimate is not minimized
    torch.testing.assert_close(with_penalty - i_yl_only, torch.full_like(t, expected))


def test_graph_pipeline_with_gmi_and_mine():
    g = torch.Generator().manual_seed(3)
    n = 60
    src = torch.arange(n)
    edges = torch.stack([torch.cat([src, (src + 1) % n]), torch.cat([(src + 1) % n, src])])
    graph = GraphBatch(torch.randn(n, 5, generator=g), edges, torch.arange(n) // 20)  # three graphs
    labels = torch.tensor([0, 1, 0])
    modules = [NodeLinear(5, 8), MessagePassing(8, 8), Readout(8, 2)]
    objs = [
        InfoMax("input", "gmi", rep_dim=8, feature_dim=5),
        InfoMax("label", "mine", x_dim=8, y_classes=2),
        CrossEntropy(),
    ]
    result = train_greedy(modules, objs, [Batch(graph, labels)], epochs=2)
    assert all(len(h) == 2 for h in result.histories)


def _numbers(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # all but the timings


def test_a_run_killed_between_its_checkpoint_and_its_row_resumes_as_if_never_stopped(tmp_path, monkeypatch):
    x, y = data(300)
    reference = mlp()
    train_greedy(reference, objectives(), batches_of(x, y), epochs=2, run=RunFolder(tmp_path / "ref"))

    class Killed(Exception):
        pass

    extend = RunFolder.extend_metrics

    def kill_at_module_1_epoch_2(self, rows):
        if rows[0]["module"] == 1 and rows[0]["epoch"] == 2:  # the checkpoint is written, the row not
            raise Killed
        extend(self, rows)

    monkeypatch.setattr(RunFolder, "extend_metrics", kill_at_module_1_epoch_2)
    with pytest.raises(Killed):
        train_greedy(mlp(), objectives(), batches_of(x, y), epochs=2, run=RunFolder(tmp_path / "run"))
    monkeypatch.setattr(RunFolder, "extend_metrics", extend)
    assert len(RunFolder(tmp_path / "run").metrics()) == 3

    modules = mlp()
    run = RunFolder(tmp_path / "run", resume=True)
    result = train_greedy(modules, objectives(), batches_of(x, y), epochs=2, run=run)
    assert [len(h) for h in result.histories] == [2, 2, 2]
    assert _numbers(RunFolder(tmp_path / "run").metrics()) == _numbers(RunFolder(tmp_path / "ref").metrics())
    for ours, theirs in zip(modules, reference, strict=True):
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("mode", ["sequential", "isolated"])
def test_a_module_with_nothing_to_train_is_named_before_any_step(mode):
    x, y = data(200)
    modules = mlp()
    modules[1].requires_grad_(False)
    before = [p.clone() for p in modules[0].parameters()]
    with pytest.raises(ValueError, match=r"modules\[1\]: has no trainable parameters"):
        train_greedy(modules, objectives(), batches_of(x, y), mode=mode)
    assert all(torch.equal(a, b) for a, b in zip(before, modules[0].parameters(), strict=True))
    train_greedy(modules, objectives(), batches_of(x, y), epochs=[1, 0, 1])  # frozen, and not trained


def test_a_run_resumed_in_its_own_process_trains_past_the_modules_it_froze(tmp_path):
    x, y = data(200)
    modules = mlp()

    class Killed(Exception):
        pass

    def kill_at_module_1(message):
        if message.startswith("module 1"):
            raise Killed

    with pytest.raises(Killed):
        train_greedy(
            modules,
            objectives(),
            batches_of(x, y),
            epochs=2,
            run=RunFolder(tmp_path),
            progress=kill_at_module_1,
        )
    assert not any(p.requires_grad for p in modules[0].parameters())  # done, and frozen
    result = train_greedy(
        modules, objectives(), batches_of(x, y), epochs=2, run=RunFolder(tmp_path, resume=True)
    )
    assert [len(h) for h in result.histories] == [2, 2, 2]


def test_a_folder_opened_without_resume_starts_over_and_keeps_rows_not_its_own(tmp_path):
    x, y = data(300)
    train_greedy(mlp(), objectives(), batches_of(x, y), epochs=1, run=RunFolder(tmp_path))
    RunFolder(tmp_path).append_metrics({"key": "another record"})
    result = train_greedy(mlp(), objectives(), batches_of(x, y), epochs=2, run=RunFolder(tmp_path))
    assert [len(h) for h in result.histories] == [2, 2, 2]  # not continued from the 1-epoch checkpoint
    rows = RunFolder(tmp_path).metrics()
    assert [r["key"] for r in rows if r["key"]] == ["another record"]
    assert len([r for r in rows if r["module"]]) == 6


def test_the_dry_run_leaves_batchnorm_statistics_and_modes_alone():
    x, y = data(200)
    modules = mlp()
    modules[0] = nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU())
    modules[1].eval()
    check_pipeline(modules, objectives(), Batch(x[:100], y[:100]))
    assert torch.equal(modules[0][1].running_mean, torch.zeros(16))
    assert modules[0].training and not modules[1].training


def test_the_output_layer_input_is_standardized_from_the_frozen_features(tmp_path):
    """Standardize is fitted on module 2's input (modules 0-1 trained and frozen) before module 2 trains,
    survives a resume, and Standardize -> Linear is still one linear map."""
    x, y = data(300)
    modules = mlp()
    modules[2] = nn.Sequential(Standardize(), modules[2])
    assert torch.equal(modules[2][0](x), x)  # the identity until fitted
    train_greedy(modules, objectives(), batches_of(x, y), epochs=1, run=RunFolder(tmp_path / "a"))
    with torch.no_grad():
        features = Sequential(modules[:2])(x)
        standardized = modules[2][0](features)
    torch.testing.assert_close(standardized.mean(0), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        standardized.std(0)[features.std(0) > 0], torch.ones(int((features.std(0) > 0).sum()))
    )
    restored = nn.Sequential(Standardize(), nn.Linear(8, 2))
    restored.load_state_dict(modules[2].state_dict())
    assert restored[0].fitted and torch.equal(restored(features), modules[2](features))
    wide = nn.Sequential(Standardize(), nn.Linear(8, 2)).double()  # loads into the module's dtype
    wide.load_state_dict(modules[2].state_dict())
    assert wide[0].mean.dtype == torch.float64 and wide(features.double()).dtype == torch.float64
    std, linear = modules[2][0], modules[2][1]
    folded = nn.Linear(8, 2)
    with torch.no_grad():
        folded.weight.copy_(linear.weight / std.std)
        folded.bias.copy_(linear.bias - folded.weight @ std.mean)
        torch.testing.assert_close(folded(features), modules[2](features), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="Standardize needs mode='sequential'"):
        train_greedy(modules, objectives(), batches_of(x, y), epochs=1, mode="isolated")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: (mlp(), objectives()[:2]), "objectives: 2 objectives for 3 modules"),
        (
            lambda: ([nn.Linear(10, 16), nn.Linear(8, 2)], [CrossEntropy(), CrossEntropy()]),
            r"modules\[1\]: cannot take its input \(shape \(100, 16\)\)",
        ),
        (
            lambda: (mlp(), [InfoMax("input", "gmi", rep_dim=16, feature_dim=10), *objectives()[1:]]),
            r"objectives\[0\]: I\(T;X\) by gmi cannot take modules\[0\]'s output, a vector",
        ),
        (
            lambda: (mlp(), [InfoMax("input", "ksg"), *objectives()[1:]]),
            "estimator: ksg is not differentiable",
        ),
        (lambda: (mlp(), [InfoMax("output", "renyi"), *objectives()[1:]]), "target: expected 'input'"),
    ],
)
def test_bad_pipelines_are_refused_before_training(make, match):
    x, y = data(200)
    with pytest.raises(ValueError, match=match):
        modules, objs = make()
        train_greedy(modules, objs, batches_of(x, y), epochs=1)


def test_batches_that_run_dry_are_refused():
    x, y = data(200)
    once = (Batch(x[i : i + 100], y[i : i + 100]) for i in (0, 100))
    with pytest.raises(ValueError, match="batches: a one-shot iterator"):
        train_greedy(mlp(), objectives(), once, epochs=2)
    with pytest.raises(ValueError, match="batches: epoch 1 has no batches"):
        train_greedy(mlp(), objectives(), lambda e: batches_of(x, y)(e) if e == 0 else [], epochs=2)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epoch": 7}, "module 2, epoch 7 is not a step of this run"),
        ({"module": -1}, "module -1, epoch 1 is not a step"),
        ({"histories": [[]]}, "does not fit this run .ValueError: 1 histories for 3 modules"),
        ({"rng": None}, "does not fit this run .KeyError"),
    ],
)
def test_a_tampered_greedy_checkpoint_is_refused_and_no_row_changes(tmp_path, changes, message):
    x, y = data(300)
    run = RunFolder(tmp_path)
    train_greedy(mlp(), objectives(), batches_of(x, y), epochs=2, run=run)
    state = run.load_checkpoint("greedy-checkpoint.pt")
    for name, value in changes.items():
        state.pop(name) if value is None else state.update({name: value})
    run.save_checkpoint(state, "greedy-checkpoint.pt")
    rows = RunFolder(tmp_path).metrics()
    with pytest.raises(ValueError, match=rf"greedy-checkpoint\.pt: {message}"):
        train_greedy(mlp(), objectives(), batches_of(x, y), epochs=2, run=RunFolder(tmp_path, resume=True))
    assert RunFolder(tmp_path).metrics() == rows


class _HostTraffic(TorchDispatchMode):
    """Counts what copies to the host on a GPU: scalar reads (``float()``, ``bool()``, ``.item()``),
    and the ops whose result size the host must learn (``nonzero``, an index by a boolean mask)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = self.sizes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func.overloadpacket)
        self.reads += name == "aten._local_scalar_dense"
        masks = args[1] if name == "aten.index" else []
        self.sizes += name in ("aten.nonzero", "aten.masked_select") or any(
            isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in masks
        )
        return func(*args, **(kwargs or {}))


def test_a_greedy_step_reads_few_numbers_and_copies_nothing_else_to_the_host(monkeypatch):
    """On a GPU each read of a number is a copy and a wait. A step of the matrix-based I(T; Y) reads
    its recorded MI and, of its inputs, their finiteness, whether they are one point, and the kernel
    width's median (4); cross-entropy its loss and accuracy (2). Nothing else goes to the host but the
    joint entropy's class sizes (one ``tolist`` a step): no ``.cpu()``, ``.numpy()``, ``nonzero``."""
    copies = []

    def counted(method):
        real = getattr(torch.Tensor, method)
        return lambda t, *args, **kw: copies.append(method) or real(t, *args, **kw)

    for method in ("cpu", "numpy", "tolist"):
        monkeypatch.setattr(torch.Tensor, method, counted(method))
    x, y = data(200)
    torch.manual_seed(0)
    modules = [nn.Sequential(nn.Linear(10, 16), nn.ReLU()), nn.Linear(16, 2)]
    objectives = [InfoMax("label", "renyi"), CrossEntropy()]
    sgd = lambda p: torch.optim.SGD(p, lr=0.1)  # noqa: E731  (Adam reads its step counts)
    with _HostTraffic() as seen:
        train_greedy(modules, objectives, batches_of(x, y, 50), optimizer=sgd)
    assert seen.reads == 4 * (4 + 2) and seen.sizes == 0 and copies == ["tolist"] * 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(modules=[], objs=[]), "modules: is empty"),
        (dict(epochs=1.5), "epochs: expected one non-negative count per module"),
        (dict(epochs=["1", "1", "1"]), "epochs: expected one non-negative count per module"),
        (dict(epochs=True), "epochs: expected one non-negative count per module"),
        (dict(critic_steps=0), "critic_steps: expected a positive integer"),
        (dict(device="gpu7"), "device: 'gpu7' is not a torch device"),
        (dict(progress=3), "progress: expected a callable"),
        (dict(optimizer=lambda p: None), r"optimizer: the factory returned None for modules\[0\]"),
        (dict(modules=[nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 2)]), r"modules\[1\]: has no parameters"),
        (dict(batches=[{"x": 1, "y": 2}]), r"batches: a batch is a dict; yield \(x, y\) pairs"),
        (dict(batches=[(1, 2, 3)]), r"batches: a batch is a tuple of 3; yield \(x, y\) pairs"),
        (dict(y_float=True), "batches: cross-entropy needs integer class labels y, got torch.float32"),
    ],
)
def test_arguments_that_would_fail_deep_in_training_are_named(kwargs, match):
    x, y = data(200)
    y = y.float() if kwargs.pop("y_float", False) else y
    modules = kwargs.pop("modules") if "modules" in kwargs else mlp()
    objs = kwargs.pop("objs") if "objs" in kwargs else objectives()
    batches = kwargs.pop("batches", batches_of(x, y))
    with pytest.raises(ValueError, match=match):
        train_greedy(modules, objs, batches, **{"epochs": 1, **kwargs})


def test_a_module_whose_output_is_constant_trains_on_with_a_zero_gradient():
    # A dead ReLU layer (every output 0): its matrix-based MI is 0 with a zero gradient, and the run
    # goes on to the modules after it.
    x, y = data(200)
    modules = mlp()
    with torch.no_grad():
        modules[1][0].weight.zero_()
        modules[1][0].bias.fill_(-1.0)
    result = train_greedy(modules, objectives(), batches_of(x, y), epochs=1)
    assert result.histories[1][0]["mi"] == pytest.approx(0.0, abs=1e-6)
    assert len(result.histories[2]) == 1


def test_labels_of_shape_n_by_1_train_as_labels_of_shape_n():
    x, y = data(200)
    flat = train_greedy(mlp(), objectives(), batches_of(x, y), epochs=1)
    column = train_greedy(mlp(), objectives(), batches_of(x, y[:, None]), epochs=1)
    assert flat.histories[2][0]["loss"] == column.histories[2][0]["loss"]


@pytest.mark.parametrize(
    "labels", [lambda y: np.array(["a", "b"])[y.numpy()], lambda y: y.numpy(), lambda y: y.tolist()]
)
def test_labels_that_are_not_a_tensor_are_refused_by_name(labels):
    x, y = data(200)
    for batch in ((x, labels(y)), Batch(x, labels(y))):
        with pytest.raises(ValueError, match="batches: a batch holds x a Tensor and y a"):
            train_greedy(mlp(), objectives(), [batch], epochs=1)
