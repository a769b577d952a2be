"""One network inference by a peer library, run in that peer's own virtual environment:

    PEER_PYTHON benchmarks/runners/network_peer.py REQUEST.json

The request names the library (``idtxl`` or ``tigramite``), the data file (``.npy``, ``(T, P)``) and
the settings; the answer, one JSON line on stdout, holds the found edges ``[source, target, lag]``
(also without the correction across targets, ``edges_uncorrected``; tigramite's with every
lagged link's p-value, ``p_links``), the CPU seconds of the inference in this process (the JVM's
threads included), and the library's version.
Imports nothing of iblearn: the peers' venvs do not have it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np


def idtxl_edges(data: np.ndarray, s: dict[str, Any]) -> tuple[list[list[int]], list[list[int]]]:
    """IDTxl's MultivariateTE with JIDT's KSG CMI (k = 4; ``JidtGaussianCMI`` where the test is
    ``"gaussian"``) on one thread, every test at alpha with the same surrogate count: the edges with
    its FDR correction across targets, and without it (one analysis read both ways)."""
    from idtxl.data import Data
    from idtxl.multivariate_te import MultivariateTE

    n = s["n_permutations"]
    settings = {
        "cmi_estimator": "JidtGaussianCMI" if s.get("test") == "gaussian" else "JidtKraskovCMI",
        "kraskov_k": 4,
        "num_threads": 1,
        "max_lag_sources": s["max_lag"],
        "min_lag_sources": s["min_lag"],
        "max_lag_target": s["max_lag"],
        "n_perm_max_stat": n,
        "n_perm_min_stat": n,
        "n_perm_omnibus": n,
        "n_perm_max_seq": n,
        "alpha_max_stat": s["alpha"],
        "alpha_min_stat": s["alpha"],
        "alpha_omnibus": s["alpha"],
        "alpha_max_seq": s["alpha"],
        "fdr_correction": True,
        # 2 (its default): Benjamini-Yekutieli's constant; 1: Benjamini-Hochberg.
        "fdr_constant": s.get("fdr_constant", 2),
        "verbose": False,
    }
    targets = s.get("targets") or list(range(data.shape[1]))
    results = MultivariateTE().analyse_network(
        settings=settings, data=Data(data, dim_order="sp", normalise=True), targets=targets
    )
    found: dict[bool, list[list[int]]] = {True: [], False: []}
    for fdr, edges in found.items():
        for t in targets:
            try:
                single = results.get_single_target(t, fdr=fdr)
            except (RuntimeError, KeyError, AttributeError):
                continue
            for source, lag in single["selected_vars_sources"] or []:
                edges.append([int(source), int(t), int(lag)])
    return found[True], found[False]


def tigramite_edges(
    data: np.ndarray, s: dict[str, Any]
) -> tuple[list[list[int]], list[list[int]], list[list[float]]]:
    """PCMCI with ParCorr (or CMIknn, its defaults but for shuffle tests of the same surrogate count on
    one thread), model selection over tigramite's own list of ``pc_alpha``: one analysis read twice,
    the links at alpha with p-values corrected by Benjamini-Hochberg over all lagged links
    (``fdr_method="fdr_bh"``) and uncorrected (``"none"``), and every lagged link's p-value
    ``[source, target, lag, p]`` (the links Benjamini-Hochberg corrects over); with ``targets``, the
    links into those targets only.

    CMIknn's shuffle test calls ``np.corrcoef(..., ddof=0)``, which NumPy 2.4 no longer takes: the venv
    needs ``numpy<2.4``, and ``scikit-learn`` for CMIknn's model selection (``pc_alpha=None``)."""
    from tigramite import data_processing as pp
    from tigramite.pcmci import PCMCI

    if s["test"] == "cmiknn":
        from tigramite.independence_tests.cmiknn import CMIknn

        # workers=1: its neighbour searches on the one thread the other libraries get.
        test = CMIknn(significance="shuffle_test", sig_samples=s["n_permutations"], workers=1)
    else:
        from tigramite.independence_tests.parcorr import ParCorr

        test = ParCorr()
    lags = {"tau_min": s["min_lag"], "tau_max": s["max_lag"]}
    nodes, candidates = range(data.shape[1]), range(s["min_lag"], s["max_lag"] + 1)
    kept = set(s.get("targets") or nodes)
    assumed = None
    if s.get("targets"):
        # Only the given targets' candidate links are tested; the other processes' parents are then
        # not searched, so the MCI conditions hold the target's parents but not its sources'.
        assumed = {
            j: {(i, -tau): "-?>" for i in nodes for tau in candidates} if j in kept else {} for j in nodes
        }
    pcmci = PCMCI(dataframe=pp.DataFrame(data), cond_ind_test=test, verbosity=0)
    res = pcmci.run_pcmci(**lags, pc_alpha=None, link_assumptions=assumed)
    read = []
    for method in ("fdr_bh", "none"):
        q = pcmci.get_corrected_pvalues(
            p_matrix=res["p_matrix"], fdr_method=method, link_assumptions=assumed, **lags
        )
        found = np.argwhere(q <= s["alpha"])
        read.append([[int(i), int(j), int(tau)] for i, j, tau in found if i != j and tau >= s["min_lag"]])
    p = res["p_matrix"]
    p_links = [[i, j, tau, float(p[i, j, tau])] for j in sorted(kept) for i in nodes for tau in candidates]
    return read[0], read[1], p_links


def main() -> None:
    request = json.loads(open(sys.argv[1], encoding="utf-8").read())
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = np.load(request["data"])
    library = request["library"]
    start = time.process_time()
    answer: dict[str, Any] = {}
    if library == "idtxl":
        answer["edges"], answer["edges_uncorrected"] = idtxl_edges(data, request["settings"])
    else:
        answer["edges"], answer["edges_uncorrected"], answer["p_links"] = tigramite_edges(
            data, request["settings"]
        )
    seconds = time.process_time() - start
    from importlib.metadata import version

    name = "idtxl-uv" if library == "idtxl" else "tigramite"
    print(json.dumps(answer | {"seconds": seconds, "version": version(name), "numpy": np.__version__}))


if __name__ == "__main__":
    main()
