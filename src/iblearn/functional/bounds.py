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
from iblearn.functional.gaussian import wishart_digammas


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


def smile_bound(joint: Tensor, marginal: Tensor, clip: float = 5.0, mask: Tensor | None = None) -> Tensor:
    """SMILE (Song & Ermon 2020): the DV bound with the partition term's density ratios clipped,
    ``E_P[T] - log E_Q[clip(exp T, e^-clip, e^clip)]``.

    The formula as the authors' code computes it (ermongroup/smile-mi-estimator, ``estimators.py``,
    ``smile_lower_bound``, at afa72e0; the paper's section and equation numbers not checked: its text
    was not at hand): only the scores of the partition term ``marginal`` are clipped, the joint term
    keeps ``T`` as it is. Their partition term averages over every off-diagonal pair of a batch; pass
    those as ``marginal`` (with ``mask``) to get theirs.
    Clipping bounds the variance of the partition estimate (for plain DV it grows exponentially with
    the MI, their central result); it can move the estimate either way, so SMILE is not a bound for a
    finite ``clip`` (it is DV as ``clip`` goes to infinity). Compare
    :class:`~iblearn.estimators.MINE`'s ``clip``, which clips both terms (the DV bound of the critic
    ``clip(T)``, so still a lower bound).

    Args:
        joint: scores ``T(x_i, y_i)``, any shape.
        marginal: scores of re-paired samples, any shape.
        clip: tau, at least 0 (their experiments take 1 and 5); ``math.inf`` gives :func:`dv_bound`.
        mask: which ``marginal`` entries count (bool, ``marginal``'s shape); None: all.

    Example:
        >>> smile_bound(torch.tensor([2.0, 0.0]), torch.tensor([0.0, 10.0]), clip=1.0)  # 1 - log((1 + e)/2)
        tensor(0.3799)
    """
    if isinstance(clip, bool) or not isinstance(clip, int | float) or not clip >= 0:
        raise ValueError(f"clip: expected a number >= 0 (tau), got {clip!r}")
    marginal = _wide(marginal, "marginal").clamp(-clip, clip)
    return _mean(joint, None, "joint") - log_mean_exp(marginal, mask)


def flo_bound(joint: Tensor, negatives: Tensor, u: Tensor) -> Tensor:
    """FLO (Guo et al. 2022): ``1 + mean_i [ -u_i - mean_k exp(-u_i + g(x_i, y_k) - g(x_i, y_i)) ]``.

    The Fenchel-Legendre dual of ``-log``: ``-log a >= 1 - u - a e^-u`` for every u, with equality at
    ``u = log a``. Applied to ``a = E_p(y')[exp(g(x, y') - g(x, y))]`` it bounds from below the
    conditional DV bound ``E[-log a]``, itself a lower bound on I, so FLO is a lower bound for every
    critic g and every u; it is tight at g the log density ratio (plus any function of x) and
    ``u(x, y) = -log p(x, y) / (p(x) p(y))``. Linear in the inner mean, so negatives sampled per row give
    an unbiased estimate of it. The paper's eq. (11) (Sec. 2.2; the dual of ``-log`` is its eq. (7),
    the optimal u its eq. (14)), numbered as in the preprint ``FLO.pdf`` of the authors' repository
    qingguo666/FLO (the NeurIPS version may number them otherwise), and as their ``LossFLO`` computes
    it with K negatives a row, less the sign.

    Args:
        joint: ``g(x_i, y_i)``, shape ``(N,)``.
        negatives: ``g(x_i, y_k)`` for K negatives ``y_k`` of row i, shape ``(N, K)``.
        u: the u-network's ``u(x_i, y_i)``, shape ``(N,)``.

    Example:
        >>> flo_bound(torch.tensor([1.0]), torch.tensor([[0.0, 0.0]]), torch.tensor([-1.0]))  # tight u
        tensor(1.)
    """
    joint, negatives, u = _wide(joint, "joint"), _wide(negatives, "negatives"), _wide(u, "u")
    if joint.ndim != 1:
        raise ValueError(f"joint: expected scores of shape (N,), got {tuple(joint.shape)}")
    if negatives.ndim != 2 or len(negatives) != len(joint):
        raise ValueError(f"negatives: expected shape ({len(joint)}, K), got {tuple(negatives.shape)}")
    if u.shape != joint.shape:
        raise ValueError(f"u: expected shape {tuple(joint.shape)} as joint, got {tuple(u.shape)}")
    log_a = torch.logsumexp(negatives, dim=1) - math.log(negatives.shape[1]) - joint
    return 1 + (-u - torch.exp(log_a - u)).mean()


