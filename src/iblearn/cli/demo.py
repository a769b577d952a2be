"""``iblearn demo``: a small version of every reproduction, each with what its numbers mean: a sentence
written from the numbers the run printed, then what holds at any scale."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from iblearn.cli import demo_words as words
from iblearn.cli.console import Subparsers, out, progress_bar

# The length is the committed measurement of `make demo` (benchmarks/results/demo/time.json); a test
# holds this text to it.
DEMO_HELP = (
    "run a small version of every reproduction and say what its numbers mean (about 4 minutes of CPU "
    "time on one thread, measured on a 2-core machine: benchmarks/results/demo/ in iblearn's source; "
    "each section prints its time)"
)


@dataclass(frozen=True)
class DemoSection:
    """One section of ``iblearn demo``: a reproduction at its experiment's ``Config.demo()`` preset
    (estimators: its ``--quick`` one), what it runs, what its numbers say (``words``, written from the
    run's results.json: :mod:`iblearn.cli.demo_words`), and what holds whatever they are (``meaning``:
    the scale, the paper, the full runs)."""

    reproduction: str
    intro: str
    meaning: str
    files: str
    words: Callable[[dict[str, Any]], str]


DEMO_SECTIONS: dict[str, DemoSection] = {
    "estimators": DemoSection(
        "estimators",
        "MI estimators against closed-form truth, N = 1,000, 2 seeds (iblearn reproduce estimators --quick).",
        "Each row is measured against a known truth, not a paper (green: within 5% of it). At N = 1,000 "
        "the literature expects KSG to be biased low where the MI is high or the dimension large (Kraskov "
        "et al. 2004; Gao et al. 2015), GaussianMI to be exact only on Gaussian tasks, and Binning, shown in "
        "one dimension only, to overestimate weak dependence.",
        "records and accuracy.png",
        words.estimators_words,
    ),
    "aamine": DemoSection(
        "aamine-noise",
        "Elad et al. 2019, Fig. 1: I(X; L + eps) of a random 3-layer MLP, AA-MINE against plain MINE, 2 "
        "rounds of 250 critic steps (a small version of iblearn reproduce aamine-noise).",
        "The nats are far below the paper's: a 10-10-10-5 net on 10 inputs and 500 critic steps, where "
        "the paper has 784 inputs and far longer training, so 'keeps growing' cannot be judged here. The "
        "paper has AA-MINE above MINE at zero noise, both falling as the noise grows and agreeing once it "
        "dominates (docs/results/aamine-noise.md).",
        "records and aamine_noise.png",
        words.aamine_words,
    ),
    "proximal": DemoSection(
        "proximal",
        "Han et al. 2023, Fig. 3: ProximalSplit on the paper's binary task (full-batch SGD, alpha 0.1, beta "
        "10, gamma 100, 1 seed) against plain backprop at the paper's rate, a split-rate control (theta at "
        "gamma * lam * beta = 1000, phi at 0.1) and a tuned plain SGD (lr 10).",
        "'Iterations to 95%' is the paper's claim, faster convergence at gamma = 100 than the baseline at "
        "lr 0.1; the split-rate control (theta's learning rate without the split) and plain SGD at lr 10 "
        "tell a speed-up of the split from one of the rate. 'ours literal' is eq. 5 as printed. One seed "
        "can land either way; 10 seeds and the image and VAE rows: docs/results/proximal.md.",
        "records and proximal.png",
        words.proximal_words,
    ),
    "mi-lr": DemoSection(
        "mi-lr",
        "Vasudevan 2020: the LR range test (Algorithm 2) over 0.01 - 0.3, then SGD with MIDecayLR (Algorithm "
        "1) against Adam on 3,000 MNIST images, 3 epochs (a small version of iblearn reproduce mi-lr).",
        "Accuracies after 3 epochs on 3,000 images, far from the paper's 50 on 60,000 (99.27% and 99.53%). "
        "The candidates stop at 0.3, the top of the range the 10-epoch run found ([0.003, 0.3]). At 10 "
        "epochs on 20,000 images MIDecayLR ends below Adam (97.85 against 98.93, best test accuracy); at "
        "the paper's 50 epochs on all 60,000, level with it (99.41 against 99.41, best of 3 seeds; the "
        "paper: 99.27 against 99.53; docs/results/mi-lr.md).",
        "records, mi_lr.png and the range test's lr_range-mnist-lenet5.png",
        words.mi_lr_words,
    ),
    "mole": DemoSection(
        "mole",
        "Li & Pei 2023: MOLE, each module of a CNN trained alone on its own MI objective (matrix-based Renyi "
        "estimator), against backpropagation of the same net, on 5,000 MNIST images, 2 epochs (a small "
        "version of iblearn reproduce mole).",
        "Two epochs on 5,000 images are about 80 updates: backpropagation is far from converged, and MOLE, "
        "whose modules each settle on their own objective sooner, can land above it, where the paper has it "
        "4.6 points below. The gap opens with longer training on more data (ours, matrix-based: -1.27 points "
        "on 10,000 images at 5 epochs, -4.07 on all 60,000; docs/results/mole.md).",
        "records and the t-SNE of every module, tsne-mnist-*.png",
        words.mole_words,
    ),
    "layerwise-ib": DemoSection(
        "layerwise-ib",
        "Elad et al. 2019: an MLP trained layer by layer on I(Y;L) - beta I(X;L+eps) (MINE and AA-MINE), "
        "then a post-trained linear layer, against cross-entropy end to end, on 1% of MNIST (600 images; a "
        "small version of iblearn reproduce layerwise-ib).",
        "120 updates per layer and one seed: the order of the rows can change from seed to seed; the full "
        "protocol (2,400 updates per layer, 3 seeds) puts both layer-wise objectives above cross-entropy "
        "(+3.25 and +1.68 points at 1%; docs/results/layerwise-ib.md). The Fig. 3 rows tell a layer that "
        "quantizes from a dead one: at a large beta nearly every image on one output and few units active.",
        "records and the t-SNE of Fig. 3, fig3-tsne.png",
        words.layerwise_words,
    ),
    "ib-theory": DemoSection(
        "ib-theory",
        "Amjad & Geiger 2019: the IB functional of a deterministic net is infinite or piecewise constant; "
        "its decision-rule, noisy and stochastic forms are not. Exact values for the toy nets of Figs. 1-3, "
        "eq. (5) against KSG, and information planes of a small MLP on 1,000 MNIST images, 8 epochs (a small "
        "version of iblearn reproduce ib-theory).",
        "The toy nets' values are exact, so they hold at any scale. The information planes are ours (paper "
        "003 has no experiment), 8 epochs on 1,000 images: I(X;T) of a deterministic layer is infinite, so "
        "the 'compression' each plane shows is its estimator's (binning, KSG, noisy), not the net's "
        "(100 epochs on 10,000 images: docs/results/ib-theory.md).",
        "records, fig1_grid.png and the information planes plane_*.png",
        words.ib_theory_words,
    ),
}


def _demo_config(name: str) -> Any:
    """The experiment's ``Config.demo()``, or None for its ``--quick`` preset (estimators)."""
    import importlib

    module = importlib.import_module(f"iblearn.experiments.{name.replace('-', '_')}")
    config = getattr(module, "Config", None)
    return config.demo() if config is not None and hasattr(config, "demo") else None


