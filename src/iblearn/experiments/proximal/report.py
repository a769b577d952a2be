"""The tables and figure of ``iblearn reproduce proximal`` (Han et al. 2023): the paper's numbers, the
summary over seeds of a run's rows, the Markdown table and the curves."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Any

from iblearn import _plotting
from iblearn.records import RunFolder, markdown_table

PAPER_IMAGE = {
    ("mnist", "baseline", "Adam"): ((0.16, 0.01), (94.76, 0.03), (97.74, 0.04)),
    ("mnist", "baseline", "AdamW"): ((0.16, 0.01), (94.77, 0.03), (97.69, 0.10)),
    ("mnist", "baseline", "NAdam"): ((0.11, 0.01), (96.33, 0.09), (98.39, 0.16)),
    ("mnist", "baseline", "AdamP"): ((0.11, 0.01), (96.35, 0.11), (98.35, 0.14)),
    ("mnist", "ours", "Adam"): ((0.13, 0.01), (95.78, 0.07), (98.12, 0.02)),
    ("mnist", "ours", "AdamW"): ((0.13, 0.01), (95.94, 0.08), (98.24, 0.09)),
    ("mnist", "ours", "NAdam"): ((0.13, 0.01), (95.91, 0.05), (97.96, 0.16)),
    ("mnist", "ours", "AdamP"): ((0.14, 0.01), (95.66, 0.04), (98.16, 0.13)),
    ("cifar10", "baseline", "Adam"): ((0.64, 0.01), (76.99, 0.28), (68.95, 0.95)),
    ("cifar10", "baseline", "AdamW"): ((0.72, 0.01), (74.78, 0.15), (70.72, 0.42)),
    ("cifar10", "baseline", "NAdam"): ((0.64, 0.01), (76.97, 0.20), (69.20, 0.42)),
    ("cifar10", "baseline", "AdamP"): ((0.71, 0.01), (74.90, 0.32), (71.00, 0.52)),
    ("cifar10", "ours", "Adam"): ((0.67, 0.01), (76.62, 0.42), (69.69, 0.51)),
    ("cifar10", "ours", "AdamW"): ((0.74, 0.01), (74.20, 0.21), (72.18, 0.58)),
    ("cifar10", "ours", "NAdam"): ((0.67, 0.01), (76.72, 0.43), (70.42, 0.86)),
    ("cifar10", "ours", "AdamP"): ((0.74, 0.01), (74.13, 0.09), (71.81, 0.98)),
}
# Table 2 (right): train PSNR, test PSNR (dB). Reconstructed from a garbled extraction.
PAPER_VAE = {
    ("mnist", "baseline", "Adam"): ((22.76, 0.03), (21.78, 0.06)),
    ("mnist", "baseline", "AdamW"): ((23.03, 0.03), (21.88, 0.05)),
    ("mnist", "baseline", "NAdam"): ((23.19, 0.03), (21.87, 0.02)),
    ("mnist", "baseline", "AdamP"): ((22.58, 0.02), (21.74, 0.08)),
    ("mnist", "ours", "Adam"): ((25.17, 0.11), (24.24, 0.08)),
    ("mnist", "ours", "AdamW"): ((25.58, 0.04), (23.95, 0.06)),
    ("mnist", "ours", "NAdam"): ((25.36, 0.08), (24.19, 0.12)),
    ("mnist", "ours", "AdamP"): ((25.12, 0.02), (24.11, 0.05)),
    ("cifar10", "baseline", "Adam"): ((20.73, 0.02), (19.06, 0.03)),
    ("cifar10", "baseline", "AdamW"): ((20.78, 0.01), (19.08, 0.03)),  # train PSNR: "?"
    ("cifar10", "baseline", "NAdam"): ((20.73, 0.02), (19.06, 0.01)),  # train PSNR: "?"
    ("cifar10", "baseline", "AdamP"): ((20.17, 0.10), (19.01, 0.10)),
    ("cifar10", "ours", "Adam"): ((20.87, 0.04), (20.27, 0.04)),
    ("cifar10", "ours", "AdamW"): ((21.69, 0.03), (19.77, 0.07)),
    ("cifar10", "ours", "NAdam"): ((21.59, 0.03), (19.76, 0.09)),
    ("cifar10", "ours", "AdamP"): ((21.49, 0.02), (20.00, 0.04)),
}
# Table 3: train PSNR, test PSNR (dB), the ablations of the VAE.
PAPER_ABLATION = {
    "baseline": ((23.08, 0.04), (21.87, 0.06)),
    "first-order l2": ((22.81, 0.04), (21.81, 0.08)),
    "second-order l1": ((23.58, 0.15), (23.18, 0.21)),
    "second-order huber": ((23.93, 0.14), (23.47, 0.17)),
    "ours": ((25.09, 1.10), (24.19, 0.12)),
}


METRICS = (
    "train_loss",
    "train_acc",
    "train_quality",
    "test",
    "iterations_to_95",
    "worst_after_95",
    "drops_after_95",
    "spikes",
    "second_order_ratio",
)


def summarize(rows: list[dict[str, str]], epochs: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Per (part, data set, optimizer, method): each metric's (mean, sd) over the seeds that have it, at
    the final row; ``reached`` and ``diverged`` count seeds; ``ratio_range`` is the smallest and largest
    second-order ratio seen over every seed's whole run. For a part in ``epochs`` only the seeds that
    finished its epochs count (a run still under way must not average a seed at epoch 1 with finished
    ones); a diverged seed finishes at once. Binary rows land a whole run at a time: always finished."""
    last: dict[str, dict[str, str]] = {}
    for r in rows:
        if r["key"] not in last or int(r["epoch"]) > int(last[r["key"]]["epoch"]):
            last[r["key"]] = r
    final = epochs or {}
    last = {k: r for k, r in last.items() if int(r["epoch"]) == final.get(k.split("|")[0], int(r["epoch"]))}
    ratios: dict[str, list[float]] = {}
    for r in rows:
        if r["key"] in last and r.get("second_order_ratio") not in (None, ""):
            ratios.setdefault(r["key"].rsplit("|", 1)[0], []).append(float(r["second_order_ratio"]))
    groups: dict[str, list[dict[str, str]]] = {}
    for key, r in last.items():
        groups.setdefault(key.rsplit("|", 1)[0], []).append(r)
    out = []
    for group, rs in groups.items():
        part, dataset, opt_name, method = group.split("|")
        entry: dict[str, Any] = {
            "part": part,
            "dataset": dataset,
            "optimizer": opt_name,
            "method": method,
            "seeds": len(rs),
            "epoch": max(int(r["epoch"]) for r in rs),
            "diverged": sum(r.get("diverged") not in (None, "") for r in rs),
        }
        if part == "binary":
            entry["reached_95"] = sum(r.get("iterations_to_95") not in (None, "") for r in rs)
        for metric in METRICS:
            values = [float(r[metric]) for r in rs if r.get(metric) not in (None, "")]
            values = [v for v in values if math.isfinite(v)]
            if values:
                entry[metric] = (
                    statistics.fmean(values),
                    statistics.stdev(values) if len(values) > 1 else 0.0,
                )
        if group in ratios:
            entry["ratio_range"] = (min(ratios[group]), max(ratios[group]))
        out.append(entry)
    return out


