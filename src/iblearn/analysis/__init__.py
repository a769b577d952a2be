"""What layers know: the information plane, the IB functional and its diagnosis (Amjad & Geiger 2019).

:class:`InformationPlaneCallback` is imported on first use: it imports PyTorch Lightning, which takes
seconds that a user of the IB curve or the recorder alone should not wait for.
"""

from typing import TYPE_CHECKING, Any

from iblearn.analysis.ib import (
    IBFunctional,
    LayerDiagnosis,
    diagnose_ib,
    ib_decision,
    ib_functional,
    ib_noisy,
    ib_quantized,
    ib_soft,
    plot_ib_curve,
)
from iblearn.analysis.information_plane import InformationPlane, data_joint
from iblearn.analysis.plane_result import InformationPlaneResult, PlanePoint

if TYPE_CHECKING:
    from iblearn.analysis.plane_callback import InformationPlaneCallback

__all__ = [
    "IBFunctional",
    "InformationPlane",
    "InformationPlaneCallback",
    "InformationPlaneResult",
    "LayerDiagnosis",
    "PlanePoint",
    "data_joint",
    "diagnose_ib",
    "ib_decision",
    "ib_functional",
    "ib_noisy",
    "ib_quantized",
    "ib_soft",
    "plot_ib_curve",
]


def __getattr__(name: str) -> Any:
    if name == "InformationPlaneCallback":
        from iblearn.analysis.plane_callback import InformationPlaneCallback

        return InformationPlaneCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
