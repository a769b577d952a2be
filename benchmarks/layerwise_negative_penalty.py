"""What the rule "a negative I(X; L + eps) estimate is not minimized" (``training.NoisyIB``) does: the
layer-wise reproduction's full functional (``iblearn reproduce layerwise-ib --full``, MNIST 100%) with
the penalty beta * I(X; L + eps) applied to the estimate as it is, negative or not, beside the rule's
folder for the same seeds (Table 1's ``table1-mnist100``)::

    python benchmarks/layerwise_negative_penalty.py [--seed 3] [--seeds 1] [--out runs/negative-penalty]

Writes a run folder like the reproduction's (config, per-seed and per-epoch rows, results, table) and
``variant.txt``, which says what differs. Resumes with ``--resume``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

import _prelude  # noqa: F401  (one thread, before numpy and torch)
from iblearn._threads import limit_threads
from iblearn.experiments import layerwise_ib
from iblearn.experiments.options import ReproduceOptions
from iblearn.records import atomic_write_text
from iblearn.training import Batch, NoisyIB


def penalty_as_estimated(self: NoisyIB, batch: Batch, t: Any) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. (2) with the I(X; L + eps) estimate minimized wherever it lies: ``NoisyIB.loss`` (one process,
    vector inputs) without its rule at zero."""
    i_yl = self.mine.batch_mi(t.flatten(1), batch.y)
    metrics = {"I(Y;L)": float(i_yl.detach())}
    if self.aamine is None:
        return -i_yl, metrics
    i_xl = self.aamine.batch_mi(batch.x, self.aamine.add_noise(t))
    metrics["I(X;L+eps)"] = float(i_xl.detach())
    return -(i_yl - self.beta * i_xl), metrics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("runs/negative-penalty"))
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    limit_threads(1)
    NoisyIB.loss = penalty_as_estimated  # type: ignore[method-assign]
    overrides = {"runs": [["mnist", 1.0]], "methods": ["ib"], "tsne_betas": [], "seeds": args.seeds}
    options = ReproduceOptions(
        full=True, out=args.out, seed=args.seed, resume=args.resume, overrides=overrides
    )
    folder = layerwise_ib.run(options)
    variant = "penalty: beta * I(X; L + eps) as estimated, negative or not (benchmarks/{})\n"
    atomic_write_text(folder / "variant.txt", variant.format(Path(__file__).name))
    print((folder / "table.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
