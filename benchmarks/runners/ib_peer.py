"""The IB peers of ``benchmarks/exact_ib.py``, embo and dit, run in their own virtual environment (it
imports numpy and the peers alone, never iblearn): ``<peer python> ib_peer.py``.

Each line on stdin is a JSON job ``{"peer": "embo" or "dit", "pxy": [[...]], "betas": [...]}``; each line
written back is ``{"seconds": thread CPU seconds of the sweep, "i_xt": [...], "i_ty": [...]}`` in nats, or
``{"error": message}``. A first line reports the peers' versions (null for one that is not installed).

embo: its ``beta_iter``, the per-beta solver its ``IB`` runs (3 random restarts, 100 iterations, rtol
1e-3, its defaults). dit: its ``InformationBottleneck`` optimizer from high beta to low, each beta
warm-started from the last, as its ``IBCurve`` sweeps.
"""

from __future__ import annotations

import gc
import json
import math
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np


def _mi(joint: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    mask = joint > 0
    return float((joint[mask] * np.log(joint[mask] / np.outer(a, b)[mask])).sum())


def _terms(pxy: np.ndarray, q_t_x: np.ndarray) -> tuple[float, float]:
    """I(X; T), I(T; Y) in nats of an encoder ``q_t_x (|X|, |T|)``."""
    px = pxy.sum(1)
    pxt = px[:, None] * q_t_x
    pty = q_t_x.T @ pxy
    return _mi(pxt, px, pxt.sum(0)), _mi(pty, pty.sum(1), pxy.sum(0))


def embo_sweep(pxy: np.ndarray, betas: np.ndarray) -> tuple[list[float], list[float]]:
    from embo.core import InformationBottleneck  # type: ignore[import-not-found]

    px, py = pxy.sum(1), pxy.sum(0)
    pyx_c = pxy.T / px
    rows = [
        InformationBottleneck.beta_iter(1, b, px, py, pyx_c, px.size, restarts=3, iterations=100, rtol=1e-3)
        for b in betas
    ]
    return [r[0] * math.log(2) for r in rows], [r[1] * math.log(2) for r in rows]  # from bits


def dit_sweep(pxy: np.ndarray, betas: np.ndarray) -> tuple[list[float], list[float]]:
    import dit  # type: ignore[import-not-found]
    from dit.rate_distortion.information_bottleneck import (  # type: ignore[import-not-found]
        InformationBottleneck,
    )

    dist = dit.Distribution.from_ndarray(pxy)
    bn = InformationBottleneck(dist, beta=0.0, rvs=[[0], [1]], bound=pxy.shape[0])
    i_xt, i_ty, x0 = [], [], None
    for b in betas[::-1]:  # from high beta down, each warm-started (dit's IBCurve.compute)
        bn._beta = b
        bn.optimize(x0=x0)
        x0 = bn._optima.copy()
        q_xyzt = bn.construct_joint(x0)
        q_xt = q_xyzt.reshape(pxy.shape[0], pxy.shape[1], -1, q_xyzt.shape[-1]).sum(axis=(1, 2))
        q_t_x = q_xt / np.maximum(q_xt.sum(1, keepdims=True), 1e-300)
        a, c = _terms(pxy, q_t_x)
        i_xt.append(a)
        i_ty.append(c)
    return i_xt[::-1], i_ty[::-1]


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def answer(job: dict[str, Any]) -> dict[str, Any]:
    sweep = {"embo": embo_sweep, "dit": dit_sweep}[job["peer"]]
    pxy, betas = np.asarray(job["pxy"], dtype=np.float64), np.asarray(job["betas"], dtype=np.float64)
    gc.collect()  # the garbage of the job before is not charged to this one
    start = time.thread_time()
    try:
        i_xt, i_ty = sweep(pxy, betas)
    except Exception as err:  # reported, not raised: the benchmark says which peer failed and why
        return {"error": f"{type(err).__name__}: {err}"}
    return {"seconds": time.thread_time() - start, "i_xt": i_xt, "i_ty": i_ty}


def main() -> None:
    print(json.dumps({name: _version(name) for name in ("embo", "dit")}), flush=True)
    for line in sys.stdin:
        print(json.dumps(answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
