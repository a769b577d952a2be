"""Phi-ID: the 16 atoms sum to the time-delayed MI and equal phyid's on a coupled process, local atoms
average to the atoms, a delayed copy's one atom, the derived measures, and bad input named."""

from __future__ import annotations

import math

import pytest
import torch

from iblearn.functional import phiid

torch.set_num_threads(1)


def coupled(n: int = 600, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    s = torch.zeros(n, 2, dtype=torch.float64)
    noise = torch.randn(n, 2, generator=g, dtype=torch.float64)
    for t in range(1, n):
        s[t, 0] = 0.4 * s[t - 1, 0] + 0.3 * s[t - 1, 1] + noise[t, 0]
        s[t, 1] = 0.3 * s[t - 1, 0] + 0.4 * s[t - 1, 1] + noise[t, 1]
    return s


@pytest.mark.parametrize("redundancy", ["mmi", "ccs"])
@pytest.mark.parametrize("method", ["gaussian", "discrete"])
def test_atoms_sum_to_the_tdmi_and_local_atoms_average_to_them(redundancy: str, method: str) -> None:
    s = coupled()
    if method == "discrete":
        s = (s > s.mean(0)).long()
    res = phiid(s, 1, redundancy=redundancy, method=method, local=True)  # type: ignore[arg-type]
    assert len(res.atoms) == 16
    assert float(sum(res.atoms.values())) == pytest.approx(float(res.tdmi), abs=1e-12)
    assert res.local is not None
    for name, value in res.atoms.items():
        assert res.local[name].shape == (599,)
        assert float(res.local[name].mean()) == pytest.approx(float(value), abs=1e-12)


def test_gaussian_tdmi_is_the_closed_form() -> None:
    s = coupled()
    z = torch.cat([s[:-1], s[1:]], 1)
    c = torch.corrcoef(z.T)
    closed = 0.5 * (torch.logdet(c[:2, :2]) + torch.logdet(c[2:, 2:]) - torch.logdet(c))
    assert float(phiid(s).tdmi) == pytest.approx(float(closed), abs=1e-12)


def test_derived_measures() -> None:
    res = phiid(coupled())
    a, mi = res.atoms, res.mutual_informations
    assert float(res.causal_emergence) == pytest.approx(float(a["str"] + a["stx"] + a["sty"] + a["sts"]))
    assert float(res.phi_wms) == pytest.approx(float(res.tdmi - mi["xtx"] - mi["yty"]))
    assert float(res.phi_r) == pytest.approx(float(res.phi_wms + a["rtr"]))


#: phyid's atoms of ``coupled()`` at lag 1 (phyid at commit f7fe791 of
#: Imperial-MIND-lab/integrated-info-decomp; nats for "gaussian", bits for "discrete" where phyid takes
#: log2 of the binarized series).
PHYID = {
    ("gaussian", "mmi"): {"rtr": 0.081466846, "xts": -0.03887857, "str": 0.071988395, "sts": 0.10078988},
    ("gaussian", "ccs"): {"rtr": 0.042768478, "xty": -0.011023773, "stx": 0.040287126, "sts": -0.026821744},
    ("discrete", "mmi"): {"rtr": 0.063980184, "ytr": 0.001097243, "str": 0.046005345, "sts": 0.046157489},
    ("discrete", "ccs"): {"rtr": 0.042542507, "xts": 0.078187323, "stx": 0.107802571, "sts": -0.074612775},
}


@pytest.mark.parametrize(("method", "redundancy"), sorted(PHYID))
def test_atoms_equal_phyid(method: str, redundancy: str) -> None:
    s = coupled()
    if method == "discrete":
        s = (s > s.mean(0)).long()
    res = phiid(s, 1, redundancy=redundancy, method=method)  # type: ignore[arg-type]
    unit = math.log(2) if method == "discrete" else 1.0
    for name, value in PHYID[method, redundancy].items():
        assert float(res.atoms[name]) / unit == pytest.approx(value, abs=1e-8)


def test_a_delayed_copy_is_unique_x_to_unique_y() -> None:
    # y_t = x_{t-1}, x fair coin flips: TDMI = 1 bit, all of it from x's past into y's future
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 2, (20000,), generator=g)
    s = torch.stack([x[1:], x[:-1]], 1)
    res = phiid(s, 1, method="discrete")
    assert float(res.atoms["xty"]) / math.log(2) == pytest.approx(1.0, abs=1e-3)
    assert max(abs(float(v)) for k, v in res.atoms.items() if k != "xty") < 1e-3


@pytest.mark.parametrize(
    ("series", "kwargs", "match"),
    [
        (torch.randn(50, 3), {}, "series: expected"),
        (torch.randn(3, 2), {"lag": 1}, "series: 3 steps"),
        (torch.randn(50, 2), {"method": "discrete"}, "series: method='discrete'"),
        (torch.randn(50, 2), {"redundancy": "min"}, "redundancy"),
        (torch.randn(50, 2), {"lag": 0}, "lag"),
    ],
)
def test_bad_input_is_named(series: torch.Tensor, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        phiid(series, **kwargs)
