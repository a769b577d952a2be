"""``iblearn reproduce estimators``: iblearn's estimators against the closed-form MI of the synthetic tasks.

There is no paper to match here: this is the estimator core's own check, and the default job of
``iblearn demo``. ``--quick``: N = 1,000, 2 seeds (under a minute on two cores); ``--full``: N = 1,000,
5,000 and 10,000, 5 seeds. The benchmark (``iblearn bench estimators``, from a source checkout) runs the same
grid with the peers beside ours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iblearn.experiments.estimators.accuracy import (
    AccuracyConfig,
    accuracy_table,
    describe,
    ours,
    plot_accuracy,
    run_accuracy,
    summarize,
)
from iblearn.experiments.options import ReproduceOptions

#: What the run's config.json records as its experiment (and ``iblearn reproduce --config`` reads).
EXPERIMENT = "estimators"


def run(options: ReproduceOptions, config: AccuracyConfig | None = None) -> Path:
    """Run (or resume) the grid; ``config`` overrides the ``--quick``/``--full`` presets."""
    options = dataclasses.replace(options, overrides=_fields(options.overrides))
    sizes, seeds = ((1000, 5000, 10000), 5) if options.full else ((1000,), 2)
    config = options.configure(config or AccuracyConfig(sizes=sizes, seeds=seeds, first_seed=options.seed))
    run = options.run_folder("estimators")  # after the config's checks: a refused --set leaves no folder
    device = options.torch_device()
    methods = ours()
    run.write_config(
        {
            "experiment": EXPERIMENT,
            "accuracy": config,
            "methods": [describe(m) for m in methods],
            "device": str(device),
        }
    )
    rows = run_accuracy(config, methods, run, progress=options.progress, device=device)
    summary = summarize(rows)
    run.write_results({"summary": summary}, seed=options.seed, device=str(device))
    run.write_table(accuracy_table(summary))
    plot_accuracy(summary, str(run.file("accuracy.png")))
    return run.path


def _fields(overrides: Mapping[str, Any]) -> Mapping[str, Any]:
    """The config fields of ``overrides``: a run's config.json, given as ``--config``, nests them under
    "accuracy" beside the methods it describes, which are not settings; fields beside them (``--set``)
    win."""
    if not isinstance(overrides.get("accuracy"), dict):
        return overrides
    rest = {k: v for k, v in overrides.items() if k not in ("accuracy", "methods")}
    return {**overrides["accuracy"], **rest}
