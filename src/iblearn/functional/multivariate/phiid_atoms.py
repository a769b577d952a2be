"""Integrated information decomposition (Phi-ID) of two processes (Mediano, Rosas et al.).

The time-delayed mutual information of the pair ``(X, Y)``,
``TDMI = I(X_{t-tau}, Y_{t-tau}; X_t, Y_t)``, splits over the product of the two-source PID lattices of
the past and of the future into 16 atoms ``a -> b``, each of redundancy (r), unique to x or y, or
synergy (s) in the past, carrying information into the same kinds in the future: ``rtr`` (redundancy
to redundancy), ``xty`` (unique in x to unique in y), ``sts`` (synergy to synergy), ... . Every mutual
information between a set of past and a set of future variables is the sum of the atoms below it;
the 16 are fixed by those 15 informations, six redundancies of one side and one double redundancy
``rtr``. The redundancy is the minimum MI (MMI: the term of least mean) or the common change in
surprisal (CCS: per sample, the co-information where it agrees in sign with the informations), both
as phyid computes them. The local (per-sample) atoms average to the atoms.

Derived measures: ``phi_wms = TDMI - I(X_{t-tau}; X_t) - I(Y_{t-tau}; Y_t)`` (whole minus sum),
``phi_r = phi_wms + rtr`` (the revised integrated information), ``causal_emergence`` the synergy's
flow into the future (``str + stx + sty + sts``), ``downward_causation`` its part into the parts
(``str + stx + sty``) and ``causal_decoupling = sts``.

References:
    P. Mediano, F. Rosas, A. Luppi, R. Carhart-Harris, D. Bor, A. Seth, A. Barrett. Towards an
    extended taxonomy of information dynamics via integrated information decomposition.
    arXiv:2109.13186 (2021).
    F. Rosas, P. Mediano, H. Jensen, A. Seth, A. Barrett, R. Carhart-Harris, D. Bor. Reconciling
    emergences. PLoS Comput. Biol. 16, e1008289 (2020).
    A. Luppi et al. A synergistic core for human brain evolution and cognition. Nat. Neurosci. 25,
    771 (2022).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from iblearn import _checks as V
from iblearn._settings import setting

#: The atoms as phyid names them: past kind, "t", future kind (r, x, y, s).
ATOMS: tuple[str, ...] = tuple(f"{a}t{b}" for a in "rxys" for b in "rxys")
#: The down-set of each kind in the two-source lattice: r below x and y, all below s.
_BELOW = {"r": "r", "x": "rx", "y": "ry", "s": "rxys"}
#: The variables of a kind (0, 1 the past x, y; 2, 3 the future x, y).
_PAST = {"x": [0], "y": [1], "s": [0, 1]}
_FUTURE = {"x": [2], "y": [3], "s": [2, 3]}


@dataclass(frozen=True)
class PhiIDResult:
    """The 16 atoms (nats, 0-d float64 tensors keyed as :data:`ATOMS`), the TDMI they sum to, and the
    local atoms ``(N - lag,)`` per name where asked for."""

    atoms: dict[str, Tensor]
    tdmi: Tensor
    mutual_informations: dict[str, Tensor]
    local: dict[str, Tensor] | None = None

    @property
    def phi_wms(self) -> Tensor:
        """Whole-minus-sum integrated information ``TDMI - I(X_p; X_f) - I(Y_p; Y_f)``."""
        return self.tdmi - self.mutual_informations["xtx"] - self.mutual_informations["yty"]

    @property
    def phi_r(self) -> Tensor:
        """The revised integrated information ``phi_wms + rtr``."""
        return self.phi_wms + self.atoms["rtr"]

    @property
    def causal_emergence(self) -> Tensor:
        """The synergy of the past into any future kind: ``str + stx + sty + sts``."""
        return self.downward_causation + self.causal_decoupling

    @property
    def downward_causation(self) -> Tensor:
        """The synergy of the past into the future's parts: ``str + stx + sty``."""
        return self.atoms["str"] + self.atoms["stx"] + self.atoms["sty"]

    @property
    def causal_decoupling(self) -> Tensor:
        """Synergy to synergy, ``sts``."""
        return self.atoms["sts"]


