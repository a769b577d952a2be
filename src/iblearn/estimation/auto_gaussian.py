"""The bias-corrected Gaussian's side of ``method="auto"`` (:mod:`iblearn.estimation.auto`): its estimate
from full-rank rows by two Cholesky factors, its checks' reruns from second moments, its asymptotic
standard error, and the check that the rows can be a Gaussian copula.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from iblearn import functional as ibf
from iblearn.estimation.autocheck import Check, Reruns
from iblearn.functional.gaussian import Canonical, canonical_analysis, wishart_digammas
from iblearn.functional.multivariate.inputs import MAGNITUDES_Z, whitened_magnitude_dependence


def gaussian_on_bases(x: Tensor, y: Tensor) -> float:
    """The bias-corrected Gaussian estimate (:func:`~iblearn.functional.gaussian_mi`) on rows whose
    covariance has full rank, as :func:`~iblearn.functional.gaussian.canonical_bases` makes them: there
    the plug-in is 1/2 (log det S_xx + log det S_yy - log det S), two Cholesky factors instead of two
    eigendecompositions and a singular value decomposition. Rows whose covariance is singular all the
    same take :func:`~iblearn.functional.gaussian_mi`."""
    z = torch.cat([x, y], dim=1)
    z = z - z.mean(dim=0)
    value = _gaussian_of_cov(z.T @ z / len(z), x.shape[1], len(z))
    return float(ibf.gaussian_mi(x, y, bias_correction=True)) if value is None else value


def _gaussian_of_cov(cov: Tensor, dx: int, n: int) -> float | None:
    """The bias-corrected Gaussian estimate from the covariance (divisor n) of n rows whose first ``dx``
    columns are x; None where it is not positive definite."""
    joint, info = torch.linalg.cholesky_ex(cov)
    side, info_y = torch.linalg.cholesky_ex(cov[dx:, dx:])
    if bool(info) or bool(info_y):
        return None
    logdiag = joint.diagonal().log()  # the leading block of the joint's factor is S_xx's
    plug_in = logdiag[:dx].sum() + side.diagonal().log().sum() - logdiag.sum()
    d = cov.shape[0]
    psi = wishart_digammas(n, d, cov)
    return float(plug_in + 0.5 * (psi.sum() - psi[:dx].sum() - psi[: d - dx].sum()))


class GaussianReruns(Reruns):
    """The bias-corrected Gaussian's reruns from second moments of rows in their whitened coordinates
    (centred, identity covariance a side): a half's moments by one product, the other half's by
    difference from the whole's (known from the cross-covariance), a shuffled half's by its cross block
    alone, two halves side by side by the halves' and one cross product, and a rotation (the linear
    map of rows that look Gaussian) by rotating the half's covariance. The values are those of refitting
    :func:`gaussian_on_bases` on the rows, to rounding; where a covariance is singular, it refits."""

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        remap: Callable[[Tensor, Tensor, torch.Generator], tuple[Tensor, Tensor]],
        linear: bool,
    ) -> None:
        super().__init__(gaussian_on_bases, x, y, remap)
        self.z, self.dx, self.linear = torch.cat([x, y], dim=1), x.shape[1], linear
        n, dy = len(x), y.shape[1]
        # The whole's products: n I a side (whitened), the cross products between the sides.
        self.total = n * torch.eye(self.dx + dy, dtype=self.z.dtype, device=self.z.device)
        cross = x.T @ y
        self.total[: self.dx, self.dx :], self.total[self.dx :, : self.dx] = cross, cross.T
        self.sums = self.z.sum(dim=0)
        self.seen: dict[int, tuple[Tensor, Tensor, Tensor]] = {}  # id(rows) -> (rows, sum, products)

    def _moments(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        if id(rows) not in self.seen:
            z = self.z[rows]
            self.seen[id(rows)] = (rows, z.sum(dim=0), z.T @ z)
        return self.seen[id(rows)][1:]

    def _of(self, sums: Tensor, products: Tensor, n: int, dx: int | None = None) -> float | None:
        mean = sums / n
        return _gaussian_of_cov(products / n - torch.outer(mean, mean), dx or self.dx, n)

    def half(self, rows: Tensor) -> float:
        value = self._of(*self._moments(rows), len(rows))
        return super().half(rows) if value is None else value

    def halves(self, splits: list[tuple[Tensor, Tensor]]) -> list[float]:
        out = []
        for a, b in splits:
            out.append(self.half(a))
            if len(a) + len(b) == len(self.z):  # b is the rest of the rows
                sums, products = self._moments(a)
                self.seen[id(b)] = (b, self.sums - sums, self.total - products)
            out.append(self.half(b))
        return out

    def shuffled(self, rows: Tensor, order: Tensor) -> float:
        sums, products = self._moments(rows)
        z = self.z[rows]
        cross = z[:, : self.dx].T @ z[order, self.dx :]
        products = products.clone()
        products[: self.dx, self.dx :], products[self.dx :, : self.dx] = cross, cross.T
        value = self._of(sums, products, len(rows))
        return super().shuffled(rows, order) if value is None else value

    def mapped(self, rows: Tensor, gen: torch.Generator) -> float | None:
        if not self.linear:
            return super().mapped(rows, gen)
        ex = torch.eye(self.dx, dtype=self.z.dtype, device=self.z.device)
        ey = torch.eye(self.z.shape[1] - self.dx, dtype=self.z.dtype, device=self.z.device)
        qx, qy = self.remap(ex, ey, gen)  # the map's own draw, as it would map the rows
        if qx is ex and qy is ey:
            return None
        q = torch.block_diag(qx, qy)
        sums, products = self._moments(rows)
        value = self._of(q.T @ sums, q.T @ products @ q, len(rows))
        return self.half(rows) if value is None else value  # a rotation leaves the estimate as it is

    def doubled(self, a: Tensor, b: Tensor) -> float:
        (sa, pa), (sb, pb) = self._moments(a), self._moments(b)
        cross = self.z[a].T @ self.z[b]
        dx = self.dx
        # Columns [x_a, x_b, y_a, y_b]: each half's own blocks and the cross product between the halves.
        order = [(0, slice(None, dx)), (1, slice(None, dx)), (0, slice(dx, None)), (1, slice(dx, None))]
        blocks = {(0, 0): pa, (1, 1): pb, (0, 1): cross, (1, 0): cross.T}
        products = torch.cat(
            [torch.cat([blocks[(h, k)][i, j] for k, j in order], dim=1) for h, i in order], dim=0
        )
        sums = torch.cat([sa[:dx], sb[:dx], sa[dx:], sb[dx:]])
        value = self._of(sums, products, len(a), 2 * dx)
        return super().doubled(a, b) if value is None else value


def gaussian_stderr(x: Tensor, y: Tensor) -> float:
    """The asymptotic standard error of the Gaussian estimate of I(X; Y) from N rows: sqrt((sum_i r_i^2
    - dx dy / (N - 1)) / N) with r_i the sample canonical correlations (0 where that is negative).

    The Gaussian estimate is ``-1/2 sum_i log(1 - r_i^2)``, whose derivative in r_i is
    r_i / (1 - r_i^2). A sample canonical correlation of a distinct non-zero rho_i is asymptotically
    normal with variance (1 - rho_i^2)^2 / N, and independent of the others (Hsu 1941, "On the limiting
    distribution of the canonical correlations", Biometrika 32; Anderson 2003, *An Introduction to
    Multivariate Statistical Analysis*, ch. 12), so by the delta method the estimate's variance is
    sum_i rho_i^2 / N. The canonical correlations that are 0 add nothing at that order, but they lift
    the sample's sum of r_i^2 by its expectation under independence, dx dy / (N - 1) (Pillai's trace;
    dx, dy the effective dimensions), which is taken off.
    """
    return delta_stderr(canonical_analysis(x, y))


def delta_stderr(analysis: Canonical) -> float:
    """:func:`gaussian_stderr` from the rows' :func:`~iblearn.functional.canonical_analysis`."""
    rho, dx, dy, n = analysis
    return math.sqrt(max(float((rho**2).sum()) - dx * dy / (n - 1), 0.0) / n)


def copula_check(zx: Tensor, zy: Tensor) -> Check:
    """Whether the rows the Gaussian estimated from (normal scores, or rows whose columns look Gaussian),
    in their whitened coordinates, can be a Gaussian copula, by the dependence of their magnitudes that
    a Gaussian copula leaves out
    (:func:`~iblearn.functional.multivariate.inputs.whitened_magnitude_dependence`): a Student-t
    copula's shared scale is information the Gaussian estimate misses, and KSG in 3 - 10 dimensions
    reads low there too, so their agreement does not vouch for either. Whitened, a variable on a
    subspace is measured on its rank's columns, where its magnitudes are defined."""
    z = whitened_magnitude_dependence(zx, zy)
    return Check(
        "gaussian copula",
        abs(z) <= MAGNITUDES_Z,
        {"magnitudes z": z},
        "x's and y's magnitudes, whitened, are independent as a Gaussian copula has them",
        MAGNITUDES_Z,
    )
