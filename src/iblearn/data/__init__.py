"""Data: tasks whose information measures are known exactly (:mod:`iblearn.data.tasks`) and offline-first
loaders of real data sets (:mod:`~iblearn.data.vision`, :mod:`~iblearn.data.tabular`,
:mod:`~iblearn.data.graphs`), and the 12-bit task of Shwartz-Ziv & Tishby (:mod:`~iblearn.data.bits`)."""

# The names of the tasks, listed once: in iblearn.data.tasks.__all__.
from iblearn.data.tasks import *  # noqa: F403
from iblearn.data.tasks import __all__ as __all__
