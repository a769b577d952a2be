"""Information in neural recordings across trials: :func:`mi_timecourse`, the mutual information
between a per-trial variable (a stimulus class, a response, a reaction time) and the signal at each
channel and time, with p-values corrected over all channels and times.

The estimator is the Gaussian copula (Ince et al. 2017): each channel-time column of the trials goes
to its normal scores ``Phi^-1(rank / (N + 1))``, a monotone map that leaves the information unchanged,
and the MI is that of a Gaussian model of the scores:

* ``target`` values: ``I = -1/2 log(1 - r^2)``, r the correlation of the two columns' normal scores
  (the target's scores too), the Gaussian MI of one column with another (Ince et al. 2017, eq. 4).
* ``target`` labels: the Gaussian model with one mean and one variance per class,
  ``I = H(X) - sum_c p_c H(X | C = c)`` with ``H = 1/2 log(2 pi e var)`` (ddof 1 within each class),
  as frites' ``mi_model_nd_gd`` computes it without its bias correction (Ince et al. 2017, eq. 21).
  The normal scores are those of all the trials, so a class's scores need not be Gaussian: the
  estimate is a lower bound on the information for the model that each class is Gaussian.

Every column is one batched computation over channels x times, the permutations too: the copula scores
are made once, and each permutation of ``target`` across trials (the same for every point) is a
matrix product. The p-value of each point is the share of permutations whose largest MI over all the
points reaches the point's (the maximum statistic: the family-wise error is controlled over all
channels and times, Nichols and Holmes 2002).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.estimation.libraries import TIME_DIMS, library
from iblearn.estimation.reading import read_trials, read_variable
from iblearn.functional import inference
from iblearn.functional.multivariate.inputs import copula_normal

__all__ = ["TimecourseResult", "mi_timecourse"]

#: Elements of one block of permuted class sums (float64): about 32 MB at a time.
_BLOCK = 2**22


@dataclass(frozen=True)
class TimecourseResult:
    """What :func:`mi_timecourse` returns.

    Attributes:
        mi: ``(channel, time)`` MI in nats between ``target`` and each point's signal across trials;
            an xarray ``DataArray`` (dims ``channel``, ``time``, their names and times as coordinates)
            where xarray is installed, else a numpy array.
        p_value: ``(channel, time)``, corrected over all points by the maximum statistic, in the form
            of ``mi``; all ones where ``n_permutations`` is 0.
        null_max: ``(n_permutations,)`` the largest MI over all points under each permutation.
        labels: whether ``target`` was read as class labels (else as values).
    """

    mi: Any
    p_value: Any
    null_max: np.ndarray
    labels: bool


def mi_timecourse(
    data: Any,
    target: Any,
    *,
    n_permutations: int = 200,
    seed: int = 0,
    method: Literal["copula"] = "copula",
) -> TimecourseResult:
    """The MI between a per-trial ``target`` and the signal at each channel and time, across trials,
    by the Gaussian copula (see the module's notes for the formulas), in nats.

    Args:
        data: an MNE ``Epochs`` (its data channels, bad ones left out), an xarray ``DataArray``
            whose dimensions name the trials, channels and times in any order (``trial``/``epoch``,
            ``channel``, ``time``), or an array ``(trials, channels, times)``.
        target: one value or label per trial, ``(trials,)``: integers, booleans or text are labels
            (as :func:`iblearn.functional.class_codes` and the front door read them), floats values.
        n_permutations: permutations of ``target`` across trials for the corrected p-values; 0
            computes the MI alone. The smallest p-value is ``1 / (n_permutations + 1)``.
        seed: permutation ``i`` is drawn from ``(seed, i)``, the same for every point.
        method: ``"copula"``, the Gaussian-copula estimate (Ince et al. 2017).

    Returns:
        :class:`TimecourseResult` with ``mi`` and ``p_value`` of shape ``(channel, time)``.

    Raises:
        ValueError: naming ``data`` where it is not trials x channels x times (or holds one trial),
            ``target`` where its length is not the number of trials, a class has one trial, or it
            is constant, and the setting that is out of range.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 120)
        >>> x = rng.normal(size=(120, 3, 50))
        >>> x[:, 1, 20:30] += 1.5 * y[:, None]
        >>> res = mi_timecourse(x, y, n_permutations=100)
        >>> [int(i) for i in np.argwhere(np.asarray(res.p_value) < 0.05)[:, 0]] == [1] * 10
        True
    """
    V.choice(method, "method", ("copula",))
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int | np.integer):
        raise ValueError(f"n_permutations: expected a count, got {n_permutations!r}")
    if n_permutations < 0:
        raise ValueError(f"n_permutations: expected 0 or more, got {n_permutations}")
    seed = V.seed(seed)
    values, channels, times = _epochs(data)
    n, c, t = values.shape
    scores = copula_normal(torch.from_numpy(values.reshape(n, c * t)))
    codes, statistic = _statistic(scores, target, n)
    mi = statistic(np.arange(n)[None, :])[0]
    null_max = np.empty(n_permutations)
    per_block = max(1, _BLOCK // (scores.shape[1] * (int(codes.max()) + 1 if codes is not None else 1)))
    for start in range(0, n_permutations, per_block):
        stop = min(start + per_block, n_permutations)
        orders = np.stack(
            [inference.rng(seed, inference.PERMUTATION, i).permutation(n) for i in range(start, stop)]
        )
        null_max[start:stop] = statistic(orders).max(axis=1)
    # A permutation that reproduces the observed order ties with it up to rounding: it counts.
    p = (1.0 + (null_max[None, :] >= mi[:, None] - 1e-12).sum(axis=1)) / (n_permutations + 1.0)
    return TimecourseResult(
        mi=_shaped(mi.reshape(c, t), channels, times),
        p_value=_shaped(p.reshape(c, t), channels, times),
        null_max=null_max,
        labels=codes is not None,
    )


def _statistic(scores: Tensor, target: Any, n: int) -> tuple[Tensor | None, Any]:
    """The target's class codes (None for values) and the function that maps row orders
    ``(P, N)`` of the target to the MI of every column under each, ``(P, d)`` numpy."""
    read = read_variable(target, "target")
    t = V.as_tensor(np.asarray(read) if not isinstance(read, Tensor) else read, "target")
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if t.ndim != 1:
        raise ValueError(
            f"target: expected one value or label per trial, shape (trials,), got {tuple(t.shape)}"
        )
    if len(t) != n:
        raise ValueError(f"target: has {len(t)} entries for {n} trials of data")
    codes = ibf.class_codes(t, "target")
    if codes is not None:
        return codes, _labels_statistic(scores, codes)
    y = V.continuous(t, "target")
    V.not_constant(y, "target")
    return None, _values_statistic(scores, copula_normal(y))


def _standardized(z: Tensor) -> Tensor:
    """Columns centred and scaled to unit variance (ddof 1)."""
    centred = z - z.mean(dim=0)
    return centred / centred.std(dim=0)


def _values_statistic(scores: Tensor, target_scores: Tensor) -> Any:
    zx = _standardized(scores)
    zy = _standardized(target_scores)[:, 0]
    n = len(zy)

    def statistic(orders: np.ndarray) -> np.ndarray:
        r = (zx.T @ zy[torch.from_numpy(orders)].T) / (n - 1)  # (d, P)
        return (-0.5 * torch.log1p(-(r * r).clamp(max=1.0 - 1e-15))).T.numpy()

    return statistic


def _labels_statistic(scores: Tensor, codes: Tensor) -> Any:
    n, k = len(codes), int(codes.max()) + 1
    counts = torch.bincount(codes, minlength=k).to(torch.float64)
    if bool((counts < 2).any()):
        rare = int((counts < 2).nonzero()[0, 0])
        raise ValueError(
            f"target: class {rare} (codes in sorted order) has fewer than 2 trials; a class's variance "
            "needs two"
        )
    if k < 2:
        raise ValueError("target: holds one class; the MI with a constant is 0")
    z = scores - scores.mean(dim=0)
    squares = z * z
    total = 0.5 * torch.log(squares.sum(dim=0) / (n - 1))
    weights = (counts / n)[:, None]

    def statistic(orders: np.ndarray) -> np.ndarray:
        p = len(orders)
        permuted = codes[torch.from_numpy(orders)]  # (P, N)
        onehot = torch.zeros(p, k, n, dtype=torch.float64)
        onehot.scatter_(1, permuted[:, None, :], 1.0)
        flat = onehot.reshape(p * k, n)
        sums = (flat @ z).reshape(p, k, -1)
        sums_sq = (flat @ squares).reshape(p, k, -1)
        within = (sums_sq - sums * sums / counts[:, None]) / (counts[:, None] - 1)
        conditional = (weights * 0.5 * torch.log(within)).sum(dim=1)
        return (total[None, :] - conditional).numpy()

    return statistic


def _epochs(data: Any) -> tuple[np.ndarray, list[str] | None, np.ndarray | None]:
    """``data`` as float64 ``(trials, channels, times)``, with the channels' names and the times
    where the data holds them."""
    lib = library(data)
    if lib in ("mne", "xarray"):
        trials, channels = read_trials(data, "data")
        # A Raw is one trial: its stretches between the spans annotated bad are no trials.
        if len(trials) < 2 or hasattr(data, "n_times"):
            raise ValueError(
                f"data: holds one trial (a {type(data).__name__} with no trial or epoch dimension); the "
                "information is measured across trials"
            )
        values = np.stack([np.asarray(tr, dtype=np.float64).T for tr in trials])
        times = _times(data, lib)
    else:
        t = V.as_tensor(data, "data")
        if t.ndim != 3:
            raise ValueError(f"data: expected (trials, channels, times), got shape {tuple(t.shape)}")
        values, channels, times = t.detach().cpu().to(torch.float64).numpy(), None, None
    V.continuous(torch.from_numpy(values), "data", allow_grid=True)
    if values.shape[0] < 4:
        raise ValueError(f"data: {values.shape[0]} trials; the copula needs at least 4")
    return values, channels, times


def _times(data: Any, lib: str | None) -> np.ndarray | None:
    if lib == "mne":
        return np.asarray(data.times)
    dims = [str(d) for d in data.dims if str(d).lower() in TIME_DIMS]
    return np.asarray(data[dims[0]].values) if dims and dims[0] in data.coords else None


def _shaped(values: np.ndarray, channels: list[str] | None, times: np.ndarray | None) -> Any:
    """``(channel, time)`` as an xarray DataArray with its coordinates where xarray is installed."""
    if importlib.util.find_spec("xarray") is None:
        return values
    import xarray as xr

    c, t = values.shape
    coords = {
        "channel": channels if channels is not None else list(range(c)),
        "time": times if times is not None else np.arange(t),
    }
    return xr.DataArray(values, dims=("channel", "time"), coords=coords)