def _ms(v: tuple[float, float] | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v[0]:.{digits}f} ± {v[1]:.{digits}f}"


def _range(v: tuple[float, float] | None) -> str:
    return "-" if v is None else f"{v[0]:.1e} - {v[1]:.1e}"


def _seeds(s: dict[str, Any]) -> str:
    return f"{s['seeds']}" + (f" ({s['diverged']} diverged)" if s["diverged"] else "")


def table(summary: list[dict[str, Any]], skipped: dict[str, str], config: Any) -> str:
    """The report: the settings, then a section per part run (binary, image, VAE), then what was
    skipped and why."""
    lines = [
        "# Han et al. (2023): ProximalSplit against the same optimizer without the split\n",
        _settings(config),
    ]
    binary = [s for s in summary if s["part"] == "binary"]
    if binary:
        lines.extend(_binary_section(binary))
    for part in ("image", "vae"):
        entries = [s for s in summary if s["part"] == part]
        if entries:
            lines.extend(_network_section(part, entries))
    for what, why in skipped.items():
        lines.append(f"\n{what}: {why}")
    return "\n".join(lines) + "\n"


def _settings(config: Any) -> str:
    """The report's paragraph on what was run and how the methods differ."""
    networks = "image" in config.parts or "vae" in config.parts
    return (
        "Settings: "
        + (
            f"the binary task full batch (600 points), {config.binary_iterations} iterations; "
            if "binary" in config.parts
            else ""
        )
        + (f"{config.epochs} epochs (image), " if "image" in config.parts else "")
        + (f"{config.vae_epochs} epochs (VAE), " if "vae" in config.parts else "")
        + (
            f"batch {config.batch_size}, width {config.width}, train size {config.train_size or 'all'}, "
            f"test size {config.test_size or 'all'}, "
            if networks
            else ""
        )
        + f"{config.seeds} seed(s). The paper does not say how long it "
        "trained. 'ours' keeps eq. (4)'s first-order term in theta's step (ProximalSplit's default), "
        "'ours literal' is the literal eq. (5); 'split-lr backprop' is plain backprop with theta at the "
        "rate the kept reading gives it and phi at alpha. The second-order ratio is ||beta/2 grad_theta "
        "||grad_z L||^2|| / ||grad_theta L|| (eq. 5's term against eq. 4's), smallest - largest over "
        "the run.\n"
    )


_BINARY_HEADER = [
    "method",
    "seeds",
    "final accuracy %",
    "reached 95%",
    "iterations to 95%",
    "worst after 95% %",
    "drops after 95%",
    "final MSE",
    "second-order ratio",
]