def _gaussian_entropies(z: Tensor) -> Callable[[Sequence[int]], Tensor]:
    """Local entropies ``-log N(z_S; mean, cov)`` under the sample mean and covariance (n - 1)."""
    mu, cov = z.mean(0), torch.cov(z.T)

    def h(idx: Sequence[int]) -> Tensor:
        sub = cov[idx][:, idx]
        chol = torch.linalg.cholesky(sub)
        w = torch.linalg.solve_triangular(chol, (z[:, idx] - mu[idx]).T, upper=False)
        logdet = 2 * torch.log(torch.diagonal(chol)).sum()
        return 0.5 * (len(idx) * math.log(2 * math.pi) + logdet + (w**2).sum(0))

    return h


def _discrete_entropies(z: Tensor) -> Callable[[Sequence[int]], Tensor]:
    """Local plug-in entropies ``-log p_hat(z_S)`` of the sample's symbols."""

    codes = torch.stack([torch.unique(col, return_inverse=True)[1] for col in z.T], dim=1)
    base = int(codes.max()) + 1

    def h(idx: Sequence[int]) -> Tensor:
        key = torch.zeros(z.shape[0], dtype=torch.int64)
        for i in idx:  # one code per joint symbol: base**4 stays far below 2**63 for any sample size
            key = key * base + codes[:, i]
        _, inverse, counts = torch.unique(key, return_inverse=True, return_counts=True)
        return -torch.log(counts.to(torch.float64)[inverse] / z.shape[0])

    return h


def _mmi(terms: Sequence[Tensor]) -> Tensor:
    """The term of least mean: of two, the second on a tie; of more, the first (as phyid)."""
    means = [float(t.mean()) for t in terms]
    if len(terms) == 2:
        return terms[0] if means[0] < means[1] else terms[1]
    return terms[min(range(len(terms)), key=means.__getitem__)]


def _agree(terms: Sequence[Tensor]) -> Tensor:
    signs = torch.stack([torch.sign(t) for t in terms])
    return (signs == signs[0]).all(0)


def _redundancy(kind: str, i1: Tensor, i2: Tensor, i12: Tensor) -> Tensor:
    if kind == "mmi":
        return _mmi([i1, i2])
    coinfo = i1 + i2 - i12  # redundancy: the co-information where all agree in sign
    return _agree([i1, i2, i12, coinfo]) * coinfo


def _knowns(mi: dict[str, Tensor], redundancy: str) -> dict[str, Tensor]:
    """The 16 quantities of each node pair ``a -> b``: MI between a past and a future set, a
    redundancy where one side is ``r``, the double redundancy at ``rtr``."""
    out = {f"{a}t{b}": mi[f"{a}t{b}"] for a in "xys" for b in "xys"}
    for b in "xys":
        out[f"rt{b}"] = _redundancy(redundancy, mi[f"xt{b}"], mi[f"yt{b}"], mi[f"st{b}"])
    for a in "xys":
        out[f"{a}tr"] = _redundancy(redundancy, mi[f"{a}tx"], mi[f"{a}ty"], mi[f"{a}ts"])
    singles = [mi["xtx"], mi["xty"], mi["ytx"], mi["yty"]]
    if redundancy == "mmi":
        out["rtr"] = _mmi(singles)
    else:  # the double co-information, by inclusion-exclusion over the product lattice
        double = -sum(singles) + mi["xts"] + mi["yts"] + mi["stx"] + mi["sty"] - mi["sts"]
        double = double + out["rtx"] + out["rty"] - out["rts"] + out["xtr"] + out["ytr"] - out["str"]
        out["rtr"] = _agree([*singles, double]) * double
    return out


def _zeta() -> Tensor:
    """``M[k, a] = 1`` where atom ``a`` lies below the node pair ``k`` in the product lattice."""
    m = torch.zeros(16, 16, dtype=torch.float64)
    for k, known in enumerate(ATOMS):
        for j, atom in enumerate(ATOMS):
            m[k, j] = float(atom[0] in _BELOW[known[0]] and atom[2] in _BELOW[known[2]])
    return m


def _stacked(series: Any, lag: int, method: str) -> Tensor:
    """``(N - lag, 4)``: x and y in the past, then in the future."""
    if method == "gaussian":
        s = V.continuous(series, "series").to(torch.float64)
    else:
        s = V.as_tensor(series, "series")
        if s.is_floating_point() or s.dtype == torch.bool or s.is_complex():
            raise ValueError(f"series: method='discrete' takes integer symbols, got dtype {s.dtype}")
    if s.ndim != 2 or s.shape[1] != 2:
        raise ValueError(f"series: expected (N, 2), the two processes as columns, got {tuple(s.shape)}")
    lag = setting("lag", lag)
    if s.shape[0] - lag < 3:
        raise ValueError(f"series: {s.shape[0]} steps leave fewer than 3 pairs at lag {lag}")
    return torch.cat([s[:-lag], s[lag:]], dim=1)