def _gaussian(mean: Tensor, log_var: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The arguments of a diagonal Gaussian q(y | x) checked: ``(N, d)`` each, floating-point."""
    mean, log_var, y = _wide(mean, "mean"), _wide(log_var, "log_var"), _wide(y, "y")
    if mean.ndim != 2:
        raise ValueError(f"mean: expected shape (N, d), got {tuple(mean.shape)}")
    for name, t in (("log_var", log_var), ("y", y)):
        if t.shape != mean.shape:
            raise ValueError(f"{name}: expected shape {tuple(mean.shape)} as mean, got {tuple(t.shape)}")
    return mean, log_var, y


def gaussian_log_likelihood(mean: Tensor, log_var: Tensor, y: Tensor) -> Tensor:
    """``mean_i log N(y_i; mean_i, diag(exp(log_var_i)))`` in nats: the mean log-likelihood of a
    diagonal Gaussian q(y | x) with the mean and log-variance it gives each row, all ``(N, d)``."""
    mean, log_var, y = _gaussian(mean, log_var, y)
    per_row = -0.5 * (((y - mean) ** 2) * torch.exp(-log_var) + log_var + math.log(2 * math.pi)).sum(1)
    return per_row.mean()


def club_bound(mean: Tensor, log_var: Tensor, y: Tensor) -> Tensor:
    """CLUB (Cheng et al. 2020) with a diagonal Gaussian q(y | x): the mean of ``log q(y_i | x_i)`` over
    the N positive pairs minus its mean over all N^2 pairs ``(x_i, y_j)``.

    ``I_CLUB = E_p(x,y)[log q(y|x)] - E_p(x) E_p(y)[log q(y|x)]``, an upper bound on I when q is the true
    conditional (the gap is then ``KL(p(x) p(y) || p(x, y))``), and for a learned q when
    ``KL(p(x, y) || q(x, y)) <= KL(p(x) p(y) || q(x, y))`` (the paper's variational CLUB and its
    condition; section and equation numbers not checked: its text was not at hand). The same value as
    the authors' ``CLUB.forward`` (Linear95/CLUB, ``mi_estimators.py``, at 57b4ad7), whose q keeps its
    log-variance in (-1, 1) (:class:`~iblearn.estimators.CLUB`'s in (-10, 10)). For a Gaussian the
    mean over all pairs needs no N x N matrix: per row i and dimension d, ``mean_j (y_jd - mean_id)^2 =
    var_d(y) + (ybar_d - mean_id)^2``, exactly, so the all-pairs form costs O(N d), as the sampled form
    (:func:`club_sampled_bound`) does.

    Args:
        mean, log_var: q's mean and log-variance for each x_i, ``(N, d)``.
        y: the samples of y, ``(N, d)``.

    Example:
        >>> y = torch.tensor([[1.0], [-1.0]])  # q(y | x_i) = N(y_i, 1); less constants, log q is
        >>> club_bound(y, torch.zeros(2, 1), y)  # 0 on the positives, -(0 + 4 + 4 + 0) / 8 over all pairs
        tensor(1.)
    """
    mean, log_var, y = _gaussian(mean, log_var, y)
    inv_var = torch.exp(-log_var)
    positive = ((y - mean) ** 2 * inv_var).sum(1).mean()
    centre = y.mean(0, keepdim=True)
    spread = ((y - centre) ** 2).mean(0, keepdim=True)  # var of y, divisor N: the mean over j exactly
    all_pairs = ((spread + (centre - mean) ** 2) * inv_var).sum(1).mean()
    return 0.5 * (all_pairs - positive)  # log_var and log(2 pi) cancel between the two means


def club_sampled_bound(mean: Tensor, log_var: Tensor, y: Tensor, y_negative: Tensor) -> Tensor:
    """CLUB's sampled form (CLUBSample, Cheng et al. 2020): ``mean_i [log q(y_i | x_i) - log q(y'_i | x_i)]``
    with one negative ``y'_i`` a row, all ``(N, d)``: an unbiased estimate of :func:`club_bound` when
    ``y'_i`` is drawn from all N rows (its own included), as the authors' ``CLUBSample`` draws it with
    ``randperm``; a derangement estimates the mean over the other rows instead."""
    mean, log_var, y = _gaussian(mean, log_var, y)
    y_negative = _wide(y_negative, "y_negative")
    if y_negative.shape != y.shape:
        raise ValueError(f"y_negative: expected shape {tuple(y.shape)} as y, got {tuple(y_negative.shape)}")
    inv_var = torch.exp(-log_var)
    return 0.5 * (((y_negative - mean) ** 2 - (y - mean) ** 2) * inv_var).sum(1).mean()


def doe_mi(mean: Tensor, log_var: Tensor, y: Tensor) -> Tensor:
    """Difference of entropies (DoE, McAllester & Stratos 2020): ``H_q(Y) - H_q(Y | X)``, each entropy
    a cross-entropy upper bound from a density model: here ``H_q(Y | X) = -mean_i log q(y_i | x_i)``
    for the diagonal Gaussian q(y | x) given by ``mean`` and ``log_var``, and ``H_q(Y)`` the entropy
    ``log det(2 pi e Sigma) / 2`` of y's Gaussian (Sigma its covariance; the largest entropy of any
    variable with that covariance), estimated without bias from the rows.

    The paper's proposal, as the authors' code computes it (karlstratos/doe, ``util.py``: ``DoE``,
    ``PDF``, ``ConditionalPDF``), but for H(Y): theirs is a diagonal Gaussian learned by gradient steps
    and scored on fresh rows; here the full-covariance Gaussian in closed form. Fitted and scored on the
    same rows, its entropy (and so the MI) would read low by about ``d (d + 3) / (4 N)`` nats (exactly
    0.71 at d = 10, N = 50), so the log-determinant is the unbiased one (its bias from
    :func:`~iblearn.functional.gaussian.wishart_digammas`, as for :func:`gaussian_mi`'s
    ``bias_correction``). A difference of two upper bounds is no bound: it is exact in expectation where
    both models are (y Gaussian, q the true conditional), and errs either way elsewhere.

    Args:
        mean, log_var: q's mean and log-variance for each x_i, ``(N, d)``.
        y: the samples of y, ``(N, d)``, at least d + 1 rows.

    Example:
        >>> y = torch.tensor([[1.0], [-1.0], [0.0]])  # q(y | x) = N(y, e^-2), met at its peak
        >>> # unbiased log det: log(2/3) - psi(1) - log(2/3); H(Y) 1.7075, mean log q(y | x) 0.0811
        >>> round(float(doe_mi(y, torch.full((3, 1), -2.0), y)), 4)
        1.7886
    """
    mean, log_var, y = _gaussian(mean, log_var, y)
    n, d = y.shape
    if n <= d:
        raise ValueError(f"y: the Gaussian of y needs more rows than its {d} columns, got {n}")
    centred = y - y.mean(0, keepdim=True)
    _sign, logdet = torch.linalg.slogdet(centred.T @ centred / n)
    logdet = logdet - wishart_digammas(n, d, y).sum() - d * math.log(2 / n)
    entropy_y = 0.5 * (d * math.log(2 * math.pi * math.e) + logdet)
    return entropy_y + gaussian_log_likelihood(mean, log_var, y)
