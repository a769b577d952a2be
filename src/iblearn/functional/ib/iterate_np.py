"""The soft self-consistent iteration of :mod:`.iterate` on numpy float64 arrays: for batches on the CPU,
where the fixed cost of each torch operation outweighs its work; in the compiled kernel of ``_iterate.c``
where it was built, numpy's below otherwise. The same equations, the same SQUAREM
cycles (Varadhan & Roland 2008) and the same stopping rule; each step carries log q(t|x) along with
q(t|x), so that a cycle takes one exponential a step and no logarithm of the encoders."""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

try:
    from iblearn.functional.ib import _iterate

    #: Whether the compiled iteration of ``_iterate.c`` was built (setup.py); without it numpy iterates.
    HAVE_KERNEL = True
except ImportError:  # installed without a C compiler
    HAVE_KERNEL = False

#: The floor of the encoders and marginals whose logarithm is taken.
TINY = 1e-300
#: log q(t|x) is floored here (an empty value of T has log q = -inf, which the extrapolation cannot use).
_LOG_FLOOR = float(np.log(TINY))
#: A run still going after this many steps tries to jump along its drift (:func:`drift`): near a critical
#: beta the iterate drifts along a slow direction for hundreds of steps, which the extrapolation of each
#: cycle, fitted to two steps, does not see.
DRIFT_START = 60
#: ... every this many steps (three cycles) after the last try; a try counts as one cycle (3 steps).
DRIFT_EVERY = 9
#: The longest jump, in multiples of the drift since the last try.
DRIFT_MAX = 128.0


def drift_due(i: int, mark: int) -> bool:
    """Whether a run at step ``i`` tries its jump along the drift (:func:`drift`) since the step ``mark``
    its log q was kept at (-1: none kept since the last try), the schedule of ``_iterate.c``."""
    return i >= DRIFT_START and mark >= 0 and i - mark >= DRIFT_EVERY


def drift_marks(i: int, mark: int) -> bool:
    """Whether a run at step ``i`` keeps its log q as the drift's origin (none kept since the last try)."""
    return i >= DRIFT_START and mark < 0


def lagrangian(
    p: np.ndarray, q: np.ndarray, betas: np.ndarray, alpha: float, log_q: np.ndarray | None = None
) -> np.ndarray:
    """H(T) - alpha H(T|X) - beta I(T; Y) of each encoder of the batch ``q (B, X, T)`` at its beta
    (``log_q``, floored, where known: H(T|X) then needs no logarithm)."""
    px, py = p.sum(1), p.sum(0)
    qt = px @ q
    h_t = -xlogy(qt, qt).sum(-1)
    q_log_q = xlogy(q, q) if log_q is None else q * log_q
    h_t_x = -(q_log_q.sum(-1) @ px)
    pty = q.transpose(0, 2, 1) @ p
    i_ty = np.maximum(xlogy(pty, pty).sum((-2, -1)) + h_t + xlogy(py, 1 / py).sum(), 0.0)
    return h_t - alpha * h_t_x - betas * i_ty


def step(p: np.ndarray, pyx: np.ndarray, q: np.ndarray, betas: np.ndarray, alpha: float) -> np.ndarray:
    """One pass of the self-consistent equations on a batch of soft encoders ``(B, X, T)``."""
    return log_step(p, pyx, q, betas, alpha)[0]


