"""The options every reproduction shares: overriding a preset's config from the command line."""

import json
import math
import re
from dataclasses import asdict

import numpy as np
import pytest
import torch
from torch import nn

from iblearn.experiments import ReproduceOptions
from iblearn.experiments.mole import Config
from iblearn.experiments.run_checkpoint import RunCheckpoint
from iblearn.experiments.training import accuracy, module_optimizers, sharded_batches, train_epoch


def test_overrides_replace_fields_and_lists_become_tuples():
    config = ReproduceOptions(overrides={"tasks": ["cora"], "seeds": 5}).configure(Config.quick())
    assert config.tasks == ("cora",)
    assert config.seeds == 5
    assert config.epochs == Config.quick().epochs  # everything else is the preset's


def test_nested_lists_become_nested_tuples():
    from iblearn.experiments.layerwise_ib import Config as LayerwiseConfig

    config = ReproduceOptions(overrides={"runs": [["fashion-mnist", 0.1]]}).configure(LayerwiseConfig())
    assert config.runs == (("fashion-mnist", 0.1),)


def test_an_unknown_field_is_named():
    with pytest.raises(ValueError, match="--set colour: Config has no such field"):
        ReproduceOptions(overrides={"colour": 3}).configure(Config.quick())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"estimators": "mine"}, "--set estimators: expected a JSON list"),  # would iterate its letters
        ({"seeds": "five"}, "--set seeds: expected int"),
        ({"seeds": 2.5}, "--set seeds: expected int"),
        ({"standardize_output": 1}, "--set standardize_output: expected true or false"),
    ],
)
def test_a_value_that_does_not_fit_its_field_is_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        ReproduceOptions(overrides=overrides).configure(Config.quick())


def test_a_nested_config_takes_an_object_of_its_own_fields():
    from iblearn.experiments import ib_theory

    config = ReproduceOptions(overrides={"plane": {"epochs": 3}, "linear_n": 500}).configure(
        ib_theory.Config()
    )
    assert config.plane.epochs == 3 and config.linear_n == 500
    assert config.plane.train_size == ib_theory.Config().plane.train_size
    with pytest.raises(ValueError, match=r"--set plane\.colour: Config has no such field"):
        ReproduceOptions(overrides={"plane": {"colour": 1}}).configure(ib_theory.Config())


def test_no_overrides_return_the_preset_itself():
    preset = Config.quick()
    assert ReproduceOptions().configure(preset) is preset


