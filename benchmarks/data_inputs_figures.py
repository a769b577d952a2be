"""The data-inputs guide's figures, from the guide's own MNE examples (the same seeds).

    python benchmarks/data_inputs_figures.py [--write-results]

- ``data_inputs_network.png``: the network ``infer_network`` finds in the guide's ``EpochsArray``
  (five channels, twenty epochs, O1 -> Pz at lag 2 and Cz -> Fz at lag 3 planted; ``max_lag=4``, 100
  surrogates), drawn on the channels as they sit on the scalp seen from above: each edge an arrow
  with its lag, its conditional transfer entropy and its p-value; planted edges found black, false
  ones red, missed ones dashed grey.
- ``data_inputs_timecourse.png``: ``mi_timecourse`` of the guide's stimulus (Pz shifted over samples
  80 - 119 of 100 trials; 200 permutations, seed 0): the MI of every channel over time, with the
  coding window (the points whose corrected p-value is below 0.05) shaded.

Both are written next to docs/guide/data-inputs.md, with the points of each and the run's provenance in
``benchmarks/results/data_inputs/results.json``.
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mne
import numpy as np
import torch

from benchmarks.runners import script
from iblearn.network import infer_network
from iblearn.neuro import mi_timecourse
from iblearn.records import environment, write_json

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = ["O1", "O2", "Pz", "Cz", "Fz"]
#: Where each channel is drawn: its place on the scalp seen from above, nose up (10-20 system).
PLACES = {"O1": (-0.32, -0.8), "O2": (0.32, -0.8), "Pz": (0.0, -0.42), "Cz": (0.0, 0.0), "Fz": (0.0, 0.42)}
#: The guide's couplings: (source, target, lag).
PLANTED = [("O1", "Pz", 2), ("Cz", "Fz", 3)]
#: The guide's coding window: the channel and the samples the stimulus shifts.
WINDOW = ("Pz", 80, 119)
LEVEL = 0.05


def guide_data() -> tuple[Any, Any, np.ndarray]:
    """The guide's epochs for the network, its trials for the time course and their stimulus, drawn
    from one generator in the guide's order."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((20, 5, 200))  # (epoch, channel, time)
    data[:, 2, 2:] += 0.6 * data[:, 0, :-2]  # O1 -> Pz, lag 2
    data[:, 4, 3:] += 0.6 * data[:, 3, :-3]  # Cz -> Fz, lag 3
    info = mne.create_info(CHANNELS, sfreq=250.0, ch_types="eeg")
    stimulus = rng.integers(0, 2, 100)
    trials = rng.standard_normal((100, 5, 200))
    trials[:, 2, 80:120] += 1.5 * stimulus[:, None]
    return mne.EpochsArray(data, info), mne.EpochsArray(trials, info), stimulus


def save(fig: Any, out: Path) -> None:
    """``fig`` as the PNG ``out``, closed."""
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def network_figure(epochs: Any, out: Path) -> dict[str, Any]:
    """The inferred network on the channels; its edges with lag, TE and p-value."""
    network = infer_network(epochs, max_lag=4, n_permutations=100)
    edges = [
        {
            "source": r.source,
            "target": r.target,
            "lag": int(r.lag),
            "te": float(r.te),
            "p_value": float(r.p_value),
        }
        for r in network.to_pandas().itertuples()
    ]
    planted = {(s, t) for s, t, _ in PLANTED}
    found = {(e["source"], e["target"]) for e in edges}
    fig, ax = plt.subplots(figsize=(5.2, 5.2))
    ax.add_patch(plt.Circle((0, -0.15), 1.0, fill=False, color="grey", lw=1))
    ax.plot([-0.1, 0, 0.1], [0.84, 0.97, 0.84], color="grey", lw=1)  # the nose
    for s, t, lag in PLANTED:
        if (s, t) not in found:
            arrow(ax, s, t, {"color": "grey", "linestyle": "--"}, f"missed (lag {lag})")
    for e in edges:
        label = f"lag {e['lag']}\nTE {e['te']:.2f} nats\np = {e['p_value']:.3f}"
        arrow(
            ax,
            e["source"],
            e["target"],
            {"color": "black" if (e["source"], e["target"]) in planted else "crimson"},
            label,
        )
    for name, (px, py) in PLACES.items():
        ax.scatter([px], [py], s=700, color="white", edgecolor="black", zorder=3)
        ax.text(px, py, name, ha="center", va="center", fontsize=10, zorder=4)
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.3, 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    hits = len(found & planted)
    ax.set_title(
        f"infer_network on the epochs: {hits} of {len(planted)} planted found, {len(found - planted)} false"
    )
    save(fig, out)
    return {
        "names": list(network.names),
        "planted": [list(p) for p in PLANTED],
        "edges": edges,
        "found_planted": hits,
        "false": len(found - planted),
    }


