"""The LR range test (Vasudevan 2020, Algorithm 2): the bounds, the best LR and the threshold MIDecayLR needs.

For each of several trials the model is initialized afresh and saved; every candidate LR, in increasing
order, trains that same initial model for a few epochs, recording per epoch d_p, d_s, the LR, I(T; Y),
the training loss and accuracy. A run that crashes (a non-finite loss, or a sudden collapse of every
metric) ends the trial, and a new trial begins with new weights (the paper: "each LR is tested from
the same initial model state ... until training crashes and a new trial (model weights reset)
begins"). Where the new trial starts is ``restart``:

* ``"candidate"`` (default, Algorithm 2: "If training has crashed break and start a new trial from
  (current) candidate LR_i"): the new trial tests the LR that crashed again, with the new weights, and
  goes on upward from it; a trial that completes every candidate is followed by one from the smallest.
  An LR counts if it completed in at least one trial and crashed in none.
* ``"smallest"`` (a stricter reading): every trial starts from the smallest LR, and an
  LR counts only if it completed in every trial; one that crashed in a trial, or was not reached there
  because a smaller one crashed ("larger LRs would crash as well"), is out. Every candidate below a
  crash is tested in every trial (more trials per LR, more training), but nothing above a crash is
  tested again, however well it might do with other weights.

A collapse is judged against the epoch before; at the first epoch, against the first epoch of the
nearest smaller LR that completed: an LR whose every metric (accuracy, I(T; Y)) ends epoch 1 below
half of that LR's has collapsed too (Vasudevan (2020)'s "sudden or dramatic drop in all performance
attributes": LR 1.0 at chance on MNIST has not completed).

Completed runs go into the summary table D, from which :func:`select_range` reads the bounds
(the docstring of its module, ``iblearn.optim._lr_table``, says how).

"Initial" follows what Algorithm 2 measures: it computes ITY "the initial pre-training (epoch 0) MI"
before the first epoch, so ``initial_ity`` (and ``initial_ity_<k>``) is that ITY_0; the training loss
and accuracy are computed only "after training-epoch", so their initial values are epoch 1's. With a
single epoch per candidate, loss and accuracy would not change between initial and final, and the only
recorded d_s is epoch 1's 1.0 (epsilon = C2), so at least 2 epochs are required.

Stepping and resuming. :class:`LRRangeTest` is the test as an object stepped once per record, as
torch's schedulers are stepped once per epoch: each :meth:`~LRRangeTest.step` makes a candidate's
epoch-0 record (I(T; Y) before training, ITY_0) or trains one epoch and makes its row (as in
``curves``). The test takes hours (Vasudevan (2020)'s protocol on MNIST: 135 LeNet-5 epochs), so its
:meth:`~LRRangeTest.state_dict` holds what it goes on from: the records so far, and the model and
optimizer of the candidate in flight, the trial's initial weights and torch's global RNG (dropout draws
from it). A new test given that state by :meth:`~LRRangeTest.load_state_dict` takes the records again
without training (their crashes judged again from their rows) and trains on, so that its summary,
curves and range are those of a test never stopped, and a kill loses at most the epoch in flight.
Random numbers ``train_epoch`` draws from a generator of its own (its batches) are the caller's to
save and restore; the CUDA RNG is not restored. :func:`lr_range_test` runs a test to its end.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from numbers import Real
from typing import Any

import numpy as np
import torch
from torch import nn

from iblearn import _checks as V
from iblearn.optim import _lr_table as table
from iblearn.optim._lr_table import CRASH_DROP, LR_MAX_RULES, RESTARTS, LRRange, plot_range, select_range

__all__ = [
    "CRASH_DROP",
    "LR_MAX_RULES",
    "RESTARTS",
    "LRRange",
    "LRRangeTest",
    "lr_range_test",
    "plot_range",
    "select_range",
]


class LRRangeTest:
    """Algorithm 2 of Vasudevan (2020), stepped once per record; :func:`lr_range_test` runs it to its end.

    The three callables are positional; every number after them is a keyword, as in
    :class:`~iblearn.optim.MIDecayLR` (``ixy`` and ``lrs`` given in each other's place would go unnoticed
    where ``ixy`` is a list).

    Args:
        make_model: ``make_model(trial) -> model``, a freshly initialized model per trial.
        train_epoch: trains one epoch; returns at least ``{"train_loss": ..., "train_acc": ...}``.
        measure: I(T; Y) per watched layer after the epoch (e.g. :meth:`MIProbe.measure`).
        ixy: I(X; Y) of the MI sample, one value or one per watched layer.
        lrs: candidate LRs (tested in increasing order).
        make_optimizer: ``(model, lr) -> optimizer``; default SGD, momentum 0.9, Nesterov (Vasudevan 2020).
        trials, epochs: trials, and epochs per candidate per trial (the paper suggests 3 and 5-6;
            at least 2 epochs, see the module docstring).
        attribute: the column the bounds come from: ``"train_acc"``, ``"train_loss"`` (lower is better,
            it is negated), or ``"ity"`` / ``"ity_<k>"`` for I(T; Y) of watched layer k (layer-wise).
        c1, c2: the constants of Algorithm 2 (defaults 10 and 1).
        restart: where a new trial starts after a crash: ``"candidate"`` (Algorithm 2), the LR that
            crashed, or ``"smallest"``, the first candidate (see the module docstring).
        lr_max_rule: ``"algorithm"`` (Algorithm 2's line) or ``"prose"`` (the LR before it, the largest
            that trains well): see the module docstring.
        progress: called with a message after every candidate run (not after records loaded).

    Raises:
        ValueError: naming the argument, for bad ``lrs``, ``trials``, ``epochs``, ``ixy``, ``c1``,
            ``c2``, ``restart`` or ``lr_max_rule``, before any training.

    Example:
        A test saved after every record, as a scheduler is after every epoch::

            test = LRRangeTest(make_model, train_epoch, probe.measure, ixy=probe.ixy(), lrs=lrs)
            while not test.done:
                test.step()
                torch.save(test.state_dict(), "range-test.pt")
            bounds = test.result()
    """

    def __init__(
        self,
        make_model: Callable[[int], nn.Module],
        train_epoch: Callable[[nn.Module, torch.optim.Optimizer], dict[str, float]],
        measure: Callable[[nn.Module], list[float]],
        *,
        ixy: float | Sequence[float],
        lrs: Sequence[float],
        make_optimizer: Callable[[nn.Module, float], torch.optim.Optimizer] | None = None,
        trials: int = 3,
        epochs: int = 5,
        attribute: str = "train_acc",
        c1: float = 10.0,
        c2: float = 1.0,
        restart: str = "candidate",
        lr_max_rule: str = "algorithm",
        progress: Callable[[str], None] | None = None,
    ) -> None:
        candidates = _candidates(lrs)
        for value, name in ((trials, "trials"), (epochs, "epochs")):
            V.positive_int(value, name)
        if epochs < 2:
            # One epoch records d_s = 1.0 only (epsilon = C2) and the same first and final accuracy.
            raise ValueError(f"epochs: Algorithm 2 needs at least 2 epochs per candidate, got {epochs}")
        bounds = _bounds(ixy)
        # Checked here too, not only in select_range, so that bad constants fail before hours of training.
        c1, c2 = V.positive(c1, "c1"), V.positive(c2, "c2")
        if restart not in RESTARTS:
            raise ValueError(f"restart: expected one of {', '.join(RESTARTS)}, got {restart!r}")
        if lr_max_rule not in LR_MAX_RULES:
            raise ValueError(f"lr_max_rule: expected one of {', '.join(LR_MAX_RULES)}, got {lr_max_rule!r}")
        self.make_model, self.train_epoch, self.measure = make_model, train_epoch, measure
        self.make_optimizer, self.progress = make_optimizer or table.sgd, progress
        self.ixy, self.lrs, self.trials, self.epochs = bounds, candidates, trials, epochs
        self.reading: dict[str, Any] = {"attribute": attribute, "c1": c1, "c2": c2, "restart": restart}
        self.reading["lr_max_rule"] = lr_max_rule  # how result() reads the table D
        self._start()

    def _start(self) -> None:
        self.records: list[dict[str, Any]] = []  # every record made, epoch-0 ones included
        self.summary: list[dict[str, Any]] = []  # the table D
        self.curves: list[dict[str, Any]] = []  # every epoch's row
        self.trial, self._index, self._epoch = 0, 0, 0  # what the next record is of
        self._first_epochs: dict[float, dict[str, Any]] = {}  # epoch 1 of each LR that completed
        self._ity: list[list[float]] = []  # the candidate's I(T; Y) per epoch, ITY_0 first
        self._min_ds: list[float] = []
        self._first: dict[str, Any] | None = None
        self._previous: dict[str, Any] | None = None  # what a collapse is judged against
        self._model: nn.Module | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._initial: dict[str, Any] | None = None  # the trial's initial weights
        self._loaded: Mapping[str, Any] | None = None  # load_state_dict's, until the test next trains

    @property
    def done(self) -> bool:
        """Whether every trial has ended: :meth:`result` reads the range."""
        return self.trial >= self.trials

    def step(self) -> dict[str, Any]:
        """Make the next record: a candidate's I(T; Y) before training (epoch 0), or one epoch at its LR
        and what it measured (a row of ``curves``). Returns the record."""
        if self.done:
            raise ValueError("step: every trial has ended; read result()")
        lr = self.lrs[self._index]
        if self._epoch == 0:
            model = self._trial_model()
            model.load_state_dict(self._initial)  # type: ignore[arg-type]
            self._optimizer = self._new_optimizer(model, lr)
            ity = table.measured(self.measure(model), None)  # ITY_0, before training at this LR
            if len(self.ixy) not in (1, len(ity)):
                raise ValueError(
                    f"ixy: {len(self.ixy)} bounds for {len(ity)} watched layer(s) (what measure "
                    "returned); give one bound, or one per layer"
                )
            record = {"trial": self.trial, "lr": lr, "epoch": 0, **table.ity_columns(ity)}
        else:
            model, optimizer = self._candidate(lr)
            d_s, d_p = self._gaps()
            metrics = table.trained(self.train_epoch(model, optimizer))
            attribute = self.reading["attribute"]
            finite = math.isfinite(float(metrics["train_loss"]))  # a crashed epoch may return the loss alone
            if finite and not attribute.startswith("ity") and attribute not in metrics:  # else found in hours
                raise ValueError(
                    f"attribute: {attribute!r} is not among what train_epoch returns ({', '.join(metrics)}); "
                    "return it, or read the range by another attribute"
                )
            ity = table.measured(self.measure(model), len(self._ity[0]))
            record = {
                "trial": self.trial,
                "lr": lr,
                "epoch": self._epoch,
                "d_p": d_p[0],
                "d_s": d_s[0],
                **metrics,
                **table.ity_columns(ity),
                **{f"d_s_{k}": v for k, v in enumerate(d_s)},
            }
        ended = len(self.summary)
        self._take(record)
        if self.progress is not None and len(self.summary) > ended:
            crashed = " crashed; next trial" if self.summary[-1]["crashed"] else ""
            self.progress(f"trial {record['trial']}: lr {lr:g}{crashed}")
        return dict(record)

    def result(self) -> LRRange:
        """The range read from the finished test's table D (:func:`select_range`)."""
        if not self.done:
            raise ValueError(f"result: trial {self.trial} of {self.trials} has not ended; step on")
        return select_range(self.summary, self.curves, **self.reading)

    def _trial_model(self) -> nn.Module:
        if self._model is None:
            if self._initial is None:  # a trial starts: new weights
                with self._restoring():
                    if self._loaded is not None:
                        torch.set_rng_state(self._loaded["rng"])  # before make_model, which may draw from it
                self._model = self._new_model()
                self._initial = copy.deepcopy(self._model.state_dict())
            else:  # loaded between two candidates of a trial
                self._model = self._new_model()
                with self._restoring():
                    if self._loaded is not None:
                        torch.set_rng_state(self._loaded["rng"])  # after make_model, which may seed it
            self._loaded = None
        return self._model

    def _candidate(self, lr: float) -> tuple[nn.Module, torch.optim.Optimizer]:
        if self._model is None or self._optimizer is None:  # loaded inside a candidate
            saved = self._loaded or {}
            self._model = model = self._new_model()
            self._optimizer = self._new_optimizer(model, lr)
            with self._restoring():
                model.load_state_dict(saved["model"])
                self._optimizer.load_state_dict(saved["optimizer"])
                torch.set_rng_state(saved["rng"])
            self._loaded = None
        return self._model, self._optimizer

    def _new_model(self) -> nn.Module:
        model = self.make_model(self.trial)
        if not isinstance(model, nn.Module):
            raise ValueError(f"make_model: must return an nn.Module, got {model!r}")
        return model

    def _new_optimizer(self, model: nn.Module, lr: float) -> torch.optim.Optimizer:
        optimizer = self.make_optimizer(model, lr)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(f"make_optimizer: must return a torch.optim.Optimizer, got {optimizer!r}")
        return optimizer

    def _gaps(self) -> tuple[list[float], list[float]]:
        """d_s and d_p of each watched layer from the candidate's I(T; Y) so far."""
        layers = range(len(self._ity[0]))
        d_s = [table.ds([h[k] for h in self._ity]) for k in layers]
        d_p = [1 - max(h[k] for h in self._ity) / self.ixy[min(k, len(self.ixy) - 1)] for k in layers]
        return d_s, d_p

    def _take(self, record: dict[str, Any]) -> None:
        """Go on past ``record``: the candidate's next epoch, or its entry in the table D and the next
        candidate (or trial) where it crashed or completed."""
        self.records.append(record)
        if record["epoch"] == 0:
            self._ity, self._first = [table.ity_of(record)], None
            self._min_ds = [math.inf] * len(self._ity[0])
            smaller = [self._first_epochs[c] for c in self.lrs[: self._index] if c in self._first_epochs]
            self._previous, self._epoch = (smaller[-1] if smaller else None), 1
            return
        lr = self.lrs[self._index]
        self._min_ds = [min(a, b) for a, b in zip(self._min_ds, self._gaps()[0], strict=True)]
        self._ity.append(table.ity_of(record))
        self.curves.append(record)
        if table.crashed(record, self._previous, [m for m in ("train_acc", "ity") if m in record]):
            self.summary.append({"trial": self.trial, "lr": lr, "crashed": True})
            self._next_trial(self._index if self.reading["restart"] == "candidate" else 0)
            return
        self._first, self._previous = self._first or record, record
        if self._epoch < self.epochs:
            self._epoch += 1
            return
        self._first_epochs[lr] = self._first
        entry: dict[str, Any] = {
            "trial": self.trial,
            "lr": lr,
            "crashed": False,
            "min_d_s": self._min_ds[0],
            **{f"min_d_s_{k}": v for k, v in enumerate(self._min_ds)},
        }
        # Algorithm 2 measures ITY before training (epoch 0), loss and accuracy only after epochs.
        start = {**self._first, **table.ity_columns(self._ity[0])}
        for key in record:
            if key not in ("trial", "lr", "epoch", "d_p", "d_s") and not key.startswith("d_s_"):
                entry[f"initial_{key}"], entry[f"final_{key}"] = start[key], record[key]
        self.summary.append(entry)
        self._index, self._epoch = self._index + 1, 0
        if self._index == len(self.lrs):
            self._next_trial(0)  # a trial that completed every candidate: the next starts from the smallest

    def _next_trial(self, begin: int) -> None:
        self.trial, self._index, self._epoch = self.trial + 1, begin, 0
        self._model = self._optimizer = self._initial = None

    def state_dict(self) -> dict[str, Any]:
        """``records``: every record so far; ``state``: what the test goes on from after the last of
        them (None before the first): the model and optimizer of the candidate in flight, the trial's
        initial weights, torch's global RNG. Like an optimizer's, it holds live tensors: save or copy
        it before the next step."""
        if not self.records:
            return {"records": [], "state": None}
        live = (
            dict(self._loaded)
            if self._loaded is not None
            else {
                "model": self._model.state_dict() if self._model is not None else None,
                "optimizer": self._optimizer.state_dict() if self._optimizer is not None else None,
                "initial": self._initial,
                "rng": torch.get_rng_state(),
            }
        )
        last = self.records[-1]
        live.update(trial=last["trial"], lr=last["lr"], epoch=last["epoch"])
        return {"records": [dict(r) for r in self.records], "state": live}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Go on from ``state`` (:meth:`state_dict`'s): its records are taken again without training
        (their crashes judged again from their rows); the model, optimizer, initial weights and RNG come
        back where the test next trains. A state this test could not have made (other ``lrs``,
        ``trials``, ``epochs`` or ``restart``, records out of order or without their numbers, the live
        state not of the last record) raises ValueError naming ``state``, before any training."""
        if not isinstance(state, Mapping):
            raise ValueError(f"state: expected the dict of state_dict(), got {type(state).__name__}")
        records, live = state.get("records"), state.get("state")
        if isinstance(records, str | bytes | Mapping) or not isinstance(records, Sequence):
            raise ValueError(f"state: its records are a {type(records).__name__}, not a list of records")
        self._start()
        for n, record in enumerate(records):
            if self.done:
                raise ValueError(
                    f"state: {len(records) - n} records after the end of this test, from "
                    f"{table.where(record)}: {table.AGAIN}"
                )
            layers = len(self._ity[0]) if self._epoch else None
            table.check_record(n, record, (self.trial, self.lrs[self._index], self._epoch), layers)
            self._take(dict(record))
        if live is None:
            if records and not self.done:
                raise ValueError(f"state: needed to go on after its {len(records)} records")
            return
        if not isinstance(live, Mapping) or not records or table.key_of(live) != table.key_of(records[-1]):
            last = table.where(records[-1]) if records else "none"
            raise ValueError(f"state: of {table.where(live)}, but its last record is {last}")
        with self._restoring():
            missing = [k for k in ("model", "optimizer", "initial", "rng") if k not in live]
            if missing:
                raise KeyError(missing[0])
        self._loaded = live
        if live["trial"] == self.trial:  # the trial goes on: its later candidates start from its weights
            with self._restoring():
                self._initial = dict(live["initial"])

    @contextmanager
    def _restoring(self) -> Iterator[None]:
        try:
            yield
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"state: does not fit this test ({type(err).__name__}: {err})") from None


def _bounds(ixy: Any) -> list[float]:
    """``ixy`` (a number, or one per watched layer as a list, an array or a tensor) as a list of
    positive finite numbers."""
    values = ixy.tolist() if isinstance(ixy, torch.Tensor | np.ndarray) else ixy
    items = list(values) if isinstance(values, Sequence) and not isinstance(values, str | bytes) else [values]
    if not all(isinstance(v, Real) and not isinstance(v, bool) for v in items):
        raise ValueError(f"ixy: expected the MI upper bound as a number, or one per layer, got {ixy!r}")
    bounds = [float(v) for v in items]
    if not bounds or not all(math.isfinite(v) and v > 0 for v in bounds):
        raise ValueError(f"ixy: the MI upper bound must be positive and finite, got {ixy!r}")
    return bounds


def _candidates(lrs: Any) -> list[float]:
    """``lrs`` (a list, an array, a tensor, an iterator) as the increasing list of candidate LRs, each
    a positive finite number given once."""
    if isinstance(lrs, str | bytes | Mapping) or not isinstance(lrs, Iterable):
        raise ValueError(f"lrs: expected a sequence of learning rates, got {lrs!r}")
    given = list(lrs.tolist() if hasattr(lrs, "tolist") else lrs)
    numbers = [float(lr) for lr in given if isinstance(lr, Real) and not isinstance(lr, bool)]
    if not given or len(numbers) < len(given) or not all(math.isfinite(lr) and lr > 0 for lr in numbers):
        raise ValueError(f"lrs: expected positive candidate learning rates, got {given!r}")
    ordered = sorted(numbers)
    for a, b in itertools.pairwise(ordered):
        if a == b:
            raise ValueError(f"lrs: {a:g} is given twice; each candidate is tested once per trial")
    return ordered


def lr_range_test(
    make_model: Callable[[int], nn.Module],
    train_epoch: Callable[[nn.Module, torch.optim.Optimizer], dict[str, float]],
    measure: Callable[[nn.Module], list[float]],
    *,
    ixy: float | Sequence[float],
    lrs: Sequence[float],
    make_optimizer: Callable[[nn.Module, float], torch.optim.Optimizer] | None = None,
    trials: int = 3,
    epochs: int = 5,
    attribute: str = "train_acc",
    c1: float = 10.0,
    c2: float = 1.0,
    restart: str = "candidate",
    lr_max_rule: str = "algorithm",
    progress: Callable[[str], None] | None = None,
) -> LRRange:
    """Algorithm 2 of Vasudevan (2020) run to its end: :class:`LRRangeTest` (its arguments) stepped to done.

    Returns:
        :class:`LRRange`, with the table D (``summary``) and every epoch's record (``curves``);
        :func:`select_range` recomputes it for another attribute or constants without training again.
    """
    test = LRRangeTest(**locals())  # every argument, by its name
    while not test.done:
        test.step()
    return test.result()