def test_a_run_checkpoint_writes_a_row_lost_between_its_checkpoint_and_the_row(tmp_path, monkeypatch):
    run = ReproduceOptions(out=tmp_path).run_folder("x")
    net = nn.Linear(2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    checkpoint = RunCheckpoint(run, "a")
    checkpoint.save(1, [net], opt, {"loss": 1.0})
    monkeypatch.setattr(run, "append_metrics", lambda row: None)  # killed after the checkpoint
    checkpoint.save(2, [net], opt, {"loss": 0.5})
    monkeypatch.undo()
    assert RunCheckpoint(run, "a").epochs_done([net], opt, epochs=3) == 2
    assert [(r["epoch"], r["loss"]) for r in run.metrics()] == [("1", "1.0"), ("2", "0.5")]


def test_a_fresh_start_leaves_nothing_of_an_earlier_run_to_continue_or_report(tmp_path):
    run = ReproduceOptions(out=tmp_path).run_folder("x")
    run.write_config({"epochs": 1})
    net = nn.Linear(2, 1)
    RunCheckpoint(run, "a").save(1, [net], torch.optim.SGD(net.parameters(), lr=0.1), {"loss": 1.0})
    run.write_table("old")
    fresh = ReproduceOptions(out=tmp_path).run_folder("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "config.json", "metrics.csv"]
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    assert RunCheckpoint(fresh, "a").epochs_done([net], opt, epochs=1) == 0


def test_start_writes_the_experiment_the_config_the_seed_and_what_else_is_given(tmp_path):
    run = ReproduceOptions(out=tmp_path, seed=3).start(
        "x", "A & B (2020), Table 1", Config.quick(), device="cpu"
    )
    written = json.loads(run.file("config.json").read_text())
    assert list(written) == ["experiment", *asdict(Config.quick()), "seed", "device"]
    assert written == {
        "experiment": "A & B (2020), Table 1",
        **json.loads(json.dumps(asdict(Config.quick()))),
        "seed": 3,
        "device": "cpu",
    }


@pytest.mark.parametrize(
    "overrides",
    [{"tasks": [1, 2]}, {"lr": float("nan")}, {"runs": ["mnist"]}, {"runs": [["mnist", 1.0, 3]]}],
)
def test_list_items_and_non_finite_numbers_are_checked(overrides):
    from iblearn.experiments.layerwise_ib import Config as LayerwiseConfig

    config = Config() if "tasks" in overrides or "lr" in overrides else LayerwiseConfig()
    with pytest.raises(ValueError, match="--set"):
        ReproduceOptions(overrides=overrides).configure(config)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seeds": -3}, "--set seeds: must be >= 1, got -3"),
        ({"epochs": 0}, "--set epochs: must be >= 1, got 0"),
        ({"lr": -1e-3}, "--set lr: must be >= 0"),
        ({"train_size": -5}, "--set train_size: must be >= 1"),  # preset None: the declared int | None
        ({"train_size": "all"}, "--set train_size: expected int or null"),
        ({"seeds": None}, "--set seeds: expected int"),  # not optional
    ],
)
def test_counts_sizes_and_rates_are_range_checked(overrides, message):
    with pytest.raises(ValueError, match=message):
        ReproduceOptions(overrides=overrides).configure(Config())


def test_zero_and_null_are_taken_where_they_mean_something():
    config = ReproduceOptions(
        overrides={"tsne_samples": 0, "output_lr": None, "train_size": 500, "lr": 0}
    ).configure(Config())
    assert (config.tsne_samples, config.output_lr, config.train_size, config.lr) == (0, None, 500, 0)
    with pytest.raises(ValueError, match=r"--set runs: must be >= 0"):
        from iblearn.experiments.layerwise_ib import Config as LayerwiseConfig

        ReproduceOptions(overrides={"runs": [["mnist", -0.5]]}).configure(LayerwiseConfig())


@pytest.mark.parametrize(("output_lr", "head"), [(None, 1e-3), (1e-2, 1e-2), (0.0, 0.0)])
def test_the_output_module_trains_at_output_lr_and_the_others_at_lr(output_lr, head):
    modules = [nn.Linear(2, 2) for _ in range(3)]
    factories = module_optimizers(3, 1e-3, output_lr)
    lrs = [f(m.parameters()).param_groups[0]["lr"] for f, m in zip(factories, modules, strict=True)]
    assert lrs == [1e-3, 1e-3, head]  # 0 is taken as given, as lr = 0 is


def test_accuracy_builds_no_graph():
    seen = []

    class Recorder(nn.Linear):
        def forward(self, x):
            seen.append(torch.is_grad_enabled())
            return super().forward(x)

    assert accuracy(Recorder(2, 2), torch.randn(1500, 2), torch.zeros(1500, dtype=torch.long), "cpu") >= 0
    assert seen == [False, False]  # two chunks of at most 1,000


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seeds": 10**20}, "--set seeds: must be at most 100,000,000"),  # would run for ever
        ({"train_size": 10**11}, "--set train_size: must be at most"),  # would die allocating
        ({"tasks": []}, "--set tasks: must name at least one of its choices"),  # ended in a plot error
    ],
)
def test_counts_that_could_never_finish_and_empty_choices_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        ReproduceOptions(overrides=overrides).configure(Config())


