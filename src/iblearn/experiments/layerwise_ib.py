"""``iblearn reproduce layerwise-ib``: paper 002, Table 1 and Fig. 3.

Each hidden layer is trained alone on eq. (2), L = I(Y; L_i) - beta I(X; L_i + eps), I(Y; L_i) by MINE
and I(X; L_i + eps) by AA-MINE (a copy of layers 1..i inside the critic), critics and layer updated in
alternation (Sec. 4); the layer is then frozen and the next one trained. At the end one linear layer is
post-trained with cross-entropy on the frozen net. Against: the same net trained end to end with
cross-entropy, and the beta = 0 ablation (I(Y; L_i) alone).

Rows: MNIST with 1% and 100% of the training set (a 3-layer MLP), and Fashion-MNIST with a 3-block
conv net in place of CIFAR-10 (no offline copy of CIFAR-10 here; ``("cifar10", 1.0)`` runs where it is
installed). Fig. 3: t-SNE of the first layer trained with a large and a small beta.

The paper gives no widths, beta, noise level or epochs (they are in its supplementary material, not in
the text): ours are in :class:`Config`. Every layer and the baseline train for the same number of
epochs, at least ``min_steps`` updates (so the 1% subset trains for more epochs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from iblearn import _plotting
from iblearn.data.vision import load_images, to_float
from iblearn.experiments import torchrun
from iblearn.experiments.common import (
    ReproduceOptions,
    RunCheckpoint,
    accuracy,
    module_optimizers,
    summarize_runs,
    train_epoch,
)
from iblearn.models.mole import Sequential, layerwise_mlp, small_convnet
from iblearn.records import RunFolder, markdown_table, read_json
from iblearn.training import Batch, CrossEntropy, NoisyIB, Objective, Standardize, train_greedy

# Table 1: test accuracy %.
PAPER = {
    ("mnist 1%", "ce"): 85.78,
    ("mnist 1%", "iyl"): 85.12,
    ("mnist 1%", "ib"): 86.57,
    ("mnist 100%", "ce"): 97.73,
    ("mnist 100%", "iyl"): 97.77,
    ("mnist 100%", "ib"): 98.09,
    ("cifar10 100%", "ce"): 58.23,
    ("cifar10 100%", "iyl"): 60.59,
    ("cifar10 100%", "ib"): 61.75,
}
METHODS = {
    "ce": "cross-entropy, end to end",
    "iyl": "I(Y;L), layer by layer (beta = 0)",
    "ib": "I(Y;L) - beta I(X;L+eps), layer by layer",
}


@dataclass(frozen=True)
class Config:
    runs: tuple[tuple[str, float], ...] = (("mnist", 0.01), ("mnist", 1.0), ("fashion-mnist", 1.0))
    methods: tuple[str, ...] = ("ce", "iyl", "ib")
    beta: float = 1e-2
    noise_std: float = 0.1
    # The MLP's layers. Sec. 4 post-trains a linear layer on the net's output Y-hat with "no nonlinear
    # activation between", so that "they can be combined into a single linear layer": the last layer is
    # linear, its width that of Y (runs at commits before e7e9914 used (256, 128, 64), all with ReLU).
    widths: tuple[int, ...] = (256, 128, 10)
    linear_output: bool = True
    epochs: int = 10  # per layer, for the post-trained linear layer, and for the baseline
    min_steps: int = 2400  # updates per layer at least: the 1% subset trains for more epochs
    batch_size: int = 100
    lr: float = 1e-3
    # The post-trained layer is logistic regression on frozen features, a convex problem; on the
    # 10-unit output it must also undo a rotation, which 120 steps at 1e-3 do not (the quick preset, I(Y;L):
    # 45% test accuracy at 1e-3, 85% at 1e-2). None: the same as ``lr``, as in --full (2,400 steps).
    output_lr: float | None = None
    critic_hidden: int = 128
    critic_lr: float = 5e-4
    seeds: int = 3
    test_size: int | None = None
    tsne_betas: tuple[float, ...] = (1e2, 1e-3)  # Fig. 3 (a) and (b); () for no figure
    tsne_samples: int = 1000
    standardize_head: bool = True  # fit the post-trained layer on standardized inputs (training.Standardize)

    @classmethod
    def demo(cls) -> Config:
        """``iblearn demo``'s preset: the ``--quick`` one."""
        return cls.quick()

    def progress_steps(self) -> int:
        """How many times ``run`` reports progress: once per trained net, once per Fig. 3 panel."""
        figure = len(self.tsne_betas) if self.tsne_betas and self.tsne_samples else 0
        return len(self.runs) * len(self.methods) * self.seeds + figure

    @classmethod
    def quick(cls) -> Config:
        return cls(
            runs=(("mnist", 0.01),),
            epochs=2,
            min_steps=120,
            output_lr=1e-2,
            seeds=1,
            test_size=2000,
            tsne_samples=300,
        )


