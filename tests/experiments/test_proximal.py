"""The paper 000 reproduction on a tiny configuration: run folder, resume after a kill, the table."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

import iblearn.experiments.proximal as exp
from iblearn.experiments import ReproduceOptions
from iblearn.experiments.proximal import step as proximal_step
from iblearn.records import RunFolder, read_json
from tests.experiments.kill import Killed, assert_resumes_exactly, image_loader, kill_at, killed_then_resumed

# One optimizer, one seed, MNIST, small nets and sets; each test adds the parts and epochs it runs.
SMALL = exp.Config(
    image_datasets=("mnist",), vae_datasets=("mnist",), optimizers=("Adam",), seeds=1, batch_size=64, width=4
)
TINY = replace(
    SMALL, binary_iterations=20, binary_gammas=(100.0,), epochs=2, vae_epochs=1, train_size=128, test_size=64
)


def _killed_after_epoch_1(monkeypatch, config, key, out):
    """Runs ``config`` into ``out``, killed just after the checkpoint of the first epoch of ``key``."""
    original = exp.RunCheckpoint.save

    def save_then_die(self, epoch, *args, **kwargs):
        original(self, epoch, *args, **kwargs)
        if self.key == key and epoch == 1:
            raise Killed

    monkeypatch.setattr(exp.RunCheckpoint, "save", save_then_die)
    with pytest.raises(Killed):
        exp.run(ReproduceOptions(out=out), config)
    monkeypatch.setattr(exp.RunCheckpoint, "save", original)


@pytest.fixture(autouse=True)
def _tiny_data(monkeypatch):
    monkeypatch.setattr(exp, "load_images", image_loader(300, 150, stripes=False))


def test_runs_resumes_and_tabulates(tmp_path):
    # killed at the first image net of ProximalSplit
    done, path = killed_then_resumed(exp.run, TINY, tmp_path, kill_at("image mnist Adam ours"))
    rows = RunFolder(path).metrics()

    def fields(r):
        return r["key"], r["epoch"], r["train_loss"]

    assert [fields(r) for r in rows[: len(done)]] == [fields(r) for r in done]  # nothing finished was redone
    keys = {r["key"] for r in rows}
    assert {
        "image|mnist|Adam|baseline|0",
        "image|mnist|Adam|ours|0",
        "vae|mnist|Adam|second-order huber|0",
        "binary|2d|SGD|ours gamma=100|0",
    } <= keys
    assert len([r for r in rows if r["key"] == "image|mnist|Adam|ours|0"]) == 2  # two epochs, once each
    table = (path / "table.md").read_text()
    assert "97.74 ± 0.04" in table and "Table 3" in table  # the paper's numbers beside ours
    results = read_json(path / "results.json")
    assert results["not_run"] == {} and results["environment"]["torch"] == torch.__version__


def test_a_run_killed_after_a_checkpoint_continues_from_it(tmp_path, monkeypatch):
    config = replace(SMALL, parts=("image",), epochs=2, train_size=128, test_size=64)
    unbroken = tmp_path / "unbroken"
    exp.run(ReproduceOptions(out=unbroken), config)
    reference = [r for r in RunFolder(unbroken).metrics() if r["key"] == "image|mnist|Adam|ours|0"]
    assert not list(unbroken.glob("checkpoint-*.pt"))  # finished runs keep no checkpoint

    killed = tmp_path / "killed"
    _killed_after_epoch_1(monkeypatch, config, "image|mnist|Adam|ours|0", killed)
    assert (killed / "checkpoint-image_mnist_Adam_ours_0.pt").exists()
    exp.run(ReproduceOptions(out=killed, resume=True), config)
    resumed = [r for r in RunFolder(killed).metrics() if r["key"] == "image|mnist|Adam|ours|0"]
    assert [r["epoch"] for r in resumed] == ["1", "2"]
    assert [r["test"] for r in resumed] == [r["test"] for r in reference]  # as if never stopped


def test_cifar_without_a_copy_is_marked_not_run(tmp_path, monkeypatch):
    def missing(name, split):
        raise FileNotFoundError("no archive")

    monkeypatch.setattr(exp, "load_images", missing)
    config = exp.Config(
        parts=("image",), image_datasets=("cifar10",), optimizers=("Adam",), seeds=1, epochs=1
    )
    path = exp.run(ReproduceOptions(out=tmp_path), config)
    assert "not run: cifar10 is not available offline" in (path / "table.md").read_text()
    assert read_json(path / "results.json")["not_run"]


def test_a_damaged_archive_stops_the_run_with_the_loaders_message(tmp_path, monkeypatch, capsys):
    """Only a data set that is not there is marked not run; a damaged one stops the run, its file named
    with what to do, on the command's error line."""
    from iblearn.cli import main
    from iblearn.data.vision import load_images

    monkeypatch.setattr(exp, "load_images", load_images)  # the real loader, not this module's tiny one
    archive = tmp_path / "data" / "CIFAR10" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"not an archive")
    monkeypatch.setenv("IBLEARN_DATA", str(tmp_path / "data"))
    config = tmp_path / "c.toml"
    config.write_text('parts = ["image"]\nimage_datasets = ["cifar10"]\noptimizers = ["Adam"]\nseeds = 1\n')
    assert main(["reproduce", "proximal", "--config", str(config), "--out", str(tmp_path / "run")]) == 2
    said = capsys.readouterr().err
    assert said.lstrip().startswith("error: ") and f"{archive} is damaged" in said and "delete it" in said
    assert not (tmp_path / "run" / "results.json").exists()


