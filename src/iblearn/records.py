"""Run records: every experiment leaves a folder that says what ran and what came out.

A run folder holds ``config.json``, ``metrics.csv`` (one row per epoch or step), ``results.json``
(with seed, library versions, device and git commit), ``table.md`` and plots. Every write is atomic
(a temporary file in the same folder, then ``os.replace``), so a killed run never leaves a torn file,
and each resumable part of a run (a reproduction's training run, greedy training, the LR range test)
goes on from its :class:`Checkpoint`, loaded with ``torch.load(..., weights_only=True)``; many-variable
work cut into batches goes on from its :class:`BatchStore`.

This module imports nothing of iblearn's layers (only the private ``_provenance``), so every layer can
use it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np
import torch
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

# Re-exported: results.json's provenance is part of a run's records.
from iblearn._provenance import environment as environment
from iblearn._provenance import git_commit as git_commit

T = TypeVar("T")

_UMASK = os.umask(0)  # read once, at import: os.umask can only be read by setting it
os.umask(_UMASK)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half of it.

    The file gets the mode a plain ``open`` would give it (``mkstemp`` makes it owner-only), and the
    folder is synced after the rename, so the new name survives a power cut too.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's PID in the name lets a later run remove what a killed writer left (see RunFolder).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # POSIX; Windows cannot open a folder to sync it
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _jsonable(value.detach().cpu().tolist())
    if isinstance(value, np.generic | np.ndarray):
        return _jsonable(value.tolist())  # then NaN and Inf are caught below, as for Python floats
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)  # JSON has no NaN/Inf; keep them readable
    return value


def _cell(value: Any) -> str:
    v = _jsonable(value)
    return v if isinstance(v, str) else json.dumps(v) if isinstance(v, list | dict) else str(v)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    atomic_write_text(path, json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    present(Path(path))
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:  # json nests by recursion: a file of 100,000 '[' exhausts the stack
        raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not valid JSON (not UTF-8 text: {err.reason})") from None


def present(path: str | os.PathLike[str]) -> bool:
    """Whether a run's file is there. Anything but a regular file in its place raises ValueError: opening
    a FIFO blocks until another process writes to it, and a folder or a device is no record."""
    path = Path(path)
    if not path.exists():
        return False
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file; {_RESTART}")
    return True


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
        if self.resume and present(path):
            old, new = read_json(path), json.loads(json.dumps(_jsonable(config)))
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
            write_json(path, config)

    def write_results(
        self, results: Mapping[str, Any], *, seed: int | None = None, device: str | None = None
    ) -> None:
        if not self.writer:
            return
        write_json(
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
        if present(path):
            results = read_json(path)
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
        atomic_write_text(self.file("table.md"), markdown)

    def metrics(self) -> list[dict[str, str]]:
        """The rows of metrics.csv so far, as strings (a copy)."""
        if self._rows is None:
            path = self.file("metrics.csv")
            self._rows = []
            if present(path):
                with path.open(newline="", encoding="utf-8") as f:
                    self._rows = list(csv.DictReader(f))
        return [dict(r) for r in self._rows]

    def append_metrics(self, row: Mapping[str, Any]) -> None:
        """Add one row to metrics.csv, rewriting it atomically (new columns are added on the fly)."""
        self.extend_metrics([row])

    def extend_metrics(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add rows to metrics.csv in one atomic rewrite."""
        self._write_metrics([*self.metrics(), *({k: _cell(v) for k, v in r.items()} for r in rows)])

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
            atomic_write_text(self.file("metrics.csv"), buf.getvalue())
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


