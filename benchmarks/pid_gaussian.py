"""The Gaussian ~-PID (BROJA over Gaussian distributions) of iblearn's ``gaussian_pid`` against gpid
(Venkatesh et al. 2023), run from a checkout in its own virtual environment
(benchmarks/runners/pid_gpid.py), on gpid's examples: its three canonical sweeps (scalar target,
scripts/canonical_examples.py), the first system of its doubling example (scripts/doubling_example.py,
a 2-dimensional target whose PID is the sum of two scalar ones) and random covariances of vector
sources and targets. Run by ``python -m benchmarks.pid --gpid``; writes gpid.json and gpid.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import numpy as np

from iblearn.functional.multivariate.pid_gaussian import gaussian_broja_pid

GPID = "/work/peers/gpid/venv/bin/python"
GPID_CHECKOUT = "/work/peers/gpid/src-checkout"
#: The commit of github.com/praveenv253/gpid the checkout holds.
GPID_COMMIT = "b63967f18304521d727f81d7f50579ab616e753c"
RUNNER = os.path.join(os.path.dirname(__file__), "runners", "pid_gpid.py")


def _channel_cov(hx: np.ndarray, hy: np.ndarray, rho: float = 0.0, sy: float = 1.0) -> np.ndarray:
    """gpid's order (m, x, y): ``x = hx m + n_x``, ``y = hy m + n_y``, ``Cov(n_x, n_y) = rho``."""
    dm, dx, dy = hx.shape[1], hx.shape[0], hy.shape[0]
    w = rho * np.eye(dx, dy)
    return np.block(
        [
            [np.eye(dm), hx.T, hy.T],
            [hx, hx @ hx.T + np.eye(dx), hx @ hy.T + w],
            [hy, hy @ hx.T + w.T, hy @ hy.T + sy * np.eye(dy)],
        ]
    )


def cases() -> list[dict[str, Any]]:
    """gpid's examples, in its order (m, x, y)."""
    one = np.array([[1.0]])
    out = []
    for i, s2 in enumerate([1.0, 10.0, 100.0]):  # uix+ri: y = x + noise of variance s2
        cov = _channel_cov(one, one)
        cov[2, :2], cov[:2, 2] = cov[1, :2], cov[1, :2]
        cov[2, 2] = cov[1, 1] + s2
        out.append({"name": f"canonical uix+ri {i}", "cov": cov, "dims": [1, 1, 1]})
    for rho in (0.0, 0.5, 0.9):
        out.append(
            {"name": f"canonical uix+si rho={rho}", "cov": _channel_cov(one, 0 * one, rho), "dims": [1, 1, 1]}
        )
        out.append(
            {"name": f"canonical ri+si rho={rho}", "cov": _channel_cov(one, one, rho), "dims": [1, 1, 1]}
        )
    for gain in (0.0, 0.99, 2.0, 3.0):
        hx, hy = np.diag([gain, 1.0]), np.diag([1.0, np.sqrt(2)])
        out.append({"name": f"doubling gain={gain}", "cov": _channel_cov(hx, hy), "dims": [2, 2, 2]})
    rng = np.random.default_rng(0)
    for dims in ([2, 2, 2], [3, 2, 2], [2, 3, 1], [3, 3, 3]):
        a = rng.normal(size=(sum(dims), sum(dims)))
        out.append({"name": f"random {dims}", "cov": a @ a.T + np.eye(sum(dims)), "dims": dims})
    return out


def gpid_rows(python: str = GPID, checkout: str = GPID_CHECKOUT) -> list[dict[str, Any]]:
    """Each case's atoms (nats) by both libraries, their largest difference and CPU seconds."""
    todo = cases()
    payload = json.dumps([{**c, "cov": c["cov"].tolist()} for c in todo])
    env = {**os.environ, "PYTHONPATH": os.path.join(checkout, "src")}
    done = subprocess.run(
        [python, RUNNER], input=payload, capture_output=True, text=True, check=True, env=env
    )
    peer = {r["name"]: r for r in json.loads(done.stdout)}
    rows = []
    for c in todo:
        dm, dx, dy = c["dims"]
        order = [*range(dm, dm + dx + dy), *range(dm)]  # (x, y, m): iblearn's (x1, x2, target)
        start = time.process_time()
        parts, gap = gaussian_broja_pid(c["cov"][np.ix_(order, order)], (dx, dy, dm))
        spent = time.process_time() - start
        ours = [float(v) for v in parts]
        theirs = peer[c["name"]]["atoms"]
        rows.append(
            {
                "name": c["name"],
                "dims": c["dims"],
                "iblearn": ours,
                "gpid": theirs,
                "max_abs_diff_nats": max(abs(a - b) for a, b in zip(ours, theirs, strict=True)),
                "iblearn_gap_nats": gap,
                "iblearn_cpu_s": spent,
                "gpid_cpu_s": peer[c["name"]]["cpu_s"],
            }
        )
    return rows


def render_gpid(record: dict[str, Any]) -> str:
    """gpid.md: one row per case."""
    lines = [
        f"Gaussian ~-PID (BROJA over Gaussians): iblearn's `gaussian_broja_pid` against gpid "
        f"{record['provenance']['gpid'][:7]}, nats (redundancy / unique 1 / unique 2 / synergy).",
        "",
        "| case | dims (t, x1, x2) | iblearn | gpid | largest difference | iblearn's certified gap "
        "| iblearn s | gpid s |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def atoms(v: list[float]) -> str:
        return " / ".join(f"{a:.4f}" for a in v)

    for r in record["rows"]:
        gap = f"{r['iblearn_gap_nats']:.1e}" if "iblearn_gap_nats" in r else "-"
        lines.append(
            f"| {r['name']} | {tuple(r['dims'])} | {atoms(r['iblearn'])} | {atoms(r['gpid'])} | "
            f"{r['max_abs_diff_nats']:.1e} | {gap} | {r['iblearn_cpu_s']:.3f} | {r['gpid_cpu_s']:.3f} |"
        )
    return "\n".join(lines) + "\n"
