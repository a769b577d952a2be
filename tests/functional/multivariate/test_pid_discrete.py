"""Exact discrete PIDs: the gates' known atoms per measure (dit 2.3's values, bits), the parts' sums,
the lattice of three sources, BROJA's certificate, and bad input named."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iblearn.functional import broja_pid, pid_distribution, pid_lattice

torch.set_num_threads(1)
BITS = math.log(2)
MEASURES = ("mmi", "min", "broja", "ccs", "dep", "sx")


def gate(outcomes: list[tuple[int, ...]], shape: tuple[int, ...]) -> np.ndarray:
    p = np.zeros(shape)
    for o in outcomes:
        p[o] += 1 / len(outcomes)
    return p


XOR = gate([(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)], (2, 2, 2))
AND = gate([(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 1, 1)], (2, 2, 2))
COPY = gate([(0, 0, 0), (0, 1, 1), (1, 0, 2), (1, 1, 3)], (2, 2, 4))
RDN = gate([(0, 0, 0), (1, 1, 1)], (2, 2, 2))
UNQ = gate([(0, 0, 0), (0, 1, 0), (1, 0, 1), (1, 1, 1)], (2, 2, 2))

#: (redundancy, unique_1, unique_2, synergy) in bits, as dit 2.3 gives them.
KNOWN = {
    ("XOR", "mmi"): (0, 0, 0, 1),
    ("XOR", "ccs"): (0, 0, 0, 1),
    ("XOR", "sx"): (-0.584963, 0.584963, 0.584963, 0.415037),
    ("AND", "mmi"): (0.311278, 0, 0, 0.5),
    ("AND", "min"): (0.311278, 0, 0, 0.5),
    ("AND", "broja"): (0.311278, 0, 0, 0.5),
    ("AND", "ccs"): (0.103759, 0.207519, 0.207519, 0.292481),
    ("AND", "dep"): (0.081704, 0.229574, 0.229574, 0.270426),
    ("AND", "sx"): (0.122556, 0.188722, 0.188722, 0.311278),
    ("COPY", "mmi"): (1, 0, 0, 1),
    ("COPY", "min"): (1, 0, 0, 1),
    ("COPY", "broja"): (0, 1, 1, 0),
    ("COPY", "ccs"): (0, 1, 1, 0),
    ("COPY", "dep"): (0, 1, 1, 0),
    ("COPY", "sx"): (0.415037, 0.584963, 0.584963, 0.415037),
    ("UNQ", "broja"): (0, 1, 0, 0),
    ("UNQ", "sx"): (0.415037, 0.584963, -0.415037, 0.415037),
}
GATES = {"XOR": XOR, "AND": AND, "COPY": COPY, "RDN": RDN, "UNQ": UNQ}


@pytest.mark.parametrize(("name", "measure"), sorted(KNOWN))
def test_gate_atoms_equal_dit(name: str, measure: str) -> None:
    parts = pid_distribution(GATES[name], measure)  # type: ignore[arg-type]
    got = [float(v) / BITS for v in parts]
    assert got == pytest.approx(KNOWN[name, measure], abs=2e-6)


@pytest.mark.parametrize("measure", MEASURES)
def test_xor_is_one_bit_of_synergy_rdn_one_of_redundancy(measure: str) -> None:
    if measure != "sx":
        assert float(pid_distribution(XOR, measure).synergy) / BITS == pytest.approx(1, abs=1e-9)  # type: ignore[arg-type]
    assert float(pid_distribution(RDN, measure).redundancy) / BITS == pytest.approx(1, abs=1e-9)  # type: ignore[arg-type]


@pytest.mark.parametrize("measure", MEASURES)
def test_parts_sum_to_the_joint_information_and_each_source_is_red_plus_unique(measure: str) -> None:
    p = np.random.default_rng(3).dirichlet(np.ones(18)).reshape(3, 2, 3)
    parts = pid_distribution(p, measure)  # type: ignore[arg-type]
    mmi = pid_distribution(p, "mmi")  # I(X1; T) = mmi's redundancy + unique_1, and so on
    i1, i2 = float(mmi.redundancy + mmi.unique_1), float(mmi.redundancy + mmi.unique_2)
    assert float(parts.total) == pytest.approx(float(mmi.total), abs=1e-12)
    assert float(parts.redundancy + parts.unique_1) == pytest.approx(i1, abs=1e-9)
    assert float(parts.redundancy + parts.unique_2) == pytest.approx(i2, abs=1e-9)


def test_measures_order_redundancy_on_a_random_table() -> None:
    # BROJA's redundancy is the least of every PID whose unique parts depend on the (x_i, t) marginals
    # only (Bertschinger et al., Lemma 3), I_min's and mmi's among them; I_min is at most mmi.
    for seed in range(3):
        p = np.random.default_rng(seed).dirichlet(np.ones(12)).reshape(2, 3, 2)
        red = {m: float(pid_distribution(p, m).redundancy) for m in ("broja", "min", "mmi")}
        assert red["broja"] <= red["min"] + 1e-9 <= red["mmi"] + 2e-9


def test_broja_certifies_its_optimum() -> None:
    p = np.random.default_rng(7).dirichlet(np.ones(27)).reshape(3, 3, 3)
    parts, gap = broja_pid(p)
    assert 0 <= gap < 1e-9
    assert min(float(parts.unique_1), float(parts.unique_2), float(parts.synergy)) > -1e-9


def test_a_torch_table_and_its_labels_are_accepted() -> None:
    parts = pid_distribution(torch.tensor(AND, dtype=torch.float32), "ccs")
    assert float(parts.redundancy) / BITS == pytest.approx(0.103759, abs=1e-5)


def test_three_source_lattice_of_xor_and_copy() -> None:
    xor3 = np.zeros((2, 2, 2, 2))
    for x in range(8):
        b = [(x >> i) & 1 for i in range(3)]
        xor3[b[0], b[1], b[2], sum(b) % 2] = 1 / 8
    for measure in ("mmi", "min", "ccs", "sx"):
        atoms = pid_lattice(xor3, measure)  # type: ignore[arg-type]
        assert len(atoms) == 18
        assert float(sum(atoms.values())) / BITS == pytest.approx(1, abs=1e-9)
    atoms = pid_lattice(xor3, "mmi")
    assert float(atoms["{123}"]) / BITS == pytest.approx(1, abs=1e-9)
    assert max(abs(float(v)) for k, v in atoms.items() if k != "{123}") < 1e-9


def test_two_source_lattice_equals_the_parts() -> None:
    atoms = pid_lattice(AND, "sx")
    parts = pid_distribution(AND, "sx")
    assert [float(atoms[k]) for k in ("{1}{2}", "{1}", "{2}", "{12}")] == pytest.approx(
        [float(v) for v in parts], abs=1e-12
    )


@pytest.mark.parametrize(
    ("p", "redundancy", "match"),
    [
        (np.ones((2, 2)) / 4, "mmi", "p: expected a joint table"),
        (-AND, "mmi", "p: has negative"),
        (AND * 2, "mmi", "p: must sum to 1"),
        (np.full((2, 2, 2), np.nan), "mmi", "p: contains NaN"),
        (AND, "wb", "redundancy"),
        (np.ones((2, 2, 2, 2)) / 16, "ccs", "pid_lattice"),
    ],
)
def test_bad_input_is_named(p: np.ndarray, redundancy: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pid_distribution(p, redundancy)  # type: ignore[arg-type]


def test_lattice_refuses_two_source_only_measures() -> None:
    with pytest.raises(ValueError, match="redundancy"):
        pid_lattice(np.ones((2, 2, 2, 2)) / 16, "broja")  # type: ignore[arg-type]


def test_parts_print_as_plain_numbers():
    """Four tensor reprs with their dtypes bury the values; the parts print as numbers in nats."""
    from iblearn.functional import local_pid

    text = repr(pid_distribution(torch.as_tensor(XOR)))
    assert "tensor" not in text and "dtype" not in text and len(text) < 120
    assert text.startswith("PIDParts(redundancy=0.0000, unique_1=0.0000, unique_2=0.0000, synergy=")
    assert f"synergy={math.log(2):.4f}, nats)" in text
    x1, x2 = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1])
    local = repr(local_pid(x1, x2, x1 ^ x2))
    assert "tensor" not in local and "means of (4,) local values" in local
    from iblearn.functional.multivariate.core import PIDParts

    tiny = torch.tensor(-1e-12, dtype=torch.float64)
    assert "unique_1=0.0000" in repr(PIDParts(tiny * 0, tiny, tiny * 0, tiny * 0))  # not -0.0000
