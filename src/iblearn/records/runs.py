"""Run folders: one run's config, per-step metrics, results with their provenance, table and
checkpoints (:class:`RunFolder`)."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NoReturn

import torch

from iblearn._provenance import environment, git_commit
from iblearn.records import atomic
from iblearn.records.checkpoints import Checkpoint


def _writer_alive(tmp: Path) -> bool:
    """Whether the process named in a temporary file's name (``.NAME.PID.XXXX.tmp``) still runs; files
    without a PID, from before it was written there, count as alive (the age rule removes them)."""
    parts = tmp.name.split(".")
    pid = parts[-3] if len(parts) >= 4 else ""
    if not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _metrics_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a metrics.csv; a file the run could not have written (not UTF-8 text, not CSV, a row
    with fewer or more fields than the header) raises ValueError naming it."""
    rows = []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            for row in reader:
                if None in row or None in row.values():  # DictReader's marks of extra and missing fields
                    raise ValueError(
                        f"{path}: line {reader.line_num} has another number of fields than the header, so "
                        f"no run wrote it; {atomic.RESTART}"
                    )
                rows.append(row)
    except (UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{path}: not a metrics table a run writes ({err}); {atomic.RESTART}") from None
    return rows


class RunFolder:
    """One run's folder: config, per-step metrics, results, table, checkpoints, plots.

    Under ``torch.distributed`` (``torchrun``) only rank 0 writes: on the other ranks (``writer`` False)
    every write keeps its rows in memory and leaves the files alone, and reads see the folder as rank 0
    left it, plus their own rows; so every rank may run the same code on the same folder.

    Example:
        >>> import tempfile
        >>> run = RunFolder(tempfile.mkdtemp())
        >>> run.write_config({"epochs": 2})
        >>> run.append_metrics({"epoch": 1, "loss": 0.5})
        >>> run.metrics()
        [{'epoch': '1', 'loss': '0.5'}]
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool = False) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        dist = torch.distributed
        self.writer = not (dist.is_available() and dist.is_initialized() and dist.get_rank() != 0)
        # Temporary files left by a killed writer (atomic_write_bytes): the writer's to remove.
        for stale in self.path.glob(".*.tmp") if self.writer else ():
            if not _writer_alive(stale) or time.time() - stale.stat().st_mtime > 600:
                stale.unlink(missing_ok=True)
        self.resume = resume
        self._rows: list[dict[str, str]] | None = None  # metrics.csv, read once
        # The code a run imports is the commit checked out when it starts: an hour-long run's results
        # must not name a commit made while it ran.
        self._commit = git_commit()

    def file(self, name: str) -> Path:
        return self.path / name

    def write_config(self, config: Any) -> None:
        """Write config.json; a resumed run must bring the config it was started with (its finished rows
        and checkpoints were made under that one), so a different one raises ValueError."""
        path = self.file("config.json")
        if self.resume and atomic.present(path):
            old, new = atomic.read_json(path), json.loads(json.dumps(atomic.jsonable(config)))
            if not isinstance(old, dict):
                raise ValueError(
                    f"--resume: {path} holds a JSON {type(old).__name__}, not the object of settings a run "
                    "writes; restore it, or start over without --resume"
                )
            if old != new:
                keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                raise ValueError(
                    f"--resume: {self.path} was started with a different config (differs in: "
                    f"{', '.join(keys)}); resume with the same settings, or start over without --resume"
                )
        if self.writer:
            atomic.write_json(path, config)

    def write_results(
        self, results: Mapping[str, Any], *, seed: int | None = None, device: str | None = None
    ) -> None:
        if not self.writer:
            return
        atomic.write_json(
            self.file("results.json"),
            {
                **results,
                "seed": seed,
                "device": device,
                "environment": {**environment(), "git_commit": self._commit},
            },
        )

    def write_table(self, markdown: str) -> None:
        """Write table.md: ``markdown`` and, once :meth:`write_results` has written results.json, a last
        line naming where it ran (device, threads, seed, torch and the commit), so that a table read
        alone says what produced it."""
        if not self.writer:
            return
        path = self.file("results.json")
        if atomic.present(path):
            results = atomic.read_json(path)
            env = results.get("environment", {}) if isinstance(results, dict) else {}
            if env:
                where = results.get("device") or "an unnamed device"
                if env.get("cuda") and str(where).startswith("cuda"):
                    where = f"{where} ({env['cuda']})"
                commit = (env.get("git_commit") or "unknown")[:7]
                markdown = (
                    f"{markdown.rstrip()}\n\n_Run on {where}, {env.get('cpu_threads')} CPU thread(s), seed "
                    f"{results.get('seed')}; torch {env.get('torch')}, commit {commit} (results.json)._\n"
                )
        atomic.atomic_write_text(self.file("table.md"), markdown)

    def metrics(self) -> list[dict[str, str]]:
        """The rows of metrics.csv so far, as strings (a copy)."""
        if self._rows is None:
            path = self.file("metrics.csv")
            self._rows = []
            if atomic.present(path):
                self._rows = _metrics_rows(path)
        return [dict(r) for r in self._rows]

    def append_metrics(self, row: Mapping[str, Any]) -> None:
        """Add one row to metrics.csv, rewriting it atomically (new columns are added on the fly)."""
        self.extend_metrics([row])

    def extend_metrics(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add rows to metrics.csv in one atomic rewrite."""
        self._write_metrics([*self.metrics(), *({k: atomic.cell(v) for k, v in r.items()} for r in rows)])

    def truncate_metrics(self, keep: int) -> None:
        """Keep the first ``keep`` rows (on resume, rows after the last checkpoint are redone)."""
        self._write_metrics(self.metrics()[:keep])

    def drop_metrics(self, predicate: Callable[[dict[str, str]], bool]) -> None:
        """Remove the rows for which ``predicate`` is true (e.g. a run's epochs past its checkpoint)."""
        self._write_metrics([r for r in self.metrics() if not predicate(r)])

    def _write_metrics(self, rows: list[dict[str, str]]) -> None:
        columns: list[str] = []
        for r in rows:
            columns += [c for c in r if c not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        if self.writer:
            atomic.atomic_write_text(self.file("metrics.csv"), buf.getvalue())
        self._rows = rows

    def save_checkpoint(self, state: Mapping[str, Any], name: str = "checkpoint.pt") -> None:
        Checkpoint(self, name).save(state)

    def load_checkpoint(self, name: str = "checkpoint.pt") -> dict[str, Any] | None:
        """The last checkpoint, or None (see :meth:`Checkpoint.load`)."""
        return Checkpoint(self, name).load()

    def restoring(self, name: str) -> AbstractContextManager[None]:
        """Loading checkpoint ``name``'s state into the run's objects (see :meth:`Checkpoint.restoring`)."""
        return Checkpoint(self, name).restoring()

    def refuse_checkpoint(self, name: str, why: str) -> NoReturn:
        """Raise ValueError naming checkpoint ``name``: a run could not have written it (``why``)."""
        Checkpoint(self, name).refuse(why)
