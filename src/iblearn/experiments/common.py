"""Options every reproduction takes, and the run-folder conventions they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from iblearn.records import RunFolder


@dataclass(frozen=True)
class ReproduceOptions:
    """The common command-line options of ``iblearn reproduce``.

    Attributes:
        full: the real reproduction (``--full``) instead of the few-minute ``--quick`` one.
        out: run folder; default ``runs/<name>-quick`` or ``runs/<name>-full``.
        seed: first seed; runs with several seeds use ``seed, seed + 1, ...``.
        device: ``"cpu"`` or ``"cuda"``.
        resume: continue a killed run from its records instead of starting over.
        progress: called with a short message as work completes (the CLI draws a progress bar).
    """

    full: bool = False
    out: Path | None = None
    seed: int = 0
    device: str = "cpu"
    resume: bool = False
    progress: Callable[[str], None] | None = field(default=None, compare=False)

    def run_folder(self, name: str) -> RunFolder:
        path = self.out or Path("runs") / f"{name}-{'full' if self.full else 'quick'}"
        run = RunFolder(path)
        if not self.resume:
            run.truncate_metrics(0)
            run.file("checkpoint.pt").unlink(missing_ok=True)
        return run

    def torch_device(self) -> torch.device:
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: 'cuda' was asked for, but torch sees no CUDA device")
        return torch.device(self.device)
