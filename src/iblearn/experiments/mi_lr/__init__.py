"""``iblearn reproduce mi-lr``: the experiments of Vasudevan (2020), MI-driven LR decay.

For each (data set, model): the LR range test (Algorithm 2) sets (lr_min, lr_max, lr_top, epsilon);
SGD with momentum 0.9 and Nesterov then trains with MIDecayLR (Algorithm 1), globally (I(T; Y) of the
output) and layer-wise (each layer's group follows the MI of that layer's output, within the same
range, as the paper did). The alternatives, Adam, RMSprop, step-decay SGD and LARS, each get their
best initial LR from a small grid. Reported as in the paper: the best test accuracy of the seeds.
Plus the MI sample-size sensitivity test (500 / 1,000 / 2,000; paper: CIFAR-10 VGG16, here MNIST).

Differences from the paper, recorded in the config: Fashion-MNIST and a small VGG-style net stand in
for CIFAR-10 and VGG16/AllConvNet (no offline CIFAR-10; its rows are run if the archive is present);
the initial-LR grid is chosen on a validation split held out of the training set (the paper does not
say which data chose it); the step-decay policy halves the LR every 15% of the epochs; LARS runs
without weight decay with a polynomial (power 2) decay of its global LR, as in You et al. (2017).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from iblearn import _plotting
from iblearn.data.vision import load_images, to_float
from iblearn.experiments.mi_lr.config import IXY_CHOICES, METHODS, Config
from iblearn.experiments.mi_lr.report import PAPER, PAPER_SENSITIVITY, plot, summarize, table
from iblearn.experiments.options import ReproduceOptions
from iblearn.experiments.run_checkpoint import RunCheckpoint
from iblearn.experiments.training import accuracy, train_epoch
from iblearn.models.lenet import MODELS, layer_groups
from iblearn.optim import LARS, LRRangeTest, MIDecayLR, MIProbe, plot_range
from iblearn.optim.lr_range import LRRange, select_range
from iblearn.records import Checkpoint, RunFolder, read_json, write_json

#: What the run's config.json records as its experiment (and ``iblearn reproduce --config`` reads).
EXPERIMENT = "Vasudevan (2020), MIDecayLR"

# The config (iblearn.experiments.mi_lr.config) and the paper's numbers, the table and the figure
# (iblearn.experiments.mi_lr.report), re-exported here.
__all__ = [
    "EXPERIMENT",
    "IXY_CHOICES",
    "METHODS",
    "PAPER",
    "PAPER_SENSITIVITY",
    "Config",
    "Job",
    "check_sizes",
    "choose_lr",
    "load",
    "plot",
    "range_test",
    "run",
    "summarize",
    "table",
    "train_run",
]

Data = dict[str, tuple[Tensor, Tensor]]


def load(dataset: str, config: Config) -> Data | str:
    try:
        train, test = load_images(dataset, "train"), load_images(dataset, "test")
    except (OSError, FileNotFoundError) as err:
        return f"not run: {dataset} is not available offline here ({str(err)[:80]})"
    train = train.subset(None if config.train_size is None else config.train_size + config.val_size, seed=0)
    test = test.subset(config.test_size, seed=0)
    x, y = to_float(train.images), train.labels
    return {
        "train": (x[config.val_size :], y[config.val_size :]),
        "val": (x[: config.val_size], y[: config.val_size]),
        "test": (to_float(test.images), test.labels),
    }


def check_sizes(config: Config) -> None:
    """Refuse sizes a training set cannot hold, before anything runs (a data set not here offline is
    skipped: the run marks it not run). The validation images come out of the training set, so more of
    both than it holds trained on fewer images than ``train_size``, and a ``val_size`` near the whole
    set left the MI sample (at least 10, MIProbe) nothing to draw; a sensitivity sample larger than the
    training images measured all of them under its larger n."""
    for dataset in dict.fromkeys(d for d, _ in config.runs):
        try:
            images = len(load_images(dataset, "train"))
        except OSError:
            continue
        if config.train_size is not None and config.train_size + config.val_size > images:
            raise ValueError(
                f"--set train_size: {config.train_size:,} training and {config.val_size:,} validation images "
                f"are more than the {images:,} {dataset} training images; lower train_size or val_size"
            )
        rows = images - config.val_size if config.train_size is None else config.train_size
        if rows < 10:
            raise ValueError(
                f"--set val_size: {config.val_size:,} of the {images:,} {dataset} training images held out "
                f"leave {max(rows, 0):,} to train on, and the MI sample needs at least 10 (MIProbe)"
            )
        largest = max(config.sensitivity, default=0)
        if dataset == config.runs[0][0] and largest > rows:
            raise ValueError(
                f"--set sensitivity: a sample of {largest:,} from the {rows:,} training images of "
                f"{dataset} would be all of them, measured under the larger n; at most {rows:,}"
            )


def _sgd(params: Any, lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)  # Vasudevan (2020), MNIST and CIFAR-10


def _model(name: str, data: Data, seed: int, device: torch.device) -> nn.Module:
    torch.manual_seed(seed)
    x = data["train"][0]
    return MODELS[name](x.shape[1], 10, x.shape[-1]).to(device)


@dataclass(frozen=True, eq=False)
class Job:
    """What the trainings of one (data set, model) share: the run folder their rows go to, the data,
    the config, the probe whose I(T; Y) drives MIDecayLR with ``ixy``, I(X; Y) of its sample, and the
    device."""

    folder: RunFolder
    dataset: str
    name: str
    data: Data
    config: Config
    probe: MIProbe
    ixy: float
    device: torch.device


def _setup(
    job: Job, method: str, model: nn.Module, lr: float, epochs: int, lrr: dict[str, float]
) -> tuple[Any, Any, MIProbe]:
    """Optimizer, scheduler (or None) and the probe whose MI drives it, for ``epochs`` epochs."""
    probe, ixy = job.probe, job.ixy
    if method in ("mi-global", "mi-layerwise"):
        ixys: float | list[float]
        ity0: float | list[float]
        if method == "mi-layerwise":  # each layer's group follows the MI of that layer's output
            groups, taps = layer_groups(model, job.name, lrr["lr_top"])
            opt, probe = _sgd(groups, lrr["lr_top"]), probe.watching(taps)
            ixys, ity0 = [ixy] * len(taps), probe.measure(model)
        else:
            opt = _sgd(model.parameters(), lrr["lr_top"])
            ixys, ity0 = ixy, probe.measure(model)[0]
        sched = MIDecayLR(
            opt,
            lr_min=lrr["lr_min"],
            lr_max=lrr["lr_max"],
            epsilon=lrr["epsilon"],
            epochs=epochs,
            ixy=ixys,
            ity0=ity0,
            lr_top=lrr["lr_top"],
        )
        return opt, sched, probe
    if method == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr), None, probe
    if method == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=lr), None, probe
    if method == "step-sgd":
        opt = _sgd(model.parameters(), lr)
        return opt, torch.optim.lr_scheduler.StepLR(opt, max(1, round(0.15 * epochs)), 0.5), probe
    if method == "lars":
        opt = LARS(model.parameters(), lr=lr, momentum=0.9, exclude_1d=True)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (1 - e / epochs) ** 2), probe
    raise ValueError(f"methods: unknown method {method!r}; known: {', '.join(METHODS)}")


def train_run(
    job: Job,
    key: str,
    method: str,
    lr: float,
    epochs: int,
    lrr: dict[str, float],
    seed: int,
    split: str = "test",
) -> None:
    """One training run, checkpointed per epoch; rows carry the LR(s), the MI and the accuracies."""
    data, device = job.data, job.device
    checkpoint = RunCheckpoint(job.folder, key)
    if checkpoint.finished(epochs):
        return
    model = _model(job.name, data, seed, device)
    opt, sched, mi_probe = _setup(job, method, model, lr, epochs, lrr)
    start = checkpoint.epochs_done([model], opt, sched, epochs=epochs)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(start):
        torch.randperm(len(data["train"][0]), generator=gen)
    x, y = data["train"]
    for epoch in range(start + 1, epochs + 1):
        lrs = [g["lr"] for g in opt.param_groups]
        row = train_epoch(model, opt, x, y, job.config.batch_size, gen, device)
        # I(T; Y) for every run but the grid's: the MI schedules need it, and the alternatives' curves
        # stand beside theirs (the probe draws no random numbers: their training is the same without it).
        mi = mi_probe.measure(model) if isinstance(sched, MIDecayLR) or split == "test" else []
        if isinstance(sched, MIDecayLR):
            sched.step(mi[0] if len(mi) == 1 else mi)
        elif sched is not None:
            sched.step()
        row.update(
            {
                "acc": accuracy(model, *data[split], device),
                "lr": lrs[0],
                **{f"lr_{i}": v for i, v in enumerate(lrs)},
                **{f"mi_{i}": v for i, v in enumerate(mi)},
            }
        )
        checkpoint.save(epoch, [model], opt, row, sched)
    checkpoint.close()


def range_test(job: Job, seed: int, tag: str = "") -> dict[str, float]:
    """Algorithm 2, cached in the run folder (a resumed run does not repeat it). While it runs, its
    records and the state it goes on from (model, optimizer, RNG, batch order) are checkpointed after
    every epoch, so that ``--resume`` continues it where it was killed, as if it had never stopped."""
    folder, name, data, config, device = job.folder, job.name, job.data, job.config, job.device
    path = folder.file(f"lr_range-{job.dataset}-{name}{tag}.json")
    if path.exists():  # the bounds read again from the recorded table D, by this run's settings
        cached = read_json(path)
        return _bounds(select_range(cached["summary"], cached["curves"], **_reading(config)))
    x, y = data["train"]
    gen = torch.Generator().manual_seed(seed)
    test = LRRangeTest(
        lambda trial: _model(name, data, seed + trial, device),
        lambda model, opt: train_epoch(model, opt, x, y, config.batch_size, gen, device),
        job.probe.measure,
        ixy=job.ixy,
        lrs=list(config.range_lrs),
        make_optimizer=lambda model, lr: _sgd(model.parameters(), lr),
        trials=config.range_trials,
        epochs=config.range_epochs,
        **_reading(config),
    )
    checkpoint = Checkpoint(folder, f"checkpoint-{path.stem}.pt")
    saved = checkpoint.load()
    try:
        if saved is not None:  # the test's records and the state it goes on from, and the batch order
            test.load_state_dict(saved)
            with checkpoint.restoring():
                gen.set_state(saved["batches"])
        while not test.done:
            test.step()
            checkpoint.save({**test.state_dict(), "batches": gen.get_state()})
    except ValueError as err:  # a saved state this test could not have made
        if str(err).startswith("state:"):
            checkpoint.refuse(str(err))
        raise
    result = test.result()
    chosen = _bounds(result)
    write_json(path, {"range": chosen, "summary": result.summary, "curves": result.curves})
    checkpoint.remove()  # the cache says everything now
    if _plotting.available():
        plot_range(result, str(path.with_suffix(".png")))
    return chosen


def _reading(config: Config) -> dict[str, Any]:
    """How :func:`select_range` reads the table D: Algorithm 2's constants and this run's readings."""
    return {
        "c1": config.c1,
        "c2": config.c2,
        "restart": config.range_restart,
        "lr_max_rule": config.range_lr_max,
    }


def _bounds(result: LRRange) -> dict[str, float]:
    return {key: getattr(result, key) for key in ("lr_min", "lr_max", "lr_top", "epsilon")}


def run(options: ReproduceOptions, config: Config | None = None) -> Path:
    """Run (or resume) the experiments; ``config`` overrides the ``--quick``/``--full`` presets."""
    config = options.configure(config or (Config() if options.full else Config.quick()))
    check_sizes(config)
    device = options.torch_device()
    folder = options.start("mi-lr", EXPERIMENT, config, device=str(device))
    seeds = range(options.seed, options.seed + config.seeds)
    skipped, ranges = {}, {}
    for dataset, name in config.runs:
        data = load(dataset, config)
        if isinstance(data, str):
            skipped[f"{dataset}|{name}"] = data
            continue
        probe = MIProbe(*data["train"], n=config.mi_samples, seed=options.seed)
        job = Job(folder, dataset, name, data, config, probe, probe.ixy(estimate=config.ixy == "ksg"), device)
        lrr = ranges[f"{dataset}|{name}"] = range_test(job, options.seed)
        options.tell(f"{dataset} {name}: range test {lrr}")
        for method in config.methods:
            lr = choose_lr(job, method, lrr, options.seed) if method in config.grid else lrr["lr_top"]
            for seed in seeds:
                train_run(job, f"{dataset}|{name}|{method}|{seed}", method, lr, config.epochs, lrr, seed)
                options.tell(f"{dataset} {name} {method} seed {seed}")
        if config.sensitivity and dataset == config.runs[0][0] and name == config.runs[0][1]:
            for n in config.sensitivity:
                small = MIProbe(*data["train"], n=n, seed=options.seed)
                small_job = replace(job, probe=small, ixy=small.ixy(estimate=config.ixy == "ksg"))
                own = range_test(small_job, options.seed, f"-n{n}")
                for tag, params in (("fixed", lrr), ("re-estimated", own)):
                    key = f"{dataset}|{name}|mi-global n={n} {tag}|{options.seed}"
                    train_run(
                        small_job, key, "mi-global", params["lr_top"], config.epochs, params, options.seed
                    )
                options.tell(f"sensitivity n={n}")
    summary = summarize(folder.metrics())
    folder.write_results(
        {"summary": summary, "ranges": ranges, "not_run": skipped}, seed=options.seed, device=str(device)
    )
    folder.write_table(table(summary, ranges, skipped, config))
    plot(folder)
    return folder.path


def choose_lr(job: Job, method: str, lrr: dict[str, float], seed: int) -> float:
    """The grid LR with the best validation accuracy after ``grid_epochs`` (one seed)."""
    scores = {}
    for lr in job.config.grid[method]:
        key = f"grid|{job.dataset}|{job.name}|{method}|{lr:g}"
        train_run(job, key, method, lr, job.config.grid_epochs, lrr, seed, split="val")
        rows = [r for r in job.folder.metrics() if r["key"] == key]
        scores[lr] = max(float(r["acc"]) for r in rows)
    return max(scores, key=scores.__getitem__)
