"""``iblearn reproduce layerwise-ib``: Elad et al. (2019), Table 1 and Fig. 3.

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

The paper's numbers and the presets: :mod:`iblearn.experiments.layerwise_ib.config`; the table and the
figures: :mod:`iblearn.experiments.layerwise_ib.report`; the training here.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from iblearn.data.vision import load_images, to_float
from iblearn.experiments import torchrun
from iblearn.experiments.layerwise_ib.config import METHODS, PAPER, Config
from iblearn.experiments.layerwise_ib.report import beta_sweep, plot_beta_sweep, plot_tsne, table
from iblearn.experiments.options import ReproduceOptions
from iblearn.experiments.run_checkpoint import RunCheckpoint
from iblearn.experiments.summary import summarize_runs
from iblearn.experiments.training import accuracy, module_optimizers, sharded_batches, train_epoch
from iblearn.models.mole import Sequential, layerwise_mlp, small_convnet
from iblearn.records import RunFolder
from iblearn.training import CrossEntropy, NoisyIB, Objective, Standardize, train_greedy

#: What the run's config.json records as its experiment (and ``iblearn reproduce --config`` reads).
EXPERIMENT = "Elad et al. (2019), Table 1 and Fig. 3"

# The reproduction's names, its config, table and figures included (they live beside this module), are
# importable from here, its one address.
__all__ = [
    "EXPERIMENT",
    "METHODS",
    "PAPER",
    "Config",
    "beta_sweep",
    "check_rows",
    "epochs_for",
    "figure_3",
    "label",
    "load",
    "network",
    "objectives",
    "plot_beta_sweep",
    "run",
    "subset_rows",
    "table",
    "train_ce",
    "train_layerwise",
]


def label(name: str, fraction: float) -> str:
    return f"{name} {fraction:.0%}"


def load(name: str, fraction: float, test_size: int | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Training images (a fixed random ``fraction`` of them), test images (the first ``test_size``)."""
    train, test = load_images(name, "train"), load_images(name, "test")
    keep = torch.randperm(len(train.labels), generator=torch.Generator().manual_seed(0))
    keep = keep[: subset_rows(len(keep), fraction)]
    n_test = len(test.labels) if test_size is None else test_size
    return (
        to_float(train.images[keep]),
        train.labels[keep],
        to_float(test.images[:n_test]),
        test.labels[:n_test],
    )


def subset_rows(images: int, fraction: float) -> int:
    """How many of ``images`` training images the ``fraction`` of them that a run trains on holds."""
    return max(1, round(fraction * images))


def check_rows(config: Config) -> None:
    """Refuse a run whose fraction of its training set holds fewer rows than a batch, before anything
    runs: a single row dies in MINE's first step (its marginal term pairs each row with another's
    label), after the baseline has trained; a few rows train on batches smaller than ``batch_size``."""
    sizes: dict[str, int] = {}  # each data set read once, however many fractions of it run
    for name, fraction in config.runs:
        if name not in sizes:
            sizes[name] = len(load_images(name, "train"))
        images = sizes[name]
        rows = subset_rows(images, fraction)
        if rows < config.batch_size:
            raise ValueError(
                f"--set runs: {fraction:g} of the {images:,} {name} training images is {rows:,} "
                f"row{'s' if rows != 1 else ''}, fewer than a batch (batch_size {config.batch_size}); "
                "give a larger fraction or a smaller batch_size"
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
            label_term=config.label_term,
            hidden=(config.critic_hidden,),
            lr=config.critic_lr,
            seed=seed + i,
        )
        for i in range(len(hidden))
    ]
    return [*layer_objectives, CrossEntropy()]


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
        sharded_batches(x, y, config.batch_size, seed),
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
    check_rows(config)
    with torchrun.joined(options.device):
        return _run(options, config)


def _run(options: ReproduceOptions, config: Config) -> Path:
    folder = options.start("layerwise-ib", EXPERIMENT, config, nested="training")
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
        batches = sharded_batches(x, y, config.batch_size, options.seed)
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
        plot_tsne(outputs, yt, folder.file("fig3-tsne.png"))
    return stats