def label(name: str, fraction: float) -> str:
    return f"{name} {fraction:.0%}"


def load(name: str, fraction: float, test_size: int | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Training images (a fixed random ``fraction`` of them), test images (the first ``test_size``)."""
    train, test = load_images(name, "train"), load_images(name, "test")
    keep = torch.randperm(len(train.labels), generator=torch.Generator().manual_seed(0))
    keep = keep[: max(1, round(fraction * len(keep)))]
    n_test = len(test.labels) if test_size is None else test_size
    return (
        to_float(train.images[keep]),
        train.labels[keep],
        to_float(test.images[:n_test]),
        test.labels[:n_test],
    )


def network(name: str, x: Tensor, config: Config) -> tuple[list[nn.Module], nn.Linear]:
    """The hidden layers (the units trained one by one) and the post-trained linear layer."""
    hidden = (
        layerwise_mlp(config.widths, x[0].numel(), linear_output=config.linear_output)
        if name == "mnist"
        else small_convnet(x.shape[1])
    )
    with torch.no_grad():
        width = Sequential(hidden)(x[:2]).flatten(1).shape[1]
    return hidden, nn.Linear(width, 10)


def epochs_for(n: int, config: Config) -> int:
    steps_per_epoch = -(-n // config.batch_size)
    return max(config.epochs, -(-config.min_steps // steps_per_epoch))


def objectives(hidden: list[nn.Module], beta: float, config: Config, seed: int) -> list[Objective]:
    """Eq. (2) for every hidden layer (AA-MINE's sub-net: layers 1..i), cross-entropy for the last one."""
    layer_objectives: list[Objective] = [
        NoisyIB(
            Sequential(hidden[: i + 1]),
            beta,
            config.noise_std,
            10,
            hidden=(config.critic_hidden,),
            lr=config.critic_lr,
            seed=seed + i,
        )
        for i in range(len(hidden))
    ]
    return [*layer_objectives, CrossEntropy()]


def _batches(x: Tensor, y: Tensor, config: Config, seed: int) -> Any:
    def batches(epoch: int) -> list[Batch]:
        # Under torchrun each rank takes its equal part of every batch: a global batch of batch_size.
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        parts = [torchrun.shard(i) for i in torch.split(order, config.batch_size)]
        return [Batch(x[i], y[i]) for i in parts if len(i)]

    return batches


def train_layerwise(
    name: str,
    x: Tensor,
    y: Tensor,
    beta: float,
    config: Config,
    seed: int,
    folder: Path,
    device: torch.device,
) -> nn.Module:
    """Layer by layer on eq. (2), then the post-trained linear layer (resumes from ``folder``)."""
    torch.manual_seed(seed)
    hidden, head = network(name, x, config)
    out: nn.Module = nn.Sequential(Standardize(), head) if config.standardize_head else head
    train_greedy(
        [*hidden, out],
        objectives(hidden, beta, config, seed),
        _batches(x, y, config, seed),
        epochs=epochs_for(len(x), config),
        device=device,
        run=RunFolder(folder, resume=True),  # a fresh start has removed the folder
        optimizer=module_optimizers(len(hidden) + 1, config.lr, config.output_lr),
    )
    return Sequential([*hidden, out])


def train_ce(
    name: str, x: Tensor, y: Tensor, config: Config, seed: int, folder: Path, device: torch.device
) -> nn.Module:
    """The baseline: the same net end to end with cross-entropy (resumes from ``folder``)."""
    torch.manual_seed(seed)
    hidden, head = network(name, x, config)
    net = Sequential([*hidden, head]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    runs = RunCheckpoint(RunFolder(folder), "ce")
    gen = torch.Generator().manual_seed(seed)
    epochs = epochs_for(len(x), config)
    for epoch in range(runs.epochs_done([net], opt, epochs=epochs), epochs):
        gen.manual_seed(seed * 1000 + epoch)
        runs.save(epoch + 1, [net], opt, train_epoch(net, opt, x, y, config.batch_size, gen, device))
    return net


def run(options: ReproduceOptions, config: Config | None = None) -> Path:
    """Run (or resume) Table 1 and Fig. 3; ``config`` overrides the ``--quick``/``--full`` presets."""
    config = options.configure(config or (Config() if options.full else Config.quick()))
    with torchrun.joined(options.device):
        return _run(options, config)


def _run(options: ReproduceOptions, config: Config) -> Path:
    folder = options.run_folder("layerwise-ib", nested="training")
    folder.write_config(
        {"experiment": "paper 002, Table 1 and Fig. 3", **asdict(config), "seed": options.seed}
    )
    device = options.torch_device()
    done = {r["key"] for r in folder.metrics()}
    for name, fraction in config.runs:
        x, y, xt, yt = load(name, fraction, config.test_size)
        for method in config.methods:
            for seed in range(options.seed, options.seed + config.seeds):
                key = f"{label(name, fraction)}|{method}|{seed}"
                if key in done:
                    continue
                sub = folder.path / "training" / key.replace("|", "-").replace(" ", "-").replace("%", "pc")
                if method == "ce":
                    net = train_ce(name, x, y, config, seed, sub, device)
                else:
                    beta = config.beta if method == "ib" else 0.0
                    net = train_layerwise(name, x, y, beta, config, seed, sub, device)
                folder.append_metrics(
                    {
                        "key": key,
                        "train_acc": accuracy(net, x, y, device),
                        "test_acc": accuracy(net, xt, yt, device),
                    }
                )
                options.tell(f"{key}")
    tsne_stats = (
        figure_3(options, config, folder, device) if config.tsne_betas and config.tsne_samples else {}
    )
    summary = summarize_runs(folder.metrics(), ("train_acc", "test_acc"))
    folder.write_results({"summary": summary, "figure_3": tsne_stats}, seed=options.seed, device=str(device))
    folder.write_table(table(summary, config, tsne_stats))
    return folder.path


def figure_3(
    options: ReproduceOptions, config: Config, folder: RunFolder, device: torch.device
) -> dict[str, dict[str, int]]:
    """The first layer trained alone with each beta of ``tsne_betas`` on the first MNIST row; t-SNE of
    its test outputs side by side, and what tells a quantization from a dead layer: how many distinct
    outputs the test images get (to 0.1% of the output's range), how many images share the commonest
    one, how many units are ever active, and the accuracy of labelling each output by its majority
    class. The paper reads its Fig. 3 as a large beta quantizing the representation class by class."""
    name, fraction = next(((n, f) for n, f in config.runs if n == "mnist"), config.runs[0])
    x, y, xt, yt = load(name, fraction, config.test_size)
    xt, yt = xt[: config.tsne_samples], yt[: config.tsne_samples]
    outputs, stats = {}, {}
    for beta in config.tsne_betas:
        torch.manual_seed(options.seed)
        first = network(name, x, config)[0][:1]
        batches = _batches(x, y, config, options.seed)
        train_greedy(
            first,
            objectives(first, beta, config, options.seed)[:1],
            batches,
            epochs=epochs_for(len(x), config),
            device=device,
            optimizer=module_optimizers(1, config.lr, None),
        )
        with torch.no_grad():
            out = first[0].eval()(xt.to(device)).flatten(1).cpu()
        outputs[beta] = out
        grid = (out / out.abs().max().clamp_min(1e-12) * 1000).round()  # 0.1% of the output's range
        codes, which = torch.unique(grid, dim=0, return_inverse=True)
        majority = sum(int(torch.bincount(yt[which == i]).max()) for i in range(len(codes)))
        stats[f"{beta:g}"] = {
            "distinct": len(codes),
            "samples": len(out),
            "commonest": int(torch.bincount(which).max()),
            "active_units": int((out != 0).any(dim=0).sum()),
            "units": out.shape[1],
            "majority_acc": 100 * majority / len(out),
        }
        options.tell(f"figure 3, beta {beta:g}")
    if folder.writer:  # rank 0 under torchrun
        _plot_tsne(outputs, yt, folder.file("fig3-tsne.png"))
    return stats


def _plot_tsne(outputs: dict[float, Tensor], labels: Tensor, path: Path) -> Any:
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        return None
    if not _plotting.available():
        return None
    fig, axes = _plotting.figure(1, len(outputs), figsize=(4 * len(outputs), 4))
    for ax, (beta, out) in zip(axes[0], outputs.items(), strict=True):
        points = TSNE(2, init="pca", perplexity=min(30, len(out) - 1), random_state=0).fit_transform(
            out.numpy()
        )
        dots = ax.scatter(points[:, 0], points[:, 1], c=labels.numpy(), s=3, cmap="tab10")
        ax.set_title(f"first layer, beta = {beta:g}")
        ax.set_xticks([])
        ax.set_yticks([])
    _plotting.class_legend(axes[0, -1], dots)
    return _plotting.finish(fig, path, dpi=100)


def table(summary: list[dict[str, Any]], config: Config, tsne_stats: dict[str, dict[str, int]]) -> str:
    ce = {s["task"]: s["test_acc"][0] for s in summary if s["method"] == "ce"}
    rows = []
    for s in summary:
        task, method = s["task"], s["method"]
        paper = PAPER.get(("cifar10 100%" if task == "fashion-mnist 100%" else task, method))
        paper_ce = PAPER.get(("cifar10 100%" if task == "fashion-mnist 100%" else task, "ce"))
        rows.append(
            [
                task,
                METHODS[method],
                f"{s['test_acc'][0]:.2f} ± {s['test_acc'][1]:.2f}",
                str(s["seeds"]),
                "" if method == "ce" or task not in ce else f"{s['test_acc'][0] - ce[task]:+.2f}",
                "-" if paper is None else f"{paper:.2f}",
                "" if method == "ce" or paper is None or paper_ce is None else f"{paper - paper_ce:+.2f}",
            ]
        )
    if not any(name == "cifar10" for name, _ in config.runs):
        for m in config.methods:
            rows.append(
                [
                    "cifar10 100%",
                    METHODS[m],
                    "not run (no offline copy)",
                    "",
                    "",
                    f"{PAPER[('cifar10 100%', m)]:.2f}",
                    "",
                ]
            )
    text = (
        "# Layer-by-layer IB training (paper 002, Table 1)\n\n"
        f"beta = {config.beta:g}, noise std {config.noise_std:g}; MLP widths {config.widths} (MNIST), "
        "a 3-block conv net (Fashion-MNIST, whose paper column is CIFAR-10's); "
        f"{config.epochs} epochs per layer and for the baseline, at least {config.min_steps} updates; "
        f"batch {config.batch_size}; Adam {config.lr:g}"
        + (f" ({config.output_lr:g} for the post-trained layer)" if config.output_lr is not None else "")
        + ".\n\n"
        + markdown_table(["data", "method", "test acc %", "seeds", "vs CE", "paper", "paper vs CE"], rows)
    )
    if tsne_stats:
        text += (
            "\n\n## Fig. 3: the first layer's output (fig3-tsne.png)\n\n"
            "The first layer's outputs over the test images (to 0.1% of the output's range). The paper "
            "reads its Fig. 3 as a large beta quantizing the representation class by class: few outputs, "
            "each labelled well by its majority class. A dead layer also has few outputs, but nearly every "
            "image on one of them, few active units and a majority-label accuracy near chance.\n\n"
            + markdown_table(
                ["beta", "distinct outputs", "on the commonest", "active units", "majority acc %"],
                [
                    [
                        k,
                        f"{v['distinct']} of {v['samples']}",
                        v.get("commonest", ""),
                        f"{v['active_units']} of {v['units']}" if "units" in v else "",
                        f"{v['majority_acc']:.1f}" if "majority_acc" in v else "",
                    ]
                    for k, v in tsne_stats.items()
                ],
            )
        )
    return text


def beta_sweep(folders: list[Path]) -> dict[str, dict[float, list[float]]]:
    """Test accuracy per task and beta, one value per seed, from the run folders of a beta sweep (each
    run with one ``beta``, its ``"ib"`` rows: ``--set 'methods=["ib"]' --set beta=B``)."""
    points: dict[str, dict[float, list[float]]] = {}
    for path in folders:
        beta = float(read_json(Path(path) / "config.json")["beta"])
        for row in RunFolder(path, resume=True).metrics():
            task, method, _seed = row["key"].split("|")
            if method == "ib":
                points.setdefault(task, {}).setdefault(beta, []).append(float(row["test_acc"]))
    return points


def plot_beta_sweep(
    points: dict[str, dict[float, list[float]]], references: dict[str, dict[str, float]], path: Path
) -> Any:
    """Paper 002's question in one figure: test accuracy of the full functional against beta (each seed
    a dot, the mean a line), one panel per task, beside its ``references`` (e.g. ``{"I(Y;L) alone":
    89.27, "cross-entropy": 85.47}``) drawn as horizontal lines. ``None`` without matplotlib."""
    if not _plotting.available():
        return None
    fig, axes = _plotting.figure(1, len(points), figsize=(4.5 * len(points), 3.6))
    for ax, (task, per_beta) in zip(axes[0], sorted(points.items()), strict=True):
        betas = sorted(per_beta)
        for beta in betas:
            ax.scatter([beta] * len(per_beta[beta]), per_beta[beta], s=12, color="C0", alpha=0.6)
        ax.plot(
            betas,
            [sum(per_beta[b]) / len(per_beta[b]) for b in betas],
            color="C0",
            label="I(Y;L) - beta I(X;L+eps)",
        )
        for i, (name, value) in enumerate(references.get(task, {}).items()):
            ax.axhline(value, color=f"C{i + 1}", linestyle="--", label=name)
        ax.set_xscale("log")
        ax.set_xlabel("beta")
        ax.set_ylabel("test accuracy %")
        ax.set_title(task)
        ax.legend(fontsize=7)
    return _plotting.finish(fig, path, dpi=100)
