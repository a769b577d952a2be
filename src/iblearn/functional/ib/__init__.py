"""The exact information bottleneck of a discrete or Gaussian joint: the solver on distributions.

Floors, each importing only those below it: the result and its envelope (:mod:`.result`); the
deterministic encoders (:mod:`.deterministic`); the self-consistent iteration (:mod:`.iterate`); the
sweep across beta (:mod:`.solver`); the critical betas (:mod:`.critical`); the curves (:mod:`.exact`).
Drawing a curve is :func:`iblearn.analysis.plot_ib_curve`.
"""

from iblearn.functional.ib.exact import IBCurve, default_betas, dib_exhaustive, gaussian_ib_curve, ib_curve

__all__ = ["IBCurve", "default_betas", "dib_exhaustive", "gaussian_ib_curve", "ib_curve"]
