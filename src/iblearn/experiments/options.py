"""The options every reproduction takes (``iblearn reproduce``'s), the run folder they name, and a
preset config overridden from JSON values, checked against its types and ranges."""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from iblearn.experiments import torchrun
from iblearn.records import RunFolder

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here, and the run folder goes unguarded
    fcntl = None  # type: ignore[assignment]

#: The files of an earlier run that a run would continue or report, removed when it starts over: its
#: checkpoints, results, table and the range tests mi-lr caches (its plots are written again).
EARLIER_RECORDS = ("checkpoint*.pt", "results.json", "table.md", "lr_range-*.json")


@dataclass(frozen=True)
class ReproduceOptions:
    """The common command-line options of ``iblearn reproduce``.

    Attributes:
        full: the real reproduction (``--full``) instead of the few-minute ``--quick`` one.
        out: run folder; default ``runs/<name>-quick`` or ``runs/<name>-full``.
        seed: first seed, in [0, 2^32); runs with several seeds use ``seed, seed + 1, ...``.
        device: ``"cpu"`` or ``"cuda"``.
        resume: continue a killed run from its records instead of starting over.
        overrides: config fields to change from the preset (``--set KEY=VALUE``), e.g.
            ``{"tasks": ["cora"], "seeds": 5}``; lists become tuples (nested ones too) where the field
            holds a tuple.
        progress: called with a short message as work completes (the CLI draws a progress bar).
        planned: called with the config a run resolved (preset and overrides), before any work; the
            CLI sizes its progress bar from it (``config.progress_steps()``).
    """

    full: bool = False
    out: Path | None = None
    seed: int = 0
    device: str = "cpu"
    resume: bool = False
    overrides: Mapping[str, Any] = field(default_factory=dict, hash=False)
    progress: Callable[[str], None] | None = field(default=None, compare=False)
    planned: Callable[[Any], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Runs seed numpy's generators, which take no negative seed, and torch's with seed + 1, ... and
        # seed * 1000 + epoch, which overflow 2^64 for a seed near it: a range every stream fits in.
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ValueError(f"--seed: expected an integer in [0, 2^32), got {self.seed!r}")

    def configure(self, config: Any) -> Any:
        """``config`` (a frozen dataclass) with :attr:`overrides` applied; a key it lacks, or a value
        that does not fit its field, raises ValueError naming ``--set KEY``."""
        if self.overrides:
            config = _replace(config, self.overrides, "")
        if self.planned:
            self.planned(config)
        return config

    def run_folder(self, name: str, *, nested: str | None = None) -> RunFolder:
        """The run folder: :attr:`out`, or ``runs/<name>-quick`` / ``runs/<name>-full``. Without
        :attr:`resume` the run starts over, so nothing of an earlier one is continued or reported: its
        metrics, checkpoints, results and table go, and so does the sub-folder ``nested`` where a run
        under torchrun keeps the checkpoints of its parts (rank 0 removes it; every rank waits for that).
        """
        path = Path(self.out or Path("runs") / f"{name}-{'full' if self.full else 'quick'}")
        _run_folder_or_new(path)
        run = RunFolder(path, resume=self.resume)
        if run.writer:
            _hold(run.path)
        # Not only once a row is written: a run killed in its first training or range test has left
        # checkpoints, a part's folder or a cached range test and no row yet.
        if not self.resume:
            if run.file("metrics.csv").exists():
                run.truncate_metrics(0)
            for pattern in EARLIER_RECORDS:
                for stale in run.path.glob(pattern):
                    stale.unlink(missing_ok=True)
            if nested is not None and run.writer:
                shutil.rmtree(run.path / nested, ignore_errors=True)
        if nested is not None:
            torchrun.barrier()
        return run

    def start(
        self, name: str, experiment: str, config: Any, *, nested: str | None = None, **extra: Any
    ) -> RunFolder:
        """The :meth:`run_folder` of ``name`` with the run's config written in it: ``experiment`` (the
        paper and what of it is reproduced), the fields of ``config`` (a dataclass), the seed, and
        ``extra`` (the device, where the results depend on it)."""
        run = self.run_folder(name, nested=nested)
        run.write_config({"experiment": experiment, **dataclasses.asdict(config), "seed": self.seed, **extra})
        return run

    def tell(self, message: str) -> None:
        """Report that a piece of work is done, to :attr:`progress` where the caller gave one."""
        if self.progress:
            self.progress(message)

    def torch_device(self) -> torch.device:
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device: 'cuda' was asked for, but torch sees no CUDA device")
        return torch.device(self.device)


#: The run folders this process writes, and its lock on each (see :func:`_hold`).
_HELD: dict[Path, int] = {}


def _hold(path: Path) -> None:
    """Take the run folder ``path`` for this process until it ends: two runs in one folder would each
    rewrite metrics.csv from the rows they hold, and one starting over would delete the other's
    checkpoints. The lock is on ``path/.lock``; the system lets it go when the process ends, killed
    too, so nothing is left to refuse a later run."""
    key = path.resolve()
    if key in _HELD or fcntl is None:
        return
    fd = os.open(key / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ValueError(
            f"--out: another run is writing to {path} now; wait for it to end, or give another folder"
        ) from None
    except OSError:  # a file system without locks (some network ones): the run goes on unguarded
        os.close(fd)
        return
    _HELD[key] = fd


def _run_folder_or_new(path: Path) -> None:
    """Refuse a run folder ``path`` that is a file, or a folder of files but no config.json, which no run
    made: starting over clears a run's records (metrics.csv, results.json, table.md, checkpoints), and
    in such a folder files of those names are someone else's."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out: {path} is a file; give a folder (a new one, or an earlier run's)")
    if path.is_dir() and not (path / "config.json").exists():
        files = sorted(f.name for f in path.iterdir() if not f.name.startswith("."))
        if files:
            raise ValueError(
                f"--out: {path} holds files ({', '.join(files[:3])}{', ...' if len(files) > 3 else ''}) but "
                "no config.json, so no run made it, and the run would overwrite or read them; give a new "
                "or empty folder"
            )


# Every number in the reproductions' configs is a count, a size, a rate or a scale: none may be
# negative, and an integer count of 0 would run nothing, except in these fields, where 0 turns a part off.
ZERO_COUNTS = frozenset({"tsne_samples", "min_steps", "first_seed"})
# No count here is meant to reach this: a larger one (seeds=1e20, sizes=[1e11]) would run for ever or
# die in an allocation, so it is refused before anything runs.
MAX_COUNT = 10**8


def _replace(config: Any, overrides: Mapping[str, Any], prefix: str) -> Any:
    """``dataclasses.replace`` from JSON values, checked against the preset's types and ranges; a
    nested config takes a JSON object of its own fields."""
    fields = [f.name for f in dataclasses.fields(config)]
    hints = typing.get_type_hints(type(config))
    changes = {}
    for key, value in overrides.items():
        name = prefix + key
        if key not in fields:
            raise ValueError(
                f"--set {name}: {type(config).__name__} has no such field; it has {', '.join(fields)}"
            )
        current = getattr(config, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"--set {name}: expected a JSON object of {type(current).__name__}'s fields")
            changes[key] = _replace(current, value, name + ".")
            continue
        changes[key] = _tuples(value)
        optional = type(None) in typing.get_args(hints[key])
        if value is None and optional:
            continue
        template = current if current is not None else _template(hints[key])
        if template is not None and not _fits(value, template):
            expected = _kind(template) + (" or null" if optional else "")
            raise ValueError(f"--set {name}: expected {expected} (the preset has {current!r}), got {value!r}")
        minimum = 1 if type(template) is int and key not in ZERO_COUNTS else 0
        if _below(value, minimum):
            raise ValueError(f"--set {name}: must be >= {minimum}, got {value!r}")
        if _above(value, MAX_COUNT):
            raise ValueError(f"--set {name}: must be at most {MAX_COUNT:,}, got {value!r}")
        if (
            value == []
            and isinstance(current, tuple)
            and current
            and all(isinstance(c, str) for c in current)
        ):
            raise ValueError(
                f"--set {name}: must name at least one of its choices (the preset has {current!r})"
            )
    try:
        return dataclasses.replace(config, **changes)
    except ValueError as e:  # the config's own checks (check_names), which name the field
        raise ValueError(f"--set {prefix}{e}") from None


def check_names(field: str, names: Iterable[str], known: Iterable[str]) -> None:
    """Refuse a name in ``names`` that is not one of ``known``, naming the config field: a data set, part,
    method or optimizer a run does not know would die mid-run, or run nothing of what was asked."""
    known = tuple(known)
    for name in names:
        if name not in known:
            raise ValueError(f"{field}: expected one of {', '.join(known)}, got {name!r}")


def check_rates(field: str, rates: Iterable[float]) -> None:
    """Refuse an empty list of rates, or a rate of 0: a range test, grid or sweep needs at least one, and
    the optimizers refuse a step of 0 only once the run reaches it, naming their own argument."""
    rates = list(rates)
    if not rates or min(rates) <= 0:
        raise ValueError(f"{field}: expected at least one rate, each above 0, got {rates}")


def check_positive(field: str, value: float) -> None:
    """Refuse a rate or weight of 0 that the code beneath refuses only mid-run, naming its own argument."""
    if not value > 0:
        raise ValueError(f"{field}: must be above 0, got {value}")


#: float32's largest number: the nets compute in float32, where a weight or scale beyond it is inf.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)
#: The largest noise std added to values of order 1 (tanh units, images in [0, 1] or [-1, 1], the layers
#: over them) that leaves them in the sum: float32 keeps 24 bits, so a larger noise rounds them away and
#: the nets and critics see noise alone (far larger, it overflows: 1e20 gave NaN losses).
NOISE_STD_MAX = 2.0**24


def check_float32(field: str, values: Iterable[float | None]) -> None:
    """Refuse a weight or scale that float32 holds as inf: the loss it weighs became inf and the weights
    NaN, mid-run."""
    for value in values:
        if value is not None and not abs(value) <= FLOAT32_MAX:
            raise ValueError(
                f"{field}: at most {FLOAT32_MAX:.3g} (float32's largest number: the nets compute in "
                f"float32, where a larger one is inf), got {value!r}"
            )


#: The largest learning rate float32 holds through Adam's first step, which divides it by 1 - 0.9.
RATE_MAX = FLOAT32_MAX / 10


def check_rate_float32(field: str, rates: Iterable[float | None]) -> None:
    """Refuse a learning rate above :data:`RATE_MAX`: the optimizer died mid-run converting its step to
    float32 ("value cannot be converted to type float without overflow")."""
    for rate in rates:
        if rate is not None and not rate <= RATE_MAX:
            raise ValueError(
                f"{field}: at most {RATE_MAX:.3g} (float32's largest number over 10: Adam's first step "
                f"divides the rate by 1 - 0.9, and the optimizers compute in float32), got {rate!r}"
            )


def check_noise_std(field: str, std: float) -> None:
    """Refuse a noise std above :data:`NOISE_STD_MAX`, which leaves noise alone (see there)."""
    if not std <= NOISE_STD_MAX:
        raise ValueError(
            f"{field}: at most {NOISE_STD_MAX:.3g} (2^24): float32 keeps 24 bits, so a noise of larger std "
            f"rounds away the values of order 1 it is added to, and leaves noise alone; got {std!r}"
        )


def check_pairs(needs: str, **sizes: int | None) -> None:
    """Refuse a size (field name: value, None for a whole data set) below 2, where ``needs`` (the estimator
    or layer that would refuse a lone sample mid-run) needs at least 2 samples."""
    for name, size in sizes.items():
        if size is not None and size < 2:
            raise ValueError(f"{name}: {needs} needs at least 2 samples, got {size}")


def check_widths(widths: Iterable[int]) -> None:
    """Refuse a net of no layers, or a layer of no units (the estimators refuse its empty output)."""
    widths = list(widths)
    if not widths or min(widths) < 1:
        raise ValueError(f"widths: expected at least one layer, each of at least 1 unit, got {widths}")


def check_tsne_samples(samples: int) -> None:
    """Refuse a t-SNE figure of one point: its perplexity (at most the points less one) would be 0, which
    scikit-learn refuses only once the nets are trained, naming its own parameter."""
    if samples == 1:
        raise ValueError("tsne_samples: a t-SNE figure needs at least 2 points (0 for none), got 1")


def _template(hint: Any) -> Any:
    """A value of the type an optional field holds when it is set (``int | None``: an int)."""
    kinds = [k for k in typing.get_args(hint) if k is not type(None)]
    return {int: 1, float: 1.0, str: ""}.get(kinds[0]) if len(kinds) == 1 else None


def _below(value: Any, minimum: int) -> bool:
    """Whether a number in ``value`` is below ``minimum`` (list items: below zero)."""
    if isinstance(value, list):
        return any(_below(v, 0) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool) and value < minimum


def _above(value: Any, maximum: int) -> bool:
    """Whether an integer in ``value`` (list items too) is above ``maximum``."""
    if isinstance(value, list):
        return any(_above(v, maximum) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and value > maximum


def _fits(value: Any, current: Any) -> bool:
    """Whether a JSON value has the type of the preset's value, list items included."""
    if isinstance(current, tuple):
        if not isinstance(value, list):
            return False
        kinds = {type(c) for c in current}
        if len(kinds) == 1:  # a list of one kind: tasks, widths, (name, fraction) pairs
            return all(_fits(v, current[0]) for v in value)
        if kinds:  # a record such as (name, fraction): item by item
            return len(value) == len(current) and all(
                _fits(v, c) for v, c in zip(value, current, strict=True)
            )
        return True  # an empty preset says nothing
    if isinstance(current, bool):
        return isinstance(value, bool)
    if isinstance(current, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return ok and (isinstance(current, float) or isinstance(value, int))
    return isinstance(value, type(current))


def _kind(value: Any) -> str:
    if isinstance(value, tuple):
        return "a JSON list"
    return "true or false" if isinstance(value, bool) else type(value).__name__


def _tuples(value: Any) -> Any:
    """JSON lists as tuples, nested ones too (configs are frozen: their sequences are tuples)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value