def test_first_seed_zero_is_the_default_and_is_accepted():
    from iblearn.experiments.estimators.accuracy import AccuracyConfig

    assert ReproduceOptions(overrides={"first_seed": 0}).configure(AccuracyConfig()).first_seed == 0


def _tamper(run, key, **changes):
    """Rewrite unit ``key``'s checkpoint with ``changes`` (None deletes an entry)."""
    checkpoint = RunCheckpoint(run, key)
    state = run.load_checkpoint(checkpoint.file)
    for name, value in changes.items():
        if value is None:
            del state[name]
        else:
            state[name] = value(state) if callable(value) else value
    run.save_checkpoint(state, checkpoint.file)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epoch": 999}, "epoch 999 is not one of this run's 1..3"),
        ({"epoch": -5}, "epoch -5 is not one of"),
        ({"epoch": "2"}, "epoch '2' is not one of"),
        ({"row": lambda s: {**s["row"], "key": "b"}}, "its row is not epoch 2 of 'a'"),
        ({"rng": None}, "does not fit this run .KeyError"),
        ({"rng": torch.zeros(3)}, "does not fit this run .TypeError: RNG state"),
        ({"modules": lambda s: [{"weight": torch.zeros(5, 5), "bias": torch.zeros(1)}]}, "size mismatch"),
        ({"modules": []}, "does not fit this run .ValueError"),
        ({"optimizer": {"state": {}}}, "does not fit this run"),
    ],
)
def test_a_tampered_checkpoint_is_refused_and_no_row_changes(tmp_path, changes, message):
    run = ReproduceOptions(out=tmp_path).run_folder("x")
    net = nn.Linear(2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in (1, 2):
        RunCheckpoint(run, "a").save(epoch, [net], opt, {"loss": 1.0 / epoch})
    _tamper(run, "a", **changes)
    rows = run.metrics()
    with pytest.raises(ValueError, match=rf"(?s)checkpoint-a\.pt: .*{message}"):
        RunCheckpoint(run, "a").epochs_done([nn.Linear(2, 1)], opt, epochs=3)
    assert run.metrics() == rows


def test_sharded_batches_cover_every_row_once_in_an_order_fixed_by_seed_and_epoch():
    """In one process every batch is whole; a resumed run redraws the same order from seed and epoch."""
    x, y = torch.arange(10.0)[:, None], torch.arange(10)
    batches = sharded_batches(x, y, 4, seed=3)
    first = batches(0)
    assert [len(b.y) for b in first] == [4, 4, 2]
    assert sorted(torch.cat([b.y for b in first]).tolist()) == list(range(10))
    order = torch.randperm(10, generator=torch.Generator().manual_seed(3 * 1000 + 0))
    assert torch.cat([b.y for b in first]).tolist() == order.tolist()
    assert all(torch.equal(b.x[:, 0].long(), b.y) for b in first)
    assert [b.y.tolist() for b in sharded_batches(x, y, 4, seed=3)(0)] == [b.y.tolist() for b in first]
    assert torch.cat([b.y for b in batches(1)]).tolist() != order.tolist()


def test_a_lone_last_row_joins_the_batch_before_it():
    """A batch of one row has no spread: batch norm, a kernel width rule and negative pairs refuse it
    mid-run. 9 rows in batches of 4 are cut 4, 5; every row is still trained on once an epoch."""
    from iblearn.experiments.training import split_rows

    x, y = torch.arange(9.0)[:, None], torch.arange(9)
    first = sharded_batches(x, y, 4, seed=3)(0)
    assert [len(b.y) for b in first] == [4, 5]
    assert sorted(torch.cat([b.y for b in first]).tolist()) == list(range(9))
    assert [len(p) for p in split_rows(torch.arange(1), 4)] == [1]  # one row alone stays (its own check)
    assert [len(p) for p in split_rows(torch.arange(10), 4)] == [4, 4, 2]
    model = nn.Sequential(nn.Linear(1, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out = train_epoch(model, opt, x, y % 2, 4, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert math.isfinite(out["train_loss"])


@pytest.mark.parametrize("resume", [False, True])
def test_a_folder_of_files_no_run_made_is_refused_and_left_as_it_is(tmp_path, resume):
    (tmp_path / "table.md").write_text("my table")
    (tmp_path / "metrics.csv").write_text("a,b\n1,2\n")
    with pytest.raises(
        ValueError, match=r"--out: .* holds files \(metrics.csv, table.md\) but no config.json"
    ):
        ReproduceOptions(out=tmp_path, resume=resume).run_folder("x")
    assert (tmp_path / "table.md").read_text() == "my table"
    assert (tmp_path / "metrics.csv").read_text() == "a,b\n1,2\n"
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"--out: .*file is a file; give a folder"):
        ReproduceOptions(out=tmp_path / "file", resume=resume).run_folder("x")
    assert ReproduceOptions(out=tmp_path / "new", resume=resume).run_folder("x").path == tmp_path / "new"


def test_a_fresh_start_after_a_kill_before_the_first_row_continues_nothing(tmp_path):
    # Killed inside its first training: a checkpoint, a part's folder and a cached range test, no row yet.
    run = ReproduceOptions(out=tmp_path).run_folder("x", nested="training")
    run.write_config({"epochs": 1})
    net = nn.Linear(2, 1)
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "checkpoint-greedy.pt").write_bytes(b"state")
    (tmp_path / "checkpoint-a.pt").write_bytes(b"state")
    (tmp_path / "lr_range-mnist-lenet5.json").write_text("{}")
    fresh = ReproduceOptions(out=tmp_path).run_folder("x", nested="training")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "config.json"]
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    assert RunCheckpoint(fresh, "a").epochs_done([net], opt, epochs=1) == 0


@pytest.mark.parametrize("seed", [-1, 2**32, 2**70, True, 1.0])
def test_a_seed_the_runs_cannot_use_is_refused_naming_seed(seed):
    # Runs seed numpy's generators (which take no negative seed) and torch's with seed, seed + 1, ...
    # and seed * 1000 + epoch (which overflow past 2^64): refused before anything runs.
    with pytest.raises(ValueError, match=r"--seed: expected an integer in \[0, 2\^32\)"):
        ReproduceOptions(seed=seed)


def test_the_largest_seed_runs_every_seed_and_epoch_stream():
    seed = ReproduceOptions(seed=2**32 - 1).seed
    torch.Generator().manual_seed((seed + 10**8) * 1000 + 10**8)
    np.random.default_rng(seed + 10**8)


def test_a_run_folder_another_process_is_writing_is_refused(tmp_path):
    """Two runs in one folder would each rewrite metrics.csv from the rows they hold and start over by
    deleting the other's checkpoints: the second is refused while the first runs, and a killed first
    leaves nothing that refuses a later one."""
    import subprocess
    import sys

    holder = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n"
    )
    first = subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path / ".lock")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "held"
        with pytest.raises(ValueError, match="--out: another run is writing to"):
            ReproduceOptions(out=tmp_path).run_folder("x")
    finally:
        first.kill()
        first.wait()
    run = ReproduceOptions(out=tmp_path).run_folder("x")
    assert ReproduceOptions(out=tmp_path, resume=True).run_folder("x").path == run.path  # this process's own


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        (
            "proximal",
            {"parts": ["binary", "vea"]},
            "--set parts: expected one of binary, image, vae, got 'vea'",
        ),
        ("proximal", {"optimizers": ["adam"]}, "--set optimizers: expected one of Adam, AdamW, NAdam, AdamP"),
        ("proximal", {"methods": ["ours", "nope"]}, "--set methods: expected one of baseline, split-lr"),
        ("proximal", {"vae_datasets": ["svhn"]}, "--set vae_datasets: expected one of mnist, fashion-mnist"),
        ("layerwise_ib", {"methods": ["vib"]}, "--set methods: expected one of ce, iyl, ib, got 'vib'"),
        ("layerwise_ib", {"runs": [["svhn", 1.0]]}, "--set runs: expected one of mnist, fashion-mnist"),
        ("mole", {"tasks": ["adult", "cifar"]}, "--set tasks: expected one of adult, mnist, mutagenicity"),
        ("mole", {"estimators": ["mine", "dim"]}, "--set estimators: expected one of matrix, mine,"),
        ("mi_lr", {"runs": [["mnist", "resnet"]]}, "--set runs: expected one of lenet5, small_vgg"),
        ("mi_lr", {"methods": ["sgd"]}, "--set methods: expected one of mi-global, mi-layerwise, adam"),
        ("mi_lr", {"grid": {"sgd": [0.1]}}, "--set grid: expected one of mi-global, mi-layerwise, adam"),
        ("mi_lr", {"ixy": "mine"}, "--set ixy: expected one of entropy, ksg, got 'mine'"),
        (
            "ib_theory",
            {"plane": {"runs": ["tanh", "sigmoid"]}},
            "--set plane.runs: expected one of tanh, relu",
        ),
    ],
)
def test_a_name_a_field_does_not_know_is_refused_before_anything_runs(name, overrides, message):
    # Each would have died mid-run with a KeyError (optimizers, layer-wise methods, models), or run
    # nothing of what was named and reported that as the run (parts, proximal's methods, the grid).
    import importlib

    config = importlib.import_module(f"iblearn.experiments.{name}").Config()
    with pytest.raises(ValueError, match=re.escape(message)):
        ReproduceOptions(overrides=overrides).configure(config)