def arrow(ax: Any, source: str, target: str, style: dict[str, Any], label: str) -> None:
    """An arrow from ``source`` to ``target`` in ``style``, ``label`` beside its middle."""
    (sx, sy), (tx, ty) = PLACES[source], PLACES[target]
    ax.annotate(
        "",
        xy=(tx, ty),
        xytext=(sx, sy),
        arrowprops={"arrowstyle": "-|>", "lw": 1.6, "shrinkA": 16, "shrinkB": 16, "mutation_scale": 16}
        | style,
    )
    length = np.hypot(tx - sx, ty - sy)
    nx, ny = (ty - sy) / length, (sx - tx) / length  # the normal on the arrow's right
    x, y = (sx + tx) / 2 + 0.12 * nx, (sy + ty) / 2 + 0.12 * ny
    ax.text(x, y, label, ha="left", va="center", fontsize=8, color=style["color"])


def timecourse_figure(trials: Any, stimulus: np.ndarray, out: Path) -> dict[str, Any]:
    """MI of every channel over time with the coding window shaded; the window and each channel's MI."""
    course = mi_timecourse(trials, stimulus, n_permutations=200, seed=0)
    times = course.mi["time"].values
    coding = course.p_value.values < LEVEL
    channels = [CHANNELS[i] for i in np.flatnonzero(coding.any(axis=1))]
    first, last = (
        (float(times[coding.any(axis=0)].min()), float(times[coding.any(axis=0)].max()))
        if coding.any()
        else (None, None)
    )
    fig, ax = plt.subplots(figsize=(7.6, 3.4))
    if first is not None:
        ax.axvspan(
            first, last, color="tab:orange", alpha=0.18, lw=0, label=f"p < {LEVEL} ({', '.join(channels)})"
        )
    for i, name in enumerate(CHANNELS):
        ax.plot(times, course.mi.values[i], lw=1.8 if name == WINDOW[0] else 0.9, label=name)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("MI with the stimulus (nats)")
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    save(fig, out)
    planted = [float(times[WINDOW[1]]), float(times[WINDOW[2]])]
    outside = np.array([name != WINDOW[0] for name in CHANNELS])
    return {
        "times": times.tolist(),
        "mi": {name: course.mi.values[i].tolist() for i, name in enumerate(CHANNELS)},
        "planted": {"channel": WINDOW[0], "first": planted[0], "last": planted[1]},
        "window": {"channels": channels, "first": first, "last": last},
        "max_mi_in_window": float(course.mi.values[~outside].max()),
        "max_mi_null_channels": float(course.mi.values[outside].max()),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = script.Parser(description=__doc__.splitlines()[0])
    parser.add_output(ROOT / "docs" / "guide", "--out")
    parser.add_output(ROOT / "benchmarks" / "results" / "data_inputs" / "results.json", "--points")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    mne.set_log_level("error")
    args.out.mkdir(parents=True, exist_ok=True)
    epochs, trials, stimulus = guide_data()
    points = {
        "provenance": environment(),
        "network": network_figure(epochs, args.out / "data_inputs_network.png"),
        "timecourse": timecourse_figure(trials, stimulus, args.out / "data_inputs_timecourse.png"),
    }
    args.points.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.points, points)
    print(points["network"]["edges"], points["timecourse"]["window"])
    return points


if __name__ == "__main__":
    main()
