"""The table and figures of ``iblearn reproduce layerwise-ib`` (Elad et al. 2019): Table 1 beside the paper's
numbers with what tells Fig. 3's quantization from a dead layer, the t-SNE of Fig. 3, and the test
accuracy of a sweep over beta."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

from iblearn import _plotting
from iblearn.experiments.layerwise_ib.config import METHODS, PAPER, Config
from iblearn.records import RunFolder, markdown_table, read_json


def plot_tsne(outputs: dict[float, Tensor], labels: Tensor, path: Path) -> Any:
    """Fig. 3: the t-SNE of each beta's first-layer ``outputs``, side by side, coloured by ``labels``; the
    figure, or None without matplotlib and scikit-learn."""
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
        "# Layer-by-layer IB training (Elad et al. 2019, Table 1)\n\n"
        f"beta = {config.beta:g}, noise std {config.noise_std:g}; MLP widths {config.widths} (MNIST"
        + ("" if config.linear_output else ", the last layer with ReLU")
        + ("" if config.label_term == "summed" else f"; MINE's label term {config.label_term}")
        + "), "
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
    """Elad et al. (2019)'s question in one figure: test accuracy of the full functional against beta (each
    seed a dot, the mean a line), one panel per task, beside its ``references`` (e.g. ``{"I(Y;L) alone":
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
