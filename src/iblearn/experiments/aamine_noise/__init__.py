"""``iblearn reproduce aamine-noise``: Elad et al. (2019), Fig. 1.

I(X; L(X) + eps) for the output L of a 3-layer MLP with random weights, estimated by AA-MINE and by a
plain MINE over a range of noise variances. The paper's claims (its Fig. 1 has no numbers to match):
(1) at zero noise the MI is infinite, and AA-MINE's estimate keeps growing with training while plain
MINE's levels off; (2) AA-MINE's estimate falls as the noise grows. ``table.md`` checks both.

Differences from the paper: Gaussian inputs instead of MNIST images, a smaller net in ``--quick``.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import torch
from torch import nn

from iblearn.estimators import AAMINE
from iblearn.experiments.aamine_noise.config import MIN_STEPS_FOR_GROWTH_CLAIM, Config
from iblearn.experiments.aamine_noise.report import plot, summarize, table
from iblearn.experiments.options import ReproduceOptions

#: What the run's config.json records as its experiment (and ``iblearn reproduce --config`` reads).
EXPERIMENT = "Elad et al. (2019), Fig. 1"

# The config (.config) and the summary, table and figure (.report), importable from here.
__all__ = [
    "EXPERIMENT",
    "MIN_STEPS_FOR_GROWTH_CLAIM",
    "Config",
    "plot",
    "random_mlp",
    "run",
    "summarize",
    "table",
]


def random_mlp(config: Config, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    previous = config.input_dim
    for width in config.widths:
        layers += [nn.Linear(previous, width), nn.Tanh()]
        previous = width
    return nn.Sequential(*layers).requires_grad_(False)


def run(options: ReproduceOptions, config: Config | None = None) -> Path:
    """Run (or resume) the reproduction; ``config`` overrides the ``--quick``/``--full`` presets."""
    config = options.configure(config or (Config.full() if options.full else Config()))
    device = options.torch_device()
    run = options.start("aamine-noise", EXPERIMENT, config)
    gen = torch.Generator().manual_seed(options.seed)
    x = torch.randn(config.n_train, config.input_dim, generator=gen).to(device)
    xt = torch.randn(config.n_test, config.input_dim, generator=gen).to(device)
    done = {(float(r["noise_var"]), r["critic"]) for r in run.metrics() if int(r["round"]) == config.rounds}
    for var in config.noise_vars:
        for aware in (True, False):
            kind = "AA-MINE" if aware else "MINE"
            if (var, kind) in done:
                continue
            est = AAMINE(
                random_mlp(config, options.seed).to(device),
                math.sqrt(var),
                architecture_aware=aware,
                hidden=(config.hidden,),
                lr=config.lr,
                seed=options.seed,
            ).to(device)
            rows = []
            for r in range(1, config.rounds + 1):
                est.fit(x, steps=config.steps, seed=options.seed + r)
                rows.append(
                    {
                        "noise_var": var,
                        "critic": kind,
                        "round": r,
                        "step": r * config.steps,
                        "estimate": float(est(xt)),
                    }
                )
            # A (noise, critic) pair is one unit: its rounds land in one atomic write, after the rows a
            # killed run left of it are dropped (kept, they would be counted twice on resume).
            run.drop_metrics(partial(_of_pair, var, kind))
            run.extend_metrics(rows)
            options.tell(f"noise variance {var:g}, {kind}")
    results = summarize(run.metrics(), config)
    run.write_results(results, seed=options.seed, device=str(device))
    run.write_table(table(results))
    plot(run, config)
    return run.path


def _of_pair(noise_var: float, critic: str, row: dict[str, str]) -> bool:
    return float(row["noise_var"]) == noise_var and row["critic"] == critic
