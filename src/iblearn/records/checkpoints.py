"""Checkpoints: the state a resumable part of a run goes on from (:class:`Checkpoint`), loaded with
``torch.load(..., weights_only=True)``."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, Protocol

import torch
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

from iblearn.records import atomic


class Folder(Protocol):
    """Where a checkpoint lives: a run folder (:class:`~iblearn.records.RunFolder`)."""

    writer: bool

    def file(self, name: str) -> Path: ...


class Checkpoint:
    """One resumable part of a run: a file in its run folder holding the state the part goes on from.

    :meth:`save` writes a dict of plain values plus each named object's ``state_dict()`` (a list of
    objects: the list of theirs) and, with ``random=True``, torch's RNG states; :meth:`load` reads it
    back and :meth:`restore` loads it into the same objects. A file the part could not have written
    raises ValueError naming it, with what to do. Without a run folder (``run`` None) nothing is
    written and nothing is there to load. Under ``torch.distributed`` only rank 0 writes.

    Example:
        >>> import tempfile
        >>> from iblearn.records import RunFolder
        >>> model = torch.nn.Linear(2, 1)
        >>> part = Checkpoint(RunFolder(tempfile.mkdtemp()), "checkpoint-fit.pt")
        >>> part.save({"epoch": 3}, random=True, model=model)
        >>> state = part.load()
        >>> part.restore(state, random=True, model=model)
        >>> state["epoch"]
        3
    """

    def __init__(self, run: Folder | None, name: str) -> None:
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
        atomic.atomic_write_bytes(self.run.file(self.name), buf.getvalue())

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None. Tensors, numbers, strings and containers only (weights_only), and
        the placeholders of lazy layers not yet called (a DIM critic's unused branch)."""
        if self.run is None:
            return None
        path = self.run.file(self.name)
        if path.is_symlink():  # the run writes regular files only; a link may point anywhere
            self.refuse("a checkpoint must be a regular file, not a symbolic link")
        if not atomic.present(path):
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
        raise ValueError(f"{where}: {why}; {atomic.RESTART}") from None

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
