"""What layers know: the information plane, the IB functional and its diagnosis (Amjad & Geiger 2019)."""

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
from iblearn.analysis.information_plane import InformationPlane, InformationPlaneCallback, data_joint
from iblearn.analysis.plane_result import InformationPlaneResult, PlanePoint

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
