"""Estimators by name, for configs and the command line.

A plain dict, filled here explicitly (not by import side effects). Add your own with :func:`register`.
"""

from __future__ import annotations

from typing import Any

from iblearn.estimators import nonparametric as kinds
from iblearn.estimators.base import REQUIRED, Estimator
from iblearn.estimators.neural import CLUB, FLO, JS, MINE, NWJ, SMILE, DoE, InfoNCE, MINEf
from iblearn.estimators.neural.aamine import AAMINE
from iblearn.estimators.neural.dim import DIM
from iblearn.estimators.neural.graph import DGI, GMI
from iblearn.estimators.neural.lmi import LMI
from iblearn.estimators.neural.mienf import MIENF
from iblearn.estimators.neural.minde import MINDE

REGISTRY: dict[str, type[Estimator]] = {
    "ksg": kinds.KSG,
    "mixed_ksg": kinds.MixedKSG,
    "binning": kinds.Binning,
    "gaussian": kinds.GaussianMI,
    "gaussian_classes": kinds.GaussianClasses,
    "quadratic_classes": kinds.QuadraticClasses,
    "renyi": kinds.RenyiMI,
    "mine": MINE,
    "mine_f": MINEf,
    "nwj": NWJ,
    "js": JS,
    "infonce": InfoNCE,
    "smile": SMILE,
    "flo": FLO,
    "club": CLUB,
    "doe": DoE,
    "lmi": LMI,
    "mienf": MIENF,
    "minde": MINDE,
    "aamine": AAMINE,
    "dim": DIM,
    "dgi": DGI,
    "gmi": GMI,
}


def register(name: str, cls: type[Estimator]) -> None:
    """Make ``cls`` available as ``get_estimator(name)``; refuses to replace an existing name."""
    if name in REGISTRY:
        raise ValueError(f"name: {name!r} is already registered to {REGISTRY[name].__name__}")
    if not (isinstance(cls, type) and issubclass(cls, Estimator)):
        raise ValueError(f"cls: expected an Estimator subclass, got {cls!r}")
    REGISTRY[name] = cls


def get_estimator(name: str, **settings: Any) -> Estimator:
    """An estimator by registry name, e.g. ``get_estimator("ksg", k=5)``."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"name: unknown estimator {name!r}; known: {', '.join(sorted(REGISTRY))}") from None
    declared = cls.declared.defaults
    if not cls.declared.open:
        unknown = sorted(set(settings) - set(declared))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a setting of {name}; it takes {', '.join(declared)}")
    missing = [k for k, default in declared.items() if default is REQUIRED and k not in settings]
    if missing:
        raise ValueError(f"settings: {name} needs {', '.join(missing)}, got {sorted(settings)}")
    return cls(**settings)
