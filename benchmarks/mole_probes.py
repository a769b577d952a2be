"""What MOLE's trained modules hold, read from the checkpoints ``iblearn reproduce mole`` keeps under a
run folder's ``greedy/`` (one per task, estimator and seed)::

    python benchmarks/mole_probes.py probes FOLDER [FOLDER ...] --out docs/results/mole/probes
    python benchmarks/mole_probes.py output-lr FOLDER [FOLDER ...] --out docs/results/mole/output-lr

``probes``: a linear probe (scikit-learn's multinomial logistic regression, LBFGS to convergence, on
standardized features) on the input and on every module's output but the last, fitted on the training
rows (MNIST: the 10,000 images of the runs on 10,000 images) and tested on all test rows; for the
modules as trained and for the same seed's initial weights. MNIST and Adult runs.

``output-lr``: the output module trained again on the run's frozen modules (the checkpoint's), at Adam
1e-3, 1e-2 and 3e-2, for the run's epochs on the run's batches (``train_greedy`` with no epochs for
the frozen modules). Greedy training never returns to a module, so this is what a run with that output
learning rate gives; at the run's own rate it must give the run's test accuracy (checked, to 1e-9).
Also at the run's rate on features that are not standardized, and for Cora backpropagation at 1e-3
and 1e-2.

Writes ``results.json`` (rows, settings, provenance) and ``table.md``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from iblearn._provenance import environment
from iblearn.experiments.mole import Config, accuracy, load_task, mole_modules, objectives_for, train_bp
from iblearn.experiments.mole.tasks import epoch_batches
from iblearn.experiments.options import ReproduceOptions
from iblearn.experiments.training import module_optimizers
from iblearn.models import mole as nets
from iblearn.records import Checkpoint, RunFolder, atomic_write_text, markdown_table
from iblearn.training import train_greedy

OUTPUT_LRS = (1e-3, 1e-2, 3e-2)
PROBE_TRAIN = 10_000


def run_config(folder: Path) -> Config:
    """The run's Config, from its config.json."""
    saved = json.loads((folder / "config.json").read_text())
    fields = {f.name for f in dataclasses.fields(Config)}
    return ReproduceOptions(overrides={k: v for k, v in saved.items() if k in fields}).configure(Config())


def checkpoints(folder: Path) -> list[tuple[str, str, int, Path]]:
    """(task, estimator, seed, checkpoint) of every greedy run in ``folder``."""
    found = []
    for path in sorted((folder / "greedy").glob("*/greedy-checkpoint.pt")):
        task, rest = path.parent.name.split("-", 1)
        estimator, seed = rest.rsplit("-", 1)
        found.append((task, estimator, int(seed), path))
    return found


def trained(modules: list[nn.Module], checkpoint: Path, upto: int) -> list[nn.Module]:
    """``modules`` with the checkpoint's weights in the first ``upto``."""
    state = Checkpoint(RunFolder(checkpoint.parent, resume=True), checkpoint.name).load()
    if state is None:
        raise FileNotFoundError(f"{checkpoint}: no checkpoint")
    states = state["modules"]
    for module, state in zip(modules[:upto], states[:upto], strict=True):
        module.load_state_dict(state)
    return modules


def recorded(folder: Path) -> dict[str, float]:
    """The run's test accuracy by key (``task|estimator|seed``)."""
    with open(folder / "metrics.csv", newline="") as f:
        return {row["key"]: float(row["test_acc"]) for row in csv.DictReader(f)}


@torch.no_grad()
def features(modules: list[nn.Module], x: torch.Tensor) -> list[np.ndarray]:
    """The input and every module's output but the last, flattened (in batches of 1,000 rows)."""
    for m in modules:
        m.eval()
    parts: list[list[torch.Tensor]] = [[] for _ in modules]
    for chunk in x.split(1000):
        h = chunk
        parts[0].append(h.flatten(1))
        for k, m in enumerate(modules[:-1]):
            h = m(h)
            parts[k + 1].append(h.flatten(1))
    return [torch.cat(p).double().numpy() for p in parts]


