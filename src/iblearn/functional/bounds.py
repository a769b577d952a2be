"""Variational bounds on mutual information from critic scores.

A critic T(x, y) scores pairs; ``joint`` holds its scores on pairs drawn together (x_i, y_i), and
``marginal`` its scores on pairs drawn apart (x_i, y_j). Every bound reduces these with log-sum-exp,
masks excluded entries inside the log-sum-exp (they become -inf there, never a large negative number),
and computes in at least float32, so float16 scores do not overflow. All return 0-d tensors in nats.

References:
    Donsker & Varadhan (1983); Belghazi et al., MINE, ICML 2018 (DV and f-divergence forms);
    Nguyen, Wainwright & Jordan (2010) (NWJ); Hjelm et al., DIM, ICLR 2019 (Jensen-Shannon form);
    van den Oord et al. (2018) (InfoNCE); Poole et al., On variational bounds of MI, ICML 2019.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from iblearn import _checks as V


def _wide(t: Tensor, name: str) -> Tensor:
    """Scores checked (a non-empty floating-point tensor) and widened to at least float32. Their values
    are not checked: that would wait on the device at every step, and a NaN score gives a NaN bound,
    which the estimators turn into an error naming the step."""
    if not isinstance(t, Tensor) or not t.is_floating_point():
        got = getattr(t, "dtype", type(t).__name__)
        raise ValueError(f"{name}: expected a floating-point tensor of scores, got {got}")
    if t.numel() == 0:
        raise ValueError(f"{name}: no scores")
    V.materialized(t, name)
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def log_mean_exp(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """``log(mean(exp(scores)))`` over all entries, or over those where ``mask`` is True."""
    s = _wide(scores, "scores")
    if mask is None:
        return torch.logsumexp(s.flatten(), dim=0) - math.log(s.numel())
    count = _mask_count(mask, s)
    return torch.logsumexp(s.masked_fill(~mask, float("-inf")).flatten(), dim=0) - math.log(count)


def _mean(scores: Tensor, mask: Tensor | None, name: str) -> Tensor:
    s = _wide(scores, name)
    if mask is None:
        return s.mean()
    count = _mask_count(mask, s)
    return s.masked_fill(~mask, 0.0).sum() / count


def _mask_count(mask: Tensor, scores: Tensor) -> int:
    """How many scores a mask selects, after checking it: a bool tensor of the scores' own shape
    (a broadcast mask, or a 0/1 float one, would silently select or count the wrong entries)."""
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise ValueError(f"mask: expected a bool tensor, got {getattr(mask, 'dtype', type(mask))}")
    if mask.shape != scores.shape:
        raise ValueError(f"mask: shape {tuple(mask.shape)} does not match the scores' {tuple(scores.shape)}")
    count = int(mask.sum())
    if count == 0:
        raise ValueError("mask: selects no scores")
    return count


def dv_bound(joint: Tensor, marginal: Tensor, mask: Tensor | None = None) -> Tensor:
    """Donsker-Varadhan: ``I >= E_P[T] - log E_Q[exp T]`` (MINE, Belghazi et al. 2018, eq. 10)."""
    return _mean(joint, None, "joint") - log_mean_exp(_wide(marginal, "marginal"), mask)


def nwj_bound(joint: Tensor, marginal: Tensor, mask: Tensor | None = None) -> Tensor:
    """Nguyen-Wainwright-Jordan (the f-divergence form, MINE-f): ``I >= E_P[T] - E_Q[exp(T - 1)]``."""
    return _mean(joint, None, "joint") - torch.exp(log_mean_exp(_wide(marginal, "marginal") - 1.0, mask))


def js_bound(joint: Tensor, marginal: Tensor, mask: Tensor | None = None) -> Tensor:
    """The Jensen-Shannon objective of DIM: ``E_P[-softplus(-T)] - E_Q[softplus(T)]``.

    Not a bound on I itself (it is 2 JSD(P || Q) - 2 log 2 at its optimum); its maximizer is the log
    density ratio, so :func:`nwj_bound` of ``T + 1`` turns the trained critic into an MI lower bound
    (Poole et al. 2019, Sec. 2.4).
    """
    joint, marginal = _wide(joint, "joint"), _wide(marginal, "marginal")
    return _mean(-F.softplus(-joint), None, "joint") - _mean(F.softplus(marginal), mask, "marginal")


def infonce_bound(scores: Tensor) -> Tensor:
    """InfoNCE on a score matrix ``scores[i, j] = T(x_i, y_j)`` with the positives on the diagonal:
    ``mean_i [ T(x_i, y_i) - log (1/M) sum_j exp T(x_i, y_j) ]``, never above log M (M columns)."""
    s = _wide(scores, "scores")
    if s.ndim != 2 or s.shape[0] > s.shape[1]:
        raise ValueError(f"scores: expected an (N, M) matrix with N <= M, got {tuple(s.shape)}")
    _n, m = s.shape
    return _log_softmax_diagonal(s, torch.arange(len(s), device=s.device)).mean() + math.log(m)


def _log_softmax_diagonal(s: Tensor, cols: Tensor) -> Tensor:
    """``s[i, cols[i]] - logsumexp(s[i])`` for each row i, with the row's largest score taken out of both
    terms first: the bound does not change, and the positive's score then cancels exactly. (Unshifted, at
    scores of 1e9 in float32, 1e9 + log M rounds to 1e9 and a useless constant critic scored log M.)
    The shift is detached, so the gradient is unchanged too."""
    s = s - s.amax(dim=1, keepdim=True).detach()
    return s[torch.arange(len(s), device=s.device), cols] - torch.logsumexp(s, dim=1)


def infonce_bound_chunked(score_rows: Callable[[Tensor], Tensor], n: int, chunk: int = 1024) -> Tensor:
    """InfoNCE over N x N scores that never holds more than ``chunk`` rows of them.

    ``score_rows(rows)`` returns the scores of those rows against all N columns. Under autograd each
    chunk is checkpointed (recomputed in the backward pass), so memory stays linear in N for training
    with large batches too.
    """
    n, chunk = V.positive_int(n, "n"), V.positive_int(chunk, "chunk")
    total = torch.zeros((), dtype=torch.float32)
    for start in range(0, n, chunk):
        rows = torch.arange(start, min(n, start + chunk))

        def part(rows: Tensor = rows) -> Tensor:
            s = _wide(score_rows(rows), "score_rows(rows)")
            return _log_softmax_diagonal(s, rows.to(s.device)).sum()

        value = checkpoint(part, use_reentrant=False) if torch.is_grad_enabled() else part()
        total = total.to(value.device) + value
    return total / n + math.log(n)