def _binary_section(binary: list[dict[str, Any]]) -> list[str]:
    """The binary task's section (Fig. 3): a row per method."""
    rows = [
        [
            s["method"],
            _seeds(s),
            _ms(s.get("train_acc"), 1),
            f"{s['reached_95']} of {s['seeds']}",
            _ms(s.get("iterations_to_95"), 0),
            _ms(s.get("worst_after_95"), 1),
            _ms(s.get("drops_after_95"), 0),
            _ms(s.get("train_loss"), 4),
            _range(s.get("ratio_range")),
        ]
        for s in binary
    ]
    return [
        "## Binary classification (Fig. 3: the paper reports curves, no numbers)\n",
        "The paper: the proposed method converges faster than the baseline at gamma = 100. "
        "Iterations to 95% count the seeds that got there; 'worst after' is the lowest accuracy after "
        "that, 'drops' the iterations below 90% after it.\n",
        markdown_table(_BINARY_HEADER, rows),
    ]


def _network_section(part: str, entries: list[dict[str, Any]]) -> list[str]:
    """The image (Table 2, left) or VAE (Table 2, right; Table 3) section: a row per data set, method
    and optimizer, beside the paper's figure."""
    if part == "image":
        title, paper_of, quality = "Image classification (Table 2, left)", _paper_image, "train acc %"
        header = ["test acc %", "paper test acc %"]
    else:
        title, paper_of, quality = "Denoising VAE (Table 2, right; Table 3)", _paper_vae, "train PSNR dB"
        header = ["test PSNR dB", "paper train / test PSNR dB"]
    rows = [
        [
            s["dataset"],
            s["method"],
            s["optimizer"],
            _seeds(s),
            _ms(s.get("train_loss"), 3 if part == "image" else 4),
            _ms(s.get("train_quality")),
            _ms(s.get("test")),
            paper_of(s),
            _ms(s.get("spikes"), 1),
            _range(s.get("ratio_range")),
        ]
        for s in entries
    ]
    columns = ["data", "method", "optimizer", "seeds", "train loss", quality, *header]
    return [f"\n## {title}\n", markdown_table([*columns, "loss spikes / epoch", "second-order ratio"], rows)]


def _paper_image(s: dict[str, Any]) -> str:
    paper = PAPER_IMAGE.get((s["dataset"], _paper_method(s["method"]), s["optimizer"]))
    return _ms(paper[2]) if paper else "- (paper: MNIST and CIFAR-10)"


def _paper_vae(s: dict[str, Any]) -> str:
    psnrs = PAPER_VAE.get((s["dataset"], _paper_method(s["method"]), s["optimizer"])) or (
        PAPER_ABLATION.get(s["method"]) if s["dataset"] == "mnist" else None
    )
    return f"{_ms(psnrs[0])} / {_ms(psnrs[1])}" if psnrs else "-"


def _paper_method(method: str) -> str:
    """The paper's rows are its method ('ours', under either reading) and its baseline."""
    return "ours" if method.startswith("ours") else method


def _in_figure(method: str) -> bool:
    """Fig. 3's panel: the baselines and the methods at the paper's gamma (the sweep is in the table)."""
    return method.startswith("baseline") or method.endswith("gamma=100")


def plot(folder: RunFolder) -> Any:
    """Fig. 3's panel and the image and VAE curves (mean over seeds): the figure, or None without
    matplotlib or rows."""
    if not _plotting.available():
        return None
    import matplotlib

    curves: dict[str, dict[int, list[float]]] = {}
    for r in folder.metrics():
        part = r["key"].split("|")[0]
        value = r.get("train_acc" if part == "binary" else "test", "")
        if value not in (None, "") and math.isfinite(float(value)):
            group = r["key"].rsplit("|", 1)[0]
            curves.setdefault(group, {}).setdefault(int(r["epoch"]), []).append(float(value))
    parts = [p for p in ("binary", "image", "vae") if any(k.startswith(p) for k in curves)]
    if not parts:
        return None
    fig, axes = _plotting.figure(1, len(parts), figsize=(6 * len(parts), 4.5))
    labels = {"binary": "training accuracy %", "image": "test accuracy %", "vae": "test PSNR dB"}
    colours = [matplotlib.colormaps["tab20"](i) for i in range(20)]
    for ax, part in zip(axes[0], parts, strict=True):
        shown = [
            (group, points)
            for group, points in sorted(curves.items())
            if group.startswith(part) and (part != "binary" or _in_figure(group.split("|")[3]))
        ]
        for i, (group, points) in enumerate(shown):
            _, dataset, opt_name, method = group.split("|")
            xs = sorted(points)
            style = "-" if method.startswith("ours") else "--" if method.startswith("baseline") else ":"
            ax.plot(
                xs,
                [statistics.fmean(points[x]) for x in xs],
                ls=style,
                color=colours[i % len(colours)],
                label=f"{dataset} {opt_name} {method}",
            )
        ax.set_xlabel("iteration" if part == "binary" else "epoch")
        _plotting.integer_ticks(ax)
        ax.set_ylabel(labels[part])
        ax.set_title(f"{part} (mean over seeds)")
        ax.legend(fontsize=6)
    return _plotting.finish(fig, folder.file("proximal.png"))
