"""Run records: every experiment leaves a folder that says what ran and what came out.

A run folder holds ``config.json``, ``metrics.csv`` (one row per epoch or step), ``results.json``
(with seed, library versions, device and git commit), ``table.md`` and plots. Every write is atomic
(a temporary file in the same folder, then ``os.replace``), so a killed run never leaves a torn file,
and each resumable part of a run (a reproduction's training run, greedy training, the LR range test)
goes on from its :class:`Checkpoint`, loaded with ``torch.load(..., weights_only=True)``; many-variable
work cut into batches goes on from its :class:`BatchStore`.

One concept a module: :mod:`~iblearn.records.atomic` (atomic writes, JSON), :mod:`~iblearn.records.runs`
(:class:`RunFolder` and the provenance of its results), :mod:`~iblearn.records.checkpoints`
(:class:`Checkpoint`), :mod:`~iblearn.records.batches` (:class:`BatchStore`, :func:`fingerprint`) and
:mod:`~iblearn.records.tables` (:func:`markdown_table`); the names below are the package's API.

The package imports nothing of iblearn's layers (only the private ``_provenance``), so every layer can
use it.
"""

from iblearn._provenance import environment, git_commit
from iblearn.records.atomic import atomic_write_bytes, atomic_write_text, present, read_json, write_json
from iblearn.records.batches import BatchStore, fingerprint, read_checkpoint
from iblearn.records.checkpoints import Checkpoint
from iblearn.records.runs import RunFolder
from iblearn.records.tables import markdown_table

__all__ = [
    "BatchStore",
    "Checkpoint",
    "RunFolder",
    "atomic_write_bytes",
    "atomic_write_text",
    "environment",
    "fingerprint",
    "git_commit",
    "markdown_table",
    "present",
    "read_checkpoint",
    "read_json",
    "write_json",
]
