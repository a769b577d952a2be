"""Conditional estimates: ``est(x, y, z=z)`` returns I(X; Y | Z) as an :class:`MIEstimate`.

An estimator that can condition (``KSG``, ``GaussianMI``) mixes in :class:`Conditional` and implements
:meth:`Conditional.cmi`; called without ``z`` it is the estimator it always was.
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor

from iblearn import _checks as V
from iblearn import functional as ibf
from iblearn.estimators.base import Estimator, MIEstimate, Permutations, _taken
from iblearn.functional import inference
from iblearn.parallel import check_n_jobs, permuted_estimates


class Conditional(Estimator):
    """Adds the conditioning variable ``z`` to ``est(x, y, ...)``.

    With ``z``, ``n_resamples`` resamples the rows of x, y and z together (as the estimator resamples
    without z), and ``n_permutations`` gives a p-value for X independent of Y given Z by the local
    permutation scheme of Runge (2018, Algorithm 1; :func:`iblearn.functional.local_permutations`):
    x is permuted only among samples whose z are near neighbours (within a class, for integer z).
    A global shuffle would test X independent of (Y, Z) instead, and reject whenever X depends on Z.
    One estimate is made per permutation; ``KSG`` counts the permutations of its prepared rows at once
    instead (:func:`iblearn.functional.ksg_cmi_test`, for a continuous z).
    """

    def cmi(self, x: Any, y: Any, z: Any) -> Tensor:
        """I(X; Y | Z) in nats as a 0-d tensor."""
        raise NotImplementedError

    def _unresampleable(self, x: Tensor, y: Tensor, z: Tensor) -> str | None:
        """Why resampling ``(x, y, z)`` cannot give a standard error, naming the argument at fault, or
        None: none known here (the Gaussian closed form knows one, a z that determines x or y)."""
        return None

    def forward(
        self,
        x: Any,
        y: Any,
        z: Any = None,
        *,
        n_resamples: int = 0,
        n_permutations: int = 0,
        seed: int = 0,
        n_jobs: int | None = None,
    ) -> MIEstimate:
        """Estimate I(X; Y), or I(X; Y | Z) if ``z`` is given.

        Args:
            x, y: samples as rows.
            z: the conditioning variable, ``(N, dz)`` floats or integer class labels ``(N,)``; None
                for the unconditional MI.
            n_resamples: if positive, a standard error from that many resamples of the rows.
            n_permutations: if positive, a p-value, ``(1 + #{perm >= obs}) / (1 + n_permutations)``:
                for independence (y's rows shuffled) without z, for conditional independence (x's rows
                permuted locally in z) with it.
            seed: seeds the resampling and the permutations.
            n_jobs: jobs for the permutations through joblib (see :meth:`Estimator.forward`).
        """
        if z is None:
            return super().forward(
                x, y, n_resamples=n_resamples, n_permutations=n_permutations, seed=seed, n_jobs=n_jobs
            )
        seed = self._checked_counts(n_resamples, n_permutations, seed)
        check_n_jobs(n_jobs)
        scale = 1.0 / math.log(self.base)
        value = self.cmi(x, y, z)
        xt, yt, zt = V.as_tensor(x, "x"), V.as_tensor(y, "y"), V.as_tensor(z, "z")
        n = int(xt.shape[0])
        asked = Permutations(float(value.detach()), n_permutations, seed, n_jobs)
        if (unspread := self._without_spread(value, xt, yt, zt, asked)) is not None:
            return unspread
        resampled = p_value = None
        if n_resamples and (why := self._unresampleable(xt, yt, zt)) is not None:
            raise ValueError(why)
        if n_resamples:
            resampled = self._resampled(
                n, n_resamples, seed, lambda rows: self.cmi(*_taken(rows, xt, yt, zt))
            )
        if n_permutations:
            p_value = self._conditional_p_value(xt, yt, zt, asked)
        result = self._estimate_of(value * scale, n, resampled, p_value, n_permutations, measure="cmi")
        return result

    def _conditional_p_value(self, x: Tensor, y: Tensor, z: Tensor, asked: Permutations) -> float:
        """The local permutation p-value of conditional independence: one estimate per permutation of x
        (:func:`iblearn.functional.local_permutations` of z, seeded with ``asked.seed``)."""
        # The neighbour search in z standardizes as the estimator's own search does (kNN estimators have
        # the setting; the others always standardize).
        standardize = bool(getattr(self, "standardize", True))
        perms = ibf.local_permutations(z, asked.count, standardize=standardize, seed=asked.seed)
        nulls = permuted_estimates(self.cmi, (x, y, z), perms, asked.n_jobs)
        return inference.p_value(asked.observed, nulls)