@pytest.mark.parametrize("name", ["mole", "layerwise_ib"])
def test_a_t_sne_figure_of_one_point_is_refused_naming_the_field(name):
    # scikit-learn refused its perplexity of 0 only after every net was trained: "The 'perplexity'
    # parameter of TSNE must be a float in the range (0.0, inf). Got 0 instead."
    import importlib

    config = importlib.import_module(f"iblearn.experiments.{name}").Config()
    with pytest.raises(ValueError, match=r"--set tsne_samples: a t-SNE figure needs at least 2 points"):
        ReproduceOptions(overrides={"tsne_samples": 1}).configure(config)
    assert ReproduceOptions(overrides={"tsne_samples": 2}).configure(config).tsne_samples == 2


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("mi_lr", {"train_size": 9}, "--set train_size: the MI sample needs at least 10 samples"),
        ("mi_lr", {"range_lrs": [0.1, 0]}, "--set range_lrs: expected at least one rate, each above 0"),
        ("mi_lr", {"range_lrs": []}, "--set range_lrs: expected at least one rate, each above 0"),
        ("mi_lr", {"grid": {"adam": []}}, "--set grid: expected at least one rate, each above 0"),
        ("mi_lr", {"sensitivity": [500, 5]}, "--set sensitivity: MIProbe needs at least 10 samples, got 5"),
        ("layerwise_ib", {"widths": [256, 0, 10]}, "--set widths: expected at least one layer"),
        ("layerwise_ib", {"widths": []}, "--set widths: expected at least one layer"),
        ("layerwise_ib", {"batch_size": 1}, "--set batch_size: MINE (a batch) needs at least 2 samples"),
        ("layerwise_ib", {"critic_lr": 0}, "--set critic_lr: must be above 0"),
        ("layerwise_ib", {"runs": [["mnist", 0]]}, "--set runs: a fraction of the training set in (0, 1]"),
        ("layerwise_ib", {"runs": [["mnist", 1.5]]}, "--set runs: a fraction of the training set in (0, 1]"),
        ("mole", {"batch_size": 1}, "--set batch_size: a batch of the estimators needs at least 2"),
        ("mole", {"train_size": 1}, "--set train_size: a batch of the estimators needs at least 2"),
        ("mole", {"test_size": 1}, "--set test_size: a t-SNE figure needs at least 2 points"),
        ("proximal", {"binary_gammas": [100, 0]}, "--set binary_gammas: expected at least one rate, each"),
        ("proximal", {"lam": 0}, "--set lam: must be above 0"),
        ("proximal", {"batch_size": 1}, "--set batch_size: the VAE's batch norm (a batch) needs at least 2"),
        ("proximal", {"train_size": 1}, "--set train_size: the VAE's batch norm (a batch) needs at least 2"),
        ("aamine_noise", {"widths": [10, 0, 5]}, "--set widths: expected at least one layer"),
        ("aamine_noise", {"n_train": 1}, "--set n_train: MINE needs at least 2 samples"),
        ("aamine_noise", {"n_test": 1}, "--set n_test: MINE needs at least 2 samples"),
        ("aamine_noise", {"lr": 0}, "--set lr: must be above 0"),
        ("estimators", {"sizes": [1000, 0]}, "--set sizes: expected at least one size, each at least 1"),
        ("estimators", {"sizes": []}, "--set sizes: expected at least one size, each at least 1"),
        ("estimators", {"tasks": ["gaussian"]}, "--set tasks: expected one of bivariate-normal-0.75,"),
        ("mi_lr", {"c1": 0}, "--set c1: must be above 0"),
        ("mi_lr", {"c2": 0}, "--set c2: must be above 0"),
    ],
)
def test_a_value_no_run_can_use_is_refused_naming_the_field(name, overrides, message):
    # Each died mid-run naming an argument of the code beneath (x, y, n, lr, lrs, lr_forward, ixy).
    import importlib

    module = importlib.import_module(f"iblearn.experiments.{name}")
    config = module.AccuracyConfig() if name == "estimators" else module.Config()
    with pytest.raises(ValueError, match=re.escape(message)):
        ReproduceOptions(overrides=overrides).configure(config)


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("mi-lr", {"train_size": 9}),
        ("layerwise-ib", {"critic_lr": 0}),
        ("mole", {"batch_size": 1}),
        ("proximal", {"lam": 0}),
        ("aamine-noise", {"lr": 0}),
        ("estimators", {"sizes": [0]}),
        ("ib-theory", {"linear_n": 3}),
    ],
)
def test_a_refused_value_leaves_no_run_folder(tmp_path, name, overrides):
    from iblearn.experiments import REPRODUCTIONS

    with pytest.raises(ValueError, match=r"^--set "):
        REPRODUCTIONS[name](ReproduceOptions(out=tmp_path / "run", overrides=overrides))
    assert not (tmp_path / "run").exists()


