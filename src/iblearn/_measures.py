"""The measures among many variables as one table: each a combination of total correlation and dual
total correlation, with its sign and the number of variables it is of. Read by
:mod:`iblearn.functional.multivariate` (the functions), :mod:`iblearn.functional.multivariate.estimate`
(standard errors and permutation nulls), the subset search and the command's ``--measure``; it imports
nothing, so the command reads it without torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor


@dataclass(frozen=True)
class MeasureSpec:
    """A measure among many variables as a combination of TC and DTC: ``tc * TC + dtc * DTC``.

    Attributes:
        name: the measure's name in code (``"o_information"``).
        label: how it is printed (``"O-information"``).
        tc, dtc: the coefficients of TC and DTC.
        signed: whether it takes either sign (its permutation test then compares absolute values);
            else it is never negative.
        variables: the number of variables it is of, where fixed (3 for the interaction information).
        fewest: the fewest variables an estimate of it takes: 3 for the O-information, which is 0 by
            definition for two (their TC and DTC are both their MI), so that resampling it gives no
            spread and testing it no p-value.
    """

    name: str
    label: str
    tc: int
    dtc: int
    signed: bool = False
    variables: int | None = None
    fewest: int = 2

    def of(self, tc: Tensor, dtc: Tensor) -> Tensor:
        """The measure from TC and DTC (DTC unused, and possibly NaN, where ``dtc`` is 0)."""
        return tc * self.tc + (dtc * self.dtc if self.dtc else 0)


#: Every measure among many variables, read by the functions of :mod:`iblearn.functional.multivariate`,
#: their standard errors and p-values
#: (:mod:`iblearn.functional.multivariate.estimate`), the subset search and the command's
#: ``--measure``: a new measure is one row here (and its function and test).
MEASURE_TABLE: dict[str, MeasureSpec] = {
    spec.name: spec
    for spec in (
        MeasureSpec("total_correlation", "total correlation", 1, 0),
        MeasureSpec("dual_total_correlation", "dual total correlation", 0, 1),
        MeasureSpec("o_information", "O-information", 1, -1, signed=True, fewest=3),
        MeasureSpec("s_information", "S-information", 1, 1),
        MeasureSpec("interaction_information", "interaction information", 1, -1, signed=True, variables=3),
    )
}
