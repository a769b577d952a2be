"""What lets :func:`~iblearn.optim.lr_range_test` resume: the records it hands ``on_epoch``, with the state
it goes on from, and their replay (see "Resuming" in :mod:`iblearn.optim.lr_range`)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

_AGAIN = "records of a test with other lrs, trials, epochs or restart?"


def ity_columns(values: list[float]) -> dict[str, float]:
    """A record's I(T; Y): ``ity`` (the first watched layer's) and ``ity_<k>`` for each layer k."""
    return {"ity": values[0], **{f"ity_{k}": v for k, v in enumerate(values)}}


def _key(record: Mapping[str, Any]) -> tuple[Any, ...]:
    return record.get("trial"), record.get("lr"), record.get("epoch")


def _where(record: Any) -> str:
    if not isinstance(record, Mapping):
        return f"a {type(record).__name__}, not a record"
    return ", ".join(f"{k} {record.get(k)!r}" for k in ("trial", "lr", "epoch"))


def report(
    on_epoch: Callable[[dict[str, Any], dict[str, Any]], None] | None,
    record: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    initial: dict[str, Any],
) -> None:
    """Hand ``on_epoch`` a record and the state the test would go on from after it."""
    if on_epoch is not None:
        state = {
            "trial": record["trial"],
            "lr": record["lr"],
            "epoch": record["epoch"],
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "initial": initial,  # the trial's initial weights, which its later candidates start from
            "rng": torch.get_rng_state(),  # dropout draws from it, and a new trial's model may
        }
        on_epoch(dict(record), state)


class Replay:
    """The records of an interrupted test (``completed``), handed back in the order the test makes them,
    then the ``state`` it goes on from after the last of them (used once, where it first trains)."""

    def __init__(self, completed: Sequence[Mapping[str, Any]], state: Mapping[str, Any] | None) -> None:
        if isinstance(completed, str | bytes | Mapping) or not isinstance(completed, Sequence):
            raise ValueError(f"completed: expected a sequence of records, got {type(completed).__name__}")
        self.records, self.taken = list(completed), 0
        if state is not None:
            if not isinstance(state, Mapping):
                raise ValueError(f"state: expected the dict on_epoch was given, got {type(state).__name__}")
            if not self.records:
                raise ValueError("state: given without completed; it goes with the last record")
            last = self.records[-1]
            if not isinstance(last, Mapping) or _key(state) != _key(last):
                raise ValueError(
                    f"state: of {_where(state)}, but the last record of completed is {_where(last)}; "
                    "pass the state on_epoch was given with it"
                )
        self.state = state
        self.resumed = not self.records  # the state is used (or there is none to use)

    def take(self, trial: int, lr: float, epoch: int) -> dict[str, Any] | None:
        """The next record, which must be of ``(trial, lr, epoch)``; None after the last."""
        if self.taken == len(self.records):
            return None
        record = self.records[self.taken]
        if not isinstance(record, Mapping) or _key(record) != (trial, lr, epoch):
            raise ValueError(
                f"completed: record {self.taken} is {_where(record)}, where this test makes trial {trial}, "
                f"lr {lr!r}, epoch {epoch}: {_AGAIN}"
            )
        self.taken += 1
        return dict(record)

    def ity(self, record: dict[str, Any], layers: int | None) -> list[float]:
        """I(T; Y) per watched layer in the record just taken (as many as at epoch 0, ``layers``); an
        epoch's row must hold its training loss too: its crash is judged again."""
        n = layers if layers is not None else next(k for k in itertools.count() if f"ity_{k}" not in record)
        needed = [f"ity_{k}" for k in range(n)] + (["train_loss"] if layers is not None else [])
        bad = [
            k for k in needed if isinstance(record.get(k), bool) or not isinstance(record.get(k), int | float)
        ]
        if n == 0 or bad:
            raise ValueError(
                f"completed: record {self.taken - 1} ({_where(record)}) has no number for "
                f"{', '.join(bad) or 'ity_0'}; hand back the records as on_epoch was given them"
            )
        return [float(record[k]) for k in needed[:n]]

    def trial_model(
        self, trial: int, make_model: Callable[[int], nn.Module]
    ) -> tuple[nn.Module, dict[str, Any]]:
        """A trial's model as it first trains, and its initial weights: made afresh, or, where the
        records end between two candidates of this trial, the weights the trial was saved with."""
        if self.resumed:
            model = make_model(trial)
            return model, copy.deepcopy(model.state_dict())
        state = self._go_on()
        if state["trial"] != trial:  # the records end with a trial: the next one starts afresh
            with self._restoring():
                torch.set_rng_state(state["rng"])  # before make_model, which may draw from it
            model = make_model(trial)
            return model, copy.deepcopy(model.state_dict())
        model = make_model(trial)
        with self._restoring():
            torch.set_rng_state(state["rng"])  # after make_model, which may seed it
            return model, dict(state["initial"])

    def candidate(
        self,
        trial: int,
        lr: float,
        make_model: Callable[[int], nn.Module],
        optimizer_for: Callable[[nn.Module, float], torch.optim.Optimizer],
    ) -> tuple[nn.Module, torch.optim.Optimizer, dict[str, Any]]:
        """Where the records end inside a candidate: its model and optimizer after its last record, and
        the trial's initial weights."""
        state = self._go_on()
        model = make_model(trial)
        with self._restoring():
            model.load_state_dict(state["model"])
            optimizer = optimizer_for(model, lr)
            optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"])
            return model, optimizer, dict(state["initial"])

    def _go_on(self) -> Mapping[str, Any]:
        self.resumed = True
        if self.state is None:
            raise ValueError(
                f"state: needed to go on after the {len(self.records)} records of completed; pass the "
                "state on_epoch was given with the last of them"
            )
        return self.state

    @contextmanager
    def _restoring(self) -> Iterator[None]:
        try:
            yield
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"state: does not fit this test ({type(err).__name__}: {err})") from None

    def finish(self) -> None:
        """Every record must have been replayed: more are another test's."""
        if self.taken < len(self.records):
            raise ValueError(
                f"completed: {len(self.records) - self.taken} records after the end of this test, from "
                f"{_where(self.records[self.taken])}: {_AGAIN}"
            )