#: The smallest eigenvalue of the past-and-future correlation matrix the Gaussian estimate accepts: below
#: it the joint has no density at float64's resolution and its Cholesky factor does not exist.
MIN_EIGENVALUE = 1e-10


def _standardized(z: Tensor, lag: int) -> Tensor:
    """``z``'s columns at unit variance (scaled by their largest magnitude first, so that 1e-300 or 1e300
    data neither underflow nor overflow), or a ValueError naming ``series`` where a process is constant
    or the four columns are linearly dependent (duplicated processes, or too few pairs at the lag)."""
    z = z / z.abs().amax(0, keepdim=True).clamp_min(torch.finfo(z.dtype).tiny)
    z = z - z.mean(0, keepdim=True)
    sd = z.std(0, keepdim=True)
    for j in range(2):
        if float(sd[0, j]) == 0 or float(sd[0, j + 2]) == 0:
            raise ValueError(f"series: process {j} is constant; it shares no information with anything")
    z = z / sd
    smallest = float(torch.linalg.eigvalsh(torch.cov(z.T)).min())
    if smallest < MIN_EIGENVALUE:
        raise ValueError(
            f"series: the two processes' pasts and futures are linearly dependent at lag {lag} (the "
            f"smallest eigenvalue of their correlation matrix is {smallest:.1e}, with {len(z)} pairs): "
            "duplicated or deterministic processes, or too few pairs; their Gaussian Phi-ID is undefined"
        )
    return z


def phiid(
    series: Any,
    lag: int = 1,
    *,
    redundancy: Literal["mmi", "ccs"] = "mmi",
    method: Literal["gaussian", "discrete"] = "gaussian",
    local: bool = False,
) -> PhiIDResult:
    """Integrated information decomposition of two processes into 16 atoms (see the module).

    Args:
        series: ``(N, 2)`` samples in time order, the processes X and Y as columns: floating point for
            ``method="gaussian"``, integer symbols for ``"discrete"`` (binarize continuous data first,
            e.g. ``(s > s.mean(0)).long()``, as phyid does).
        lag: the delay tau between past and future, at least 1.
        redundancy: ``"mmi"`` or ``"ccs"``.
        method: ``"gaussian"`` (each variable scaled to unit variance; local entropies from the sample
            mean and covariance) or ``"discrete"`` (plug-in local entropies).
        local: keep the per-sample atoms, ``(N - lag,)`` each; their means are the atoms.

    Returns:
        :class:`PhiIDResult`: ``atoms`` (nats) summing to ``tdmi``, the derived measures as properties.

    Raises:
        ValueError: a series not (N, 2), too short for the lag, non-integer for ``"discrete"``; an
            unknown redundancy or method.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> s = torch.zeros(3000, 2)
        >>> for t in range(1, 3000):
        ...     s[t] = 0.4 * s[t - 1] + 0.3 * s[t - 1].flip(0) + torch.randn(2, generator=g)
        >>> res = phiid(s)
        >>> bool(torch.isclose(sum(res.atoms.values()), res.tdmi))
        True
    """
    V.choice(redundancy, "redundancy", ("mmi", "ccs"))
    V.choice(method, "method", ("gaussian", "discrete"))
    z = _stacked(series, lag, method)
    if method == "gaussian":
        z = _standardized(z, lag)
    entropy = _gaussian_entropies(z) if method == "gaussian" else _discrete_entropies(z)
    cache: dict[tuple[int, ...], Tensor] = {}

    def h(idx: list[int]) -> Tensor:
        if tuple(idx) not in cache:
            cache[tuple(idx)] = entropy(idx)
        return cache[tuple(idx)]

    mi = {f"{a}t{b}": h(_PAST[a]) + h(_FUTURE[b]) - h(_PAST[a] + _FUTURE[b]) for a in "xys" for b in "xys"}
    knowns = _knowns(mi, redundancy)
    values = torch.linalg.solve(_zeta(), torch.stack([knowns[k] for k in ATOMS]))
    atoms = {name: values[i].mean() for i, name in enumerate(ATOMS)}
    return PhiIDResult(
        atoms=atoms,
        tdmi=mi["sts"].mean(),
        mutual_informations={k: v.mean() for k, v in mi.items()},
        local={name: values[i] for i, name in enumerate(ATOMS)} if local else None,
    )
