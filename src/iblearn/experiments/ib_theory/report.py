"""The table and the Fig. 1 figure of ``iblearn reproduce ib-theory`` (Amjad & Geiger 2019)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from iblearn import _plotting
from iblearn.experiments.ib_theory import plane as ib_plane
from iblearn.records import RunFolder, markdown_table


def table(results: dict[str, Any]) -> str:
    fig1 = markdown_table(
        ["input (Fig. 1)", "cells", "distinct I(X;Y~)", "distinct I(Y;Y~)", "infinite I(X;Y~)"],
        [
            [k, v["cells"], v["distinct I(X;Y~)"], v["distinct I(Y;Y~)"], v["infinite cells"]]
            for k, v in results["fig1"].items()
        ],
    )
    keys = [k for k in results["examples"][0] if k != "net"]
    ex = markdown_table(
        ["net", *keys], [[r["net"], *(f"{r[k]:.3f}" for k in keys)] for r in results["examples"]]
    )
    lin = markdown_table(
        ["scale of W", "eq. (5) (nats)", "KSG (nats)"],
        [[r["scale of W"], f"{r['eq. (5)']:.3f}", f"{r['KSG']:.3f}"] for r in results["linear"]],
    )
    return "\n\n".join(
        [
            "# The IB functional examined (Amjad & Geiger 2019)",
            "## Fig. 1: the ReLU net of Fig. 1(d) over the (a, b) grid, step 0.05 (bits, exact)",
            "Piecewise constant: a 21 x 21 grid takes only the listed number of distinct values. With the "
            "continuous input, I(X; Y~) is infinite wherever the ramp (a, a+b) holds probability mass "
            "(the missing cells of Fig. 1(g)); I(Y; Y~) stays finite.",
            fig1,
            "## Figs. 2 and 3: equal plain IB functionals, told apart by its remedies (bits)",
            "plain = I on Y~ itself (1000 bins: every distinct value its own); decision = eq. (6) with the "
            "threshold; noisy = Y~ + N(0, 0.1^2); input noise = the decision on f(X + xi), a stochastic net. "
            "Paper: the decision rule separates f' from f'' but not f' from f''' or f^I from f^II; noise "
            "separates the robust nets. (Fig. 3's nets have equal, infinite, plain functionals for the "
            "continuous input; at 1000 bins of a finite sample they differ, and f^I's classes overlap on "
            "[1/2, 1/2 + eps], as the paper's supports do.)",
            ex,
            "## Elad et al.'s (2019) eq. (5): I(X; WX + b + eps), eps ~ N(0, 0.5^2 I), "
            "X ~ N(0, [[1, .5], [.5, 1]])",
            lin,
            ib_plane.table(results["plane"]),
        ]
    )


def plot_fig1(folder: RunFolder, grids: dict[str, NDArray[Any]]) -> Any:
    fig, axes = _plotting.figure(3, 2, figsize=(7, 9))
    for r, (kind, g) in enumerate(grids.items()):
        for c, label in enumerate(("I(X; Y~)", "I(Y; Y~)")):
            img = np.where(np.isfinite(g[..., c]), g[..., c], np.nan)
            im = axes[r, c].imshow(img, origin="lower", extent=(0, 1, 0, 1), cmap="viridis")
            axes[r, c].set(title=f"{kind}: {label} [bits]", xlabel="b", ylabel="a")
            fig.colorbar(im, ax=axes[r, c])
    fig.suptitle("Amjad & Geiger (2019), Fig. 1(e)-(g): white = infinite")
    return _plotting.finish(fig, folder.file("fig1_grid.png"))