def test_the_smallest_values_a_run_can_use_are_taken():
    from iblearn.experiments import aamine_noise, estimators, layerwise_ib, mi_lr, proximal

    for config, overrides in [
        (mi_lr.Config(), {"train_size": 10, "range_lrs": [0.1], "sensitivity": [10]}),
        (layerwise_ib.Config(), {"widths": [1], "batch_size": 2, "runs": [["mnist", 1.0]]}),
        (Config(), {"batch_size": 2, "train_size": 2, "test_size": 1, "tsne_samples": 0}),
        (proximal.Config(parts=("binary", "image")), {"batch_size": 1, "train_size": 1}),
        (aamine_noise.Config(), {"widths": [1], "n_train": 2, "n_test": 2}),
        (estimators.AccuracyConfig(), {"sizes": [1]}),
    ]:
        ReproduceOptions(overrides=overrides).configure(config)


def test_every_preset_passes_its_own_checks():
    from iblearn.experiments import aamine_noise, ib_theory, layerwise_ib, mi_lr, mole, proximal

    for module in (aamine_noise, ib_theory, layerwise_ib, mi_lr, mole, proximal):
        presets = [getattr(module.Config, p) for p in ("quick", "full", "demo") if hasattr(module.Config, p)]
        for preset in (module.Config, *presets):  # constructing one runs its checks
            assert isinstance(preset(), module.Config)