def _run_demo_section(section: DemoSection, out_dir: Path) -> Path:
    """Runs one section with a progress bar and prints its table and what the numbers mean."""
    from iblearn.experiments import REPRODUCTIONS, ReproduceOptions

    out.print(escape(section.intro))  # escape: "[lr_min, lr_max]" would be read as rich markup
    with progress_bar(None, section.reproduction) as step:
        options = ReproduceOptions(out=out_dir, progress=step, planned=step.planned)
        path = REPRODUCTIONS[section.reproduction](options, _demo_config(section.reproduction))
    results = json.loads((path / "results.json").read_text(encoding="utf-8"))
    if section.reproduction == "estimators":
        out.print(_summary_table(results["summary"], "Estimates in nats (bias: mean - truth)"))
    else:
        out.print(Markdown((path / "table.md").read_text(encoding="utf-8")))
    out.print(f"[bold]What it means:[/bold] {escape(section.words(results))} {escape(section.meaning)}")
    out.print(f"[dim]{section.files}: {escape(str(path))}[/dim]")
    return path


def cmd_demo(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    done: list[tuple[str, Path, float]] = []
    for name in [args.only] if args.only else DEMO_SECTIONS:
        out.rule(f"[bold]iblearn demo: {name}[/bold]")
        section = time.perf_counter()
        path = _run_demo_section(DEMO_SECTIONS[name], Path(args.out) / name)
        done.append((name, path, time.perf_counter() - section))
        out.print(f"[dim]{name}: {done[-1][2]:.0f} s[/dim]")
    out.rule("[bold]iblearn demo: summary[/bold]")
    table = Table(box=box.SIMPLE_HEAD)
    for col in ("section", "seconds", "folder", "pictures"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for name, path, seconds in done:
        pictures = ", ".join(sorted(p.name for p in path.glob("*.png"))) or "-"
        table.add_row(name, f"{seconds:.0f}", str(path), pictures)
    out.print(table)
    out.print(
        f"Each folder holds config.json, metrics.csv, results.json and table.md. Demo finished in "
        f"{time.perf_counter() - start:.0f} s. The full reproductions: iblearn reproduce NAME --full "
        "(iblearn reproduce --help lists them)."
    )
    return 0


def _summary_table(summary: Sequence[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for col in ("task", "truth", "estimator", "N", "mean", "sd", "bias", "time (s)"):
        table.add_column(col, justify="left" if col in ("task", "estimator") else "right")
    last = None
    for s in summary:
        if "mean" not in s:
            continue
        bias = s["bias"]
        colour = "green" if words.within(bias, s["truth"]) else "yellow"
        table.add_row(
            s["task"] if s["task"] != last else "",
            f"{s['truth']:.4f}" if s["task"] != last else "",
            s["method"].replace("iblearn ", ""),
            str(s["n"]),
            f"{s['mean']:.4f}",
            f"{s['sd']:.4f}",
            f"[{colour}]{bias:+.4f}[/{colour}]",
            f"{s['seconds']:.3f}",
        )
        last = s["task"]
    return table


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """The command's parser under ``sub``, with the options of ``common``."""
    demo = sub.add_parser("demo", parents=[common], help=DEMO_HELP, description=DEMO_HELP)
    demo.add_argument("--out", default="runs/demo", help="where the run records go")
    demo.add_argument("--only", choices=list(DEMO_SECTIONS), default=None, help="run one section")
    demo.set_defaults(func=cmd_demo)
