"""What an estimate is: :class:`MIEstimate`, the number and what the estimator knows about it.

``MIEstimate`` is the public name of what an estimator returns (``iblearn.MIEstimate``, the README's);
it is the one result type of every measure, :class:`iblearn.functional.inference.Estimate`, whose
``repr`` reads ``Estimate(...)``.
"""

from __future__ import annotations

from iblearn.functional.inference import Bound as Bound
from iblearn.functional.inference import Estimate
from iblearn.functional.inference import unit_name as unit_name

#: The estimators' result: :class:`~iblearn.functional.inference.Estimate`.
MIEstimate = Estimate

__all__ = ["Bound", "Estimate", "MIEstimate", "unit_name"]
