"""The scaffolding every reproduction shares, importable from here as one: its options
(:mod:`.options`), a training run's checkpoint (:mod:`.run_checkpoint`), the training helpers
(:mod:`.training`) and the summary over seeds (:mod:`.summary`)."""

from iblearn.experiments.options import ReproduceOptions
from iblearn.experiments.run_checkpoint import RunCheckpoint
from iblearn.experiments.summary import summarize_runs
from iblearn.experiments.training import accuracy, module_optimizers, sharded_batches, train_epoch

__all__ = [
    "ReproduceOptions",
    "RunCheckpoint",
    "accuracy",
    "module_optimizers",
    "sharded_batches",
    "summarize_runs",
    "train_epoch",
]