def probe(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scale = StandardScaler().fit(train)
    fit = LogisticRegression(max_iter=2000).fit(scale.transform(train), y_train)
    return 100 * float((fit.predict(scale.transform(test)) == y_test).mean())


def probes(folders: list[Path]) -> list[dict[str, Any]]:
    """Probe rows of every MNIST and Adult checkpoint; a seed's initial weights once per task."""
    rows: list[dict[str, Any]] = []
    for folder in folders:
        config = run_config(folder)
        for name, estimator, seed, path in checkpoints(folder):
            if name not in ("mnist", "adult"):
                continue
            task = load_task(name, dataclasses.replace(config, train_size=None, test_size=None))
            x_train, y_train = task.train
            if name == "mnist":  # the subset of the runs on 10,000 images
                pick = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(0))[:PROBE_TRAIN]
                x_train, y_train = x_train[pick], y_train[pick]
            x_test, y_test = task.test
            for weights in ("initial", "trained"):
                done = {(r["task"], r["seed"]) for r in rows if r["weights"] == "initial"}
                if weights == "initial" and (name, seed) in done:
                    continue  # the same seed's initial weights in every run
                modules = mole_modules(task, config, seed)
                if weights == "trained":
                    modules = trained(modules, path, len(modules))
                start = time.thread_time()
                fit_feats, test_feats = features(modules, x_train), features(modules, x_test)
                accs = [
                    probe(a, y_train.numpy(), b, y_test.numpy())
                    for a, b in zip(fit_feats, test_feats, strict=True)
                ]
                rows.append(
                    {
                        "run": folder.name,
                        "task": name,
                        "estimator": estimator,
                        "epochs": config.epochs,
                        "train_size": config.train_size or len(task.train[0]),
                        "probe_train_size": len(x_train),
                        "seed": seed,
                        "weights": weights,
                        "probe_test_acc": accs,  # the input, then each module but the output module
                        "seconds": time.thread_time() - start,
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows


def output_lr(folders: list[Path]) -> list[dict[str, Any]]:
    rows = []
    for folder in folders:
        config = run_config(folder)
        runs = recorded(folder)
        for name, estimator, seed, path in checkpoints(folder):
            task = load_task(name, config)
            epochs = config.cora_epochs if name == "cora" else config.epochs
            variants = [(lr, True) for lr in OUTPUT_LRS] + [(config.output_lr, False)]
            for lr, standardized in variants:
                setting = dataclasses.replace(config, standardize_output=standardized)
                modules = trained(mole_modules(task, setting, seed), path, len(task.kinds) - 1)
                train_greedy(
                    modules,
                    objectives_for(task, estimator, seed),
                    epoch_batches(task, config, seed),
                    epochs=[0] * (len(modules) - 1) + [epochs],
                    optimizer=module_optimizers(len(modules), config.lr, lr),
                    critic_steps=config.critic_steps,
                )
                net = nets.Sequential(modules)
                row = {
                    "run": folder.name,
                    "task": name,
                    "method": estimator,
                    "seed": seed,
                    "lr": lr,
                    "standardized": standardized,
                    "train_acc": accuracy(net, task, "train"),
                    "test_acc": accuracy(net, task, "test"),
                }
                if (lr, standardized) == (config.output_lr, config.standardize_output):  # the run itself
                    run_acc = runs[f"{name}|{estimator}|{seed}"]
                    if abs(row["test_acc"] - run_acc) > 1e-9:
                        raise RuntimeError(
                            f"{folder.name} {name} seed {seed}: {row['test_acc']} != {run_acc}"
                        )
                rows.append(row)
                print(json.dumps(row), flush=True)
            if name == "cora":
                for lr in (config.lr, 1e-2):
                    net = train_bp(task, dataclasses.replace(config, lr=lr), seed)
                    row = {"run": folder.name, "task": name, "method": "bp", "seed": seed, "lr": lr}
                    rows.append(
                        row
                        | {"train_acc": accuracy(net, task, "train"), "test_acc": accuracy(net, task, "test")}
                    )
                    print(json.dumps(rows[-1]), flush=True)
    return rows


def mean_sd(values: list[float]) -> str:
    a = np.asarray(values)
    return f"{a.mean():.2f} ± {a.std(ddof=1):.2f}" if len(a) > 1 else f"{a[0]:.2f}"


def probe_table(rows: list[dict[str, Any]]) -> str:
    groups: dict[tuple[Any, ...], list[list[float]]] = {}
    for r in rows:
        key = (r["task"], r["estimator"], r["weights"], r["train_size"], r["epochs"])
        groups.setdefault(key, []).append(r["probe_test_acc"])
    body = []
    for (task, estimator, weights, n, epochs), accs in groups.items():
        cells = [mean_sd([a[k] for a in accs]) for k in range(len(accs[0]))]
        what = "initial weights" if weights == "initial" else f"{epochs} epochs on {n:,} rows"
        body.append([task, estimator, what, str(len(accs)), cells[0], ", ".join(cells[1:])])
    head = ["task", "estimator", "modules", "seeds", "probe on the input", "probe on module 1, 2, ..."]
    return markdown_table(head, body)


def output_lr_table(rows: list[dict[str, Any]]) -> str:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["run"], r["task"], r["method"], r["lr"], r.get("standardized")), []).append(r)
    body = [
        [
            run,
            task,
            method,
            f"{lr:g}",
            {True: "yes", False: "no", None: ""}[standardized],
            str(len(rs)),
            mean_sd([r["train_acc"] for r in rs]),
            mean_sd([r["test_acc"] for r in rs]),
        ]
        for (run, task, method, lr, standardized), rs in groups.items()
    ]
    head = [
        "run",
        "task",
        "method",
        "learning rate",
        "standardized input",
        "seeds",
        "train %",
        "test %",
    ]
    return markdown_table(head, body)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("measure", choices=("probes", "output-lr"))
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    provenance = environment()  # the commit the measurement starts from
    rows = probes(args.folders) if args.measure == "probes" else output_lr(args.folders)
    table = probe_table(rows) if args.measure == "probes" else output_lr_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = {"measure": args.measure, "runs": [f.name for f in args.folders]}
    record = {"settings": settings, "provenance": provenance, "rows": rows}
    atomic_write_text(args.out / "results.json", json.dumps(record, indent=1) + "\n")
    atomic_write_text(args.out / "table.md", table + "\n")
    print(table)


if __name__ == "__main__":
    main()