def test_unknown_optimizer():
    with pytest.raises(ValueError, match="optimizers: unknown optimizer 'Lion'"):
        proximal_step.optimizer_class("Lion")


BINARY = exp.Config(
    parts=("binary",), binary_iterations=30, binary_gammas=(100.0,), binary_baseline_lrs=(0.1,), seeds=1
)


def test_binary_rows_after_a_kill_are_those_of_an_unbroken_run(tmp_path, monkeypatch):
    unbroken = RunFolder(exp.run(ReproduceOptions(out=tmp_path / "unbroken"), BINARY)).metrics()
    original, calls = exp.train_step, []

    def die_mid_method(opt, closure):
        calls.append(1)
        if len(calls) == 75:  # inside the third method's 30 iterations
            raise Killed
        return original(opt, closure)

    monkeypatch.setattr(exp, "train_step", die_mid_method)
    with pytest.raises(Killed):
        exp.run(ReproduceOptions(out=tmp_path / "killed"), BINARY)
    monkeypatch.setattr(exp, "train_step", original)
    keys = {r["key"] for r in RunFolder(tmp_path / "killed").metrics()}
    assert len(keys) == 2  # two whole methods, nothing of the third
    resumed = RunFolder(exp.run(ReproduceOptions(out=tmp_path / "killed", resume=True), BINARY)).metrics()
    assert sorted((r["key"], r["epoch"]) for r in resumed) == sorted((r["key"], r["epoch"]) for r in unbroken)
    assert len({(r["key"], r["epoch"]) for r in resumed}) == len(resumed)  # no duplicates


def test_with_sgd_and_l2_first_order_is_backprop_at_split_rates(tmp_path):
    """Eq. (4)'s step moves theta by gamma lam beta grad_theta L: the control reproduces it."""
    rows = RunFolder(exp.run(ReproduceOptions(out=tmp_path), BINARY)).metrics()
    losses = {
        m: [float(r["train_loss"]) for r in rows if r["key"] == f"binary|2d|SGD|{m} gamma=100|0"]
        for m in ("first-order", "split-lr backprop", "ours", "ours literal")
    }
    assert losses["first-order"] == pytest.approx(losses["split-lr backprop"], rel=1e-4)
    assert losses["ours"] != pytest.approx(losses["ours literal"], rel=1e-3)


def test_stability_reads_the_whole_run():
    trace = [50.0, 80.0, 96.0, 97.0, 60.0, 98.0, 99.0]
    assert exp.stability(trace) == {"iterations_to_95": 3, "worst_after_95": 60.0, "drops_after_95": 1}
    assert exp.stability([50.0, 60.0])["iterations_to_95"] == ""


def test_second_order_ratio_leaves_batch_norm_and_the_rng_alone():
    torch.manual_seed(0)
    f = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh())
    g = torch.nn.Linear(4, 2)
    x, y = torch.randn(16, 3), torch.randint(0, 2, (16,))
    seen = {}
    closure = proximal_step.make_closure(f, g, x, lambda out: torch.nn.functional.cross_entropy(out, y), seen)
    mean, state = f[1].running_mean.clone(), torch.get_rng_state()
    ratio = exp.second_order_ratio(f, closure, beta=10.0)
    assert 0 < ratio < float("inf")
    assert torch.equal(f[1].running_mean, mean) and torch.equal(torch.get_rng_state(), state)


def test_a_vae_run_killed_after_a_checkpoint_continues_as_if_never_stopped(tmp_path, monkeypatch):
    config = replace(
        SMALL, parts=("vae",), methods=("ours",), vae_epochs=2, train_size=128, test_size=64, ablation=False
    )
    key = "vae|mnist|Adam|ours|0"
    unbroken = [r for r in RunFolder(exp.run(ReproduceOptions(out=tmp_path / "a"), config)).metrics()]
    _killed_after_epoch_1(monkeypatch, config, key, tmp_path / "b")
    resumed = RunFolder(exp.run(ReproduceOptions(out=tmp_path / "b", resume=True), config)).metrics()
    assert [r["train_loss"] for r in resumed] == [r["train_loss"] for r in unbroken]  # the same RNG stream


def test_a_run_killed_at_random_writes_resumes_to_the_rows_of_an_unbroken_run(tmp_path):
    assert_resumes_exactly(exp.run, TINY, tmp_path, kills=1)


def test_a_seed_still_under_way_is_left_out_of_the_summary():
    from iblearn.experiments.proximal.report import summarize

    rows = [
        {"key": f"image|mnist|Adam|ours|{seed}", "epoch": str(epoch), "test": str(90 + epoch)}
        for seed, done in ((0, 5), (1, 5), (2, 1))
        for epoch in range(1, done + 1)
    ]
    (entry,) = summarize(rows, {"image": 5})
    assert entry["seeds"] == 2 and entry["test"] == (95.0, 0.0)
    assert summarize(rows)[0]["seeds"] == 3  # without the epochs, every seed's last row