class Checkpoint:
    """One resumable part of a run: a file in its run folder holding the state the part goes on from.

    :meth:`save` writes a dict of plain values plus each named object's ``state_dict()`` (a list of
    objects: the list of theirs) and, with ``random=True``, torch's RNG states; :meth:`load` reads it
    back and :meth:`restore` loads it into the same objects. A file the part could not have written
    raises ValueError naming it, with what to do. Without a run folder (``run`` None) nothing is
    written and nothing is there to load. Under ``torch.distributed`` only rank 0 writes.

    Example:
        >>> import tempfile
        >>> model = torch.nn.Linear(2, 1)
        >>> part = Checkpoint(RunFolder(tempfile.mkdtemp()), "checkpoint-fit.pt")
        >>> part.save({"epoch": 3}, random=True, model=model)
        >>> state = part.load()
        >>> part.restore(state, random=True, model=model)
        >>> state["epoch"]
        3
    """

    def __init__(self, run: RunFolder | None, name: str) -> None:
        self.run, self.name = run, name

    def save(self, state: Mapping[str, Any], *, random: bool = False, **objects: Any) -> None:
        if self.run is None or not self.run.writer:
            return
        full = {**state, **{key: _state_of(obj) for key, obj in objects.items() if obj is not None}}
        if random:
            full["rng"] = torch.get_rng_state()
            # Dropout and noise layers on a GPU draw from its generators.
            full["cuda_rng"] = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
        buf = io.BytesIO()
        torch.save(full, buf)
        atomic_write_bytes(self.run.file(self.name), buf.getvalue())

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None. Tensors, numbers, strings and containers only (weights_only), and
        the placeholders of lazy layers not yet called (a DIM critic's unused branch)."""
        if self.run is None:
            return None
        path = self.run.file(self.name)
        if path.is_symlink():  # the run writes regular files only; a link may point anywhere
            self.refuse("a checkpoint must be a regular file, not a symbolic link")
        if not present(path):
            return None
        try:
            with torch.serialization.safe_globals([UninitializedParameter, UninitializedBuffer]):
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated, random bytes, a pickle that weights_only refuses, ...
            self.refuse(f"not a readable checkpoint ({type(err).__name__})")
        if not isinstance(state, dict):
            self.refuse(f"a checkpoint holds a dict, found {type(state).__name__}")
        return state

    def restore(self, state: Mapping[str, Any], *, random: bool = False, **objects: Any) -> None:
        """Load ``state`` into the objects :meth:`save` was given under the same names (and torch's RNG:
        under torchrun this rank's own, where the state holds every rank's as ``rank_rng``)."""
        with self.restoring():
            for key, obj in objects.items():
                if obj is not None:
                    _load_into(obj, state[key])
            if random:
                dist = torch.distributed
                rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
                every = state.get("rank_rng") or []
                torch.set_rng_state(every[rank] if rank < len(every) else state["rng"])
                if state.get("cuda_rng"):
                    torch.cuda.set_rng_state_all(state["cuda_rng"])

    @contextmanager
    def restoring(self) -> Iterator[None]:
        """Loading the state into the run's objects: a state that does not fit them (a missing entry,
        another shape, a wrong type) raises ValueError naming the file."""
        try:
            yield
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as err:
            self.refuse(f"does not fit this run ({type(err).__name__}: {err})")

    def refuse(self, why: str) -> NoReturn:
        """Raise ValueError naming the file: the run could not have written it (``why``)."""
        where = self.run.file(self.name) if self.run is not None else self.name
        raise ValueError(f"{where}: {why}; {_RESTART}") from None

    def remove(self) -> None:
        """The part is complete and its records say everything: the checkpoint goes."""
        if self.run is not None and self.run.writer:
            self.run.file(self.name).unlink(missing_ok=True)


def _state_of(obj: Any) -> Any:
    return [_state_of(o) for o in obj] if isinstance(obj, list | tuple) else obj.state_dict()


def _load_into(obj: Any, saved: Any) -> None:
    if isinstance(obj, list | tuple):
        for o, s in zip(obj, saved, strict=True):
            _load_into(o, s)
    else:
        obj.load_state_dict(saved)


_RESTART = "delete it to start that part of the run over"


def fingerprint(arrays: Sequence[Any], settings: dict[str, Any]) -> str:
    """What a checkpoint must match: the settings and the data's bytes."""
    # numpy's scalars (an np.int64 k or seed) as the Python numbers they equal.
    plain = json.dumps(
        settings, sort_keys=True, default=lambda v: v.item() if isinstance(v, np.generic) else repr(v)
    )
    h = hashlib.sha256(plain.encode())
    for a in arrays:
        t = torch.as_tensor(a).detach().cpu().to(torch.float64).contiguous()
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def read_checkpoint(path: Path, read: Callable[[Path], T]) -> T | None:
    """``read(path)``, or None when nothing is there; a FIFO, folder or device in its place, or a file
    ``read`` cannot make sense of (``ValueError``, ``KeyError``, ``TypeError``, ``OSError``), raises
    ValueError naming the checkpoint's file."""
    try:
        return read(path) if present(path) else None
    except (ValueError, KeyError, TypeError, OSError, EOFError, RecursionError) as err:
        raise ValueError(
            f"checkpoint: {path} is not a readable part of a checkpoint ({err!r}); delete it"
        ) from None


class BatchStore:
    """The checkpoint folder of many-variable work cut into batches (``iblearn.functional``'s pairwise
    matrices, transfer entropies and subset searches): ``key`` (the run's :func:`fingerprint`), one
    ``.npy`` file a finished batch, and named JSON files of a search's state, each written atomically.
    A folder that holds another run's key is refused, never mixed in."""

    def __init__(self, path: str | os.PathLike[str], key: str) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"checkpoint: {self.path} exists and is not a folder")
        saved = read_checkpoint(self.path / "key", lambda f: f.read_text(encoding="utf-8").strip())
        if saved is None:
            atomic_write_text(self.path / "key", key + "\n")
        elif saved != key:
            raise ValueError(
                f"checkpoint: {self.path / 'key'} is expected to hold this run's fingerprint (the data's and "
                "settings' hash a checkpoint folder starts with), and holds "
                + (
                    "another run's"
                    if len(saved) == 64 and set(saved) <= set("0123456789abcdef")
                    else "something else"
                )
                + "; give checkpoint= a folder of its own (a new one, or this run's)"
            )

    def _file(self, i: int) -> Path:
        return self.path / f"batch-{i:07d}.npy"

    def load(self, i: int, size: int) -> np.ndarray | None:
        """Batch ``i``'s ``size`` values, None where it is not done; a file of another shape, or of
        values that are not finite numbers, raises ValueError naming it."""

        def read(f: Path) -> np.ndarray:
            values = np.load(f, allow_pickle=False)
            if values.shape != (size,) or values.dtype.kind != "f" or not np.isfinite(values).all():
                raise ValueError(
                    f"expected {size} finite numbers, got {values.dtype} of shape {values.shape}"
                )
            return values

        return read_checkpoint(self._file(i), read)

    def save(self, i: int, values: Any) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(values), allow_pickle=False)
        atomic_write_bytes(self._file(i), buf.getvalue())

    def read_json(self, name: str, check: Callable[[Any], T]) -> T | None:
        """``check`` of the JSON held in the folder's file ``name``, or None where there is none; a file
        that is not JSON, or that ``check`` refuses (``ValueError``, ``KeyError``, ``TypeError``), raises
        ValueError naming it (:func:`read_checkpoint`)."""
        return read_checkpoint(self.path / name, lambda f: check(json.loads(f.read_text(encoding="utf-8"))))

    def write_json(self, name: str, data: Any) -> None:
        """``data`` as JSON in the folder's file ``name``, atomically."""
        atomic_write_text(self.path / name, json.dumps(data))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""

    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