FLOAT32 = "at most 3.4e+38 (float32's largest number"
RATE = "at most 3.4e+37 (float32's largest number over 10: Adam's first step"


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        # Each overflowed mid-run: the optimizers died converting the rate to float32 ("value cannot be
        # converted to type float without overflow"; Adam's at 3e38 too, its first step being 10 times the
        # rate), or the loss became inf and the weights NaN.
        ("layerwise_ib", {"lr": 1e300}, f"--set lr: {RATE}"),
        ("layerwise_ib", {"output_lr": 1e300}, f"--set output_lr: {RATE}"),
        ("layerwise_ib", {"critic_lr": 1e300}, f"--set critic_lr: {RATE}"),
        ("layerwise_ib", {"beta": 1e300}, f"--set beta: {FLOAT32}"),
        ("layerwise_ib", {"tsne_betas": [1e300]}, f"--set tsne_betas: {FLOAT32}"),
        ("aamine_noise", {"lr": 1e300}, f"--set lr: {RATE}"),
        ("mole", {"lr": 1e300}, f"--set lr: {RATE}"),
        ("mole", {"output_lr": 1e300}, f"--set output_lr: {RATE}"),
        ("proximal", {"lam": 1e300}, f"--set lam: {FLOAT32}"),
        ("proximal", {"binary_gammas": [100, 1e300]}, f"--set binary_gammas: {FLOAT32}"),
        ("proximal", {"binary_baseline_lrs": [1e300]}, f"--set binary_baseline_lrs: {RATE}"),
        ("mi_lr", {"range_lrs": [0.1, 1e300]}, f"--set range_lrs: {RATE}"),
        ("mi_lr", {"grid": {"adam": [1e300]}}, f"--set grid: {RATE}"),
        ("ib_theory", {"plane": {"lr": 1e300}}, f"--set plane.lr: {RATE}"),
        ("ib_theory", {"plane": {"beta": 1e300}}, f"--set plane.beta: {FLOAT32}"),
        ("ib_theory", {"plane": {"ib_beta": 1e300}}, f"--set plane.ib_beta: {FLOAT32}"),
        # A noise far above the outputs it is added to: aamine-noise's 1e300 made y inf ("y: contains NaN
        # or Inf") once the smaller variances had trained, 1e38 a NaN loss, and 1e30 a number of noise
        # alone; the same for layer-wise IB's noise and the denoising VAE's.
        ("aamine_noise", {"noise_vars": [0.0, 1e300]}, "--set noise_vars: at most 2.81e+14 (a std of 2^24"),
        ("aamine_noise", {"noise_vars": [1e30]}, "--set noise_vars: at most 2.81e+14 (a std of 2^24"),
        ("layerwise_ib", {"noise_std": 1e20}, "--set noise_std: at most 1.68e+07 (2^24"),
        ("proximal", {"noise_std": 1e20}, "--set noise_std: at most 1.68e+07 (2^24"),
        ("ib_theory", {"plane": {"stochastic_std": 1e20}}, "--set plane.stochastic_std: at most 1.68e+07"),
    ],
)
def test_a_value_that_overflows_mid_run_is_refused_naming_the_field(name, overrides, message):
    import importlib

    config = importlib.import_module(f"iblearn.experiments.{name}").Config()
    with pytest.raises(ValueError, match=re.escape(message)):
        ReproduceOptions(overrides=overrides).configure(config)


def test_the_largest_rates_and_noises_are_taken():
    from iblearn.experiments import aamine_noise, layerwise_ib

    big = float(torch.finfo(torch.float32).max)
    overrides = {"lr": big / 10, "beta": big, "noise_std": 2.0**24}
    ReproduceOptions(overrides=overrides).configure(layerwise_ib.Config())
    ReproduceOptions(overrides={"noise_vars": [0.0, 2.0**48]}).configure(aamine_noise.Config())