def log_step(
    p: np.ndarray, pyx: np.ndarray, q: np.ndarray, betas: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """One pass of the self-consistent equations: the new encoders and their logarithms (floored)."""
    qt = p.sum(1) @ q
    pty = q.transpose(0, 2, 1) @ p
    with np.errstate(divide="ignore"):
        log_qt = np.log(qt)  # -inf for an empty value of T, which then stays empty
    log_qyt = np.log(np.maximum(pty, TINY)) - np.log(np.maximum(qt, TINY))[..., None]
    logits = log_qt[:, None, :] + betas[:, None, None] * (pyx @ log_qyt.transpose(0, 2, 1))
    return _log_softmax(logits / alpha)


def _log_softmax(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    total = e.sum(-1, keepdims=True)
    return e / total, np.maximum(z - np.log(total), _LOG_FLOOR)


def _step_cap(cap: np.ndarray, length: np.ndarray, worse: np.ndarray) -> np.ndarray:
    """The bound on each encoder's extrapolation length after a cycle: a quarter of the length that
    overshot, or four times the bound where a jump of that length held (the step-length control of
    Varadhan & Roland 2008, Sec. 7): near a critical beta the ratio |r| / |v| grows without bound and,
    unbounded, every jump overshoots and the cycle falls back to plain steps."""
    grown = np.where(length >= cap, 4 * cap, cap)
    return np.where(worse, np.maximum(length / 4, 1.0), grown)


def iterate(
    p: np.ndarray,
    q: np.ndarray,
    betas: np.ndarray,
    alpha: float,
    tol: float,
    max_iter: int,
    bounded: bool = True,
    compiled: bool = HAVE_KERNEL,
) -> np.ndarray:
    """:func:`iblearn.functional.ib.iterate.iterate` for soft encoders (alpha > 0) on numpy arrays; where
    ``compiled``, in the kernel of ``_iterate.c`` (the same cycles, one encoder at a time)."""
    if compiled:
        out = np.array(q, dtype=np.float64, order="C", copy=True)
        p, betas = np.ascontiguousarray(p, dtype=np.float64), np.ascontiguousarray(betas, dtype=np.float64)
        _iterate.iterate(p, out, betas, out.shape[1], p.shape[1], out.shape[2], alpha, tol, max_iter, bounded)
        return out
    pyx = p / p.sum(1, keepdims=True)
    q = q.copy()
    log_q = np.log(np.maximum(q, TINY))
    active = np.arange(len(q))
    last = np.full(len(q), np.inf)
    cap = np.full(len(q), np.inf)
    i, mark, hist = 0, -1, log_q
    while i < max_iter and len(active) > 0:
        b = betas[active]
        jump, l_jump, value, new_cap = cycle(
            p, pyx, (q[active], log_q[active]), b, alpha, last[active], cap[active]
        )
        if bounded:
            cap[active] = new_cap
        q[active], log_q[active] = jump, l_jump
        going = last[active] - value > tol * (1 + np.abs(value))
        last[active] = value
        active, i = active[going], i + 3
        # every run of the batch started together: the drift's tries fall on the same steps for all
        if drift_due(i, mark) and len(active) > 0:
            a = active
            q[a], log_q[a], last[a] = drift(p, pyx, (q[a], log_q[a]), hist[a], betas[a], alpha, last[a])
            cap[a] = np.inf if bounded else cap[a]
            i, mark = i + 3, -1
        if drift_marks(i, mark):
            hist, mark = log_q.copy(), i
    return q


def drift(
    p: np.ndarray,
    pyx: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
    hist: np.ndarray,
    betas: np.ndarray,
    alpha: float,
    last: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The jump of each encoder ``start = (q, log q)`` along its drift since ``hist`` (its log q then):
    from log q + c (log q - hist), c = 2, 4, ... up to :data:`DRIFT_MAX` while each jump (and a step from
    it) lowers L, the lowest kept where it is below ``last``; the encoders, their logarithms and
    Lagrangians. A plain step moves a slow mode by a fraction of its distance to the fixed point, so the
    drift over a few cycles, doubled until L stops falling, reaches it in a few tries."""
    q, log_q = start[0].copy(), start[1].copy()
    best = last.copy()
    trying = np.arange(len(q))
    c = 2.0
    while c <= DRIFT_MAX and len(trying) > 0:
        l0 = start[1][trying]
        with np.errstate(over="ignore", invalid="ignore"):  # a jump too far is caught below
            moved = _log_softmax(l0 + c * (l0 - hist[trying]))[0]
            jump, l_jump = log_step(p, pyx, moved, betas[trying], alpha)
            value = lagrangian(p, jump, betas[trying], alpha, l_jump)
        lower = value < best[trying]
        kept = trying[lower]
        q[kept], log_q[kept], best[kept] = jump[lower], l_jump[lower], value[lower]
        trying, c = kept, 2 * c
    return q, log_q, best


def cycle(
    p: np.ndarray,
    pyx: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
    betas: np.ndarray,
    alpha: float,
    last: np.ndarray,
    cap: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One SQUAREM cycle (Varadhan & Roland 2008) from the encoders ``start = (q, log q)``: two steps,
    log q extrapolated along them by a length of at most ``cap``, one step from there, kept where its
    Lagrangian is at most ``last`` (else the two steps); the new encoders, their logarithms and
    Lagrangians, and the bound after the cycle (:func:`_step_cap`)."""
    q0, l0 = start
    q1, l1 = log_step(p, pyx, q0, betas, alpha)
    q2, l2 = log_step(p, pyx, q1, betas, alpha)
    r, v = l1 - l0, l2 - 2 * l1 + l0
    norm_r = np.sqrt((r * r).sum((1, 2)))
    norm_v = np.sqrt((v * v).sum((1, 2)))
    length = np.minimum(np.maximum(norm_r / np.maximum(norm_v, TINY), 1.0), cap)
    s = -length[:, None, None]
    with np.errstate(over="ignore", invalid="ignore"):  # an overshoot is caught below
        start_q = _log_softmax(l0 - 2 * s * r + s * s * v)[0]
        jump, l_jump = log_step(p, pyx, start_q, betas, alpha)
        value = lagrangian(p, jump, betas, alpha, l_jump)
    worse = ~(value <= last)  # the jump overshot (or is not finite): keep the plain steps
    if worse.any():
        jump[worse], l_jump[worse] = q2[worse], l2[worse]
        value[worse] = lagrangian(p, q2[worse], betas[worse], alpha, l2[worse])
    return jump, l_jump, value, _step_cap(cap, length, worse)
