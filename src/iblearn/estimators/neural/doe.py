"""DoE (McAllester & Stratos 2020): MI as the difference of two cross-entropies, H_q(Y) - H_q(Y | X)."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from iblearn.estimators.base import Bound
from iblearn.estimators.neural.club import GaussianQ
from iblearn.functional.bounds import doe_mi


class DoE(GaussianQ):
    """Difference of entropies (McAllester & Stratos 2020, "Formal limitations on the measurement of
    mutual information"): ``I = H(Y) - H(Y | X)``, each entropy estimated by an upper bound.

    H(Y | X) by the Gaussian q(y | x) of :class:`CLUB`, trained by maximum likelihood (``fit``), and H(Y)
    by the entropy of y's Gaussian, estimated without bias in closed form
    (:func:`~iblearn.functional.doe_mi`, which says how this differs from the authors' code). Each
    is an upper bound on its entropy (H(Y)'s in expectation), so their difference is no bound
    (``bound`` is None): exact in expectation for a Gaussian y with q the true conditional, off either
    way elsewhere (a non-Gaussian y overstates H(Y), and so the MI). The paper's argument for it:
    unlike a lower bound from a critic, it is not capped at log N. Settings as for :class:`CLUB`.

    Example (a Gaussian y whose conditional is linear-Gaussian: the case where it is exact):
        >>> from iblearn.data import dense_gaussian
        >>> task = dense_gaussian(2)  # 2 x 2 dims, every pair correlated at 0.5
        >>> x, y = (v.float() for v in task.sample(4000, seed=0))
        >>> est = DoE(2, 2, hidden=(64,), lr=3e-3).fit(x, y, steps=300)
        >>> abs(float(est(x, y)) - task.mutual_information) < 0.06  # truth 0.2939
        True
    """

    name = "doe"
    bound: ClassVar[Bound] = None

    def _estimate(self, mean: Tensor, log_var: Tensor, y: Tensor) -> Tensor:
        return doe_mi(mean, log_var, y)
