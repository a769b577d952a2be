"""The exact IB curve against dit's and embo's information bottleneck on random joints p(x, y).

For each size |X| x |Y| and seed, a joint drawn from a Dirichlet(1/2) is swept over the same 50 betas
(geometric, 1 to 200) by iblearn's ``ib_curve``, by embo (its ``beta_iter``, the per-beta solver its
``IB`` runs, called in this process: 3 random restarts, 100 iterations, rtol 1e-3, its defaults) and,
on the sizes named by ``--dit``, by dit (its ``InformationBottleneck`` optimizer from high beta to low,
each warm-started from the last, as its ``IBCurve`` sweeps). Reported:

* agreement: the largest amount by which a peer's point (I(X; T), I(T; Y)) lies above iblearn's curve
  (the upper concave envelope of its solutions, read at the peer's I(X; T)), in bits, with iblearn's
  curve of the same 50 betas and of 200 over the same range (between two betas the envelope is a chord
  of the concave curve, which a point found at a beta in between can pass); and the other way round,
  iblearn's points above the peer's envelope;
* the most a peer's point lies above iblearn's supporting lines (slope 1 / beta through its solution at
  each beta): above one, the peer's point beats iblearn's solution at that beta;
* which finds the better point where they differ: at each beta, the lower IB Lagrangian
  I(X; T) - beta I(T; Y) (a difference below 1e-9 nats is a tie);
* the Lagrangians against embo's at every beta: the most by which iblearn's I(X; T) - beta I(T; Y)
  exceeds embo's (nats; at most 0 where iblearn is as good at every beta), with iblearn at its default
  tolerance (1e-10) and at embo's (1e-3), by its default search and by its light one
  (``search="anneal"``: one annealing path down the betas), the light search's over the default's, and
  the thorough search's (``search="thorough"``: restarts, annealing both ways and cluster splits) against
  the default's both ways;
* time: thread CPU time of a 50-beta sweep, methods interleaved within each repetition, the median
  of ``--repeats``, iblearn at both tolerances and by each search; iblearn's without the critical
  betas (the peers find none), and with them (their cost is the difference); the CPU model and the
  kernels' instruction set are recorded beside them;
* a large joint: 1,000 x 2 over the default 50 betas, without the critical betas;
* the critical betas of cases with known transitions against their closed forms.

The peers run in a virtual environment of their own (they are not in the project's environment), through
``benchmarks/runners/ib_peer.py``, which times each sweep in its own process (thread CPU time, as
iblearn's here); the runs stay interleaved, one job at a time::

    python3 -m venv /tmp/embovenv && /tmp/embovenv/bin/pip install embo dit
    python benchmarks/exact_ib.py --peer-python /tmp/embovenv/bin/python --dit 8x2
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

import _prelude  # noqa: F401  (first: one thread for every library, the checkout on sys.path)
from benchmarks.runners import script
from iblearn import functional as ibf
from iblearn.functional.ib import iterate_np
from iblearn.functional.ib.exact import upper_envelope
from iblearn.functional.knn import kernel_isa
from iblearn.records import environment, write_json

PEER = Path(__file__).resolve().parent / "runners" / "ib_peer.py"
SIZES = [(8, 2), (16, 4), (24, 6), (32, 8), (64, 16)]
BETAS = np.geomspace(1.0, 200.0, 50)
BITS = 1 / math.log(2)
TIE = 1e-9


def joint(nx: int, ny: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.full(nx * ny, 0.5)).reshape(nx, ny)


def terms(pxy: np.ndarray, q_t_x: np.ndarray) -> tuple[float, float]:
    """I(X; T), I(T; Y) in nats of an encoder ``q_t_x (|X|, |T|)``."""
    px = pxy.sum(1)
    pxt = px[:, None] * q_t_x
    pty = q_t_x.T @ pxy
    qt, py = pxt.sum(0), pxy.sum(0)

    def mi(joint: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        mask = joint > 0
        return float((joint[mask] * np.log(joint[mask] / np.outer(a, b)[mask])).sum())

    return mi(pxt, px, qt), mi(pty, qt, py)


def ours(pxy: np.ndarray, **settings: Any) -> tuple[np.ndarray, np.ndarray]:
    """iblearn's curve without the critical betas, at ``settings`` of ``ib_curve`` (``tol=1e-3``: embo's
    tolerance, a relative change of the Lagrangian; ``search="anneal"``: the light search, one annealing
    path from the largest beta down)."""
    curve = ibf.ib_curve(pxy, BETAS, critical=False, **settings)
    return curve.i_xt.numpy(), curve.i_ty.numpy()


def excess(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """The most by which a's Lagrangian I(X; T) - beta I(T; Y) exceeds b's over the betas, nats."""
    return float(((a[0] - BETAS * a[1]) - (b[0] - BETAS * b[1])).max())


def large() -> dict[str, Any]:
    """1,000 x 2 (a Dirichlet(1/2) joint) over the default 50 betas, without the critical betas."""
    pxy = np.random.default_rng(0).dirichlet(np.full(2000, 0.5)).reshape(1000, 2)
    seconds, curve = timed(lambda p: ibf.ib_curve(p, critical=False), pxy)
    return {"nx": 1000, "ny": 2, "betas": 50, "seconds": seconds, "n_t": int(curve.encoders.shape[-1])}


def ours_dense(pxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same range at 4 times the betas: between two betas of the sweep the curve is drawn as a chord,
    which a peer's point at a beta in between can pass; the denser curve shows how much of a gap that is."""
    curve = ibf.ib_curve(pxy, np.geomspace(BETAS[0], BETAS[-1], 4 * len(BETAS)), critical=False)
    return curve.i_xt.numpy(), curve.i_ty.numpy()


def ours_critical(pxy: np.ndarray) -> int:
    return len(ibf.ib_curve(pxy, BETAS).critical_betas)


class Peers:
    """The peers' worker process (``runners/ib_peer.py`` in their venv), one sweep a line."""

    def __init__(self, python: str) -> None:
        self.proc = subprocess.Popen(
            [python, str(PEER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
        )
        self.versions: dict[str, str | None] = json.loads(self._read())

    def _read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the peers' worker stopped")
        return line

    def sweep(self, peer: str, pxy: np.ndarray) -> tuple[float, tuple[np.ndarray, np.ndarray]]:
        """The thread CPU seconds of ``peer``'s 50-beta sweep, and its I(X; T), I(T; Y) (nats)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"peer": peer, "pxy": pxy.tolist(), "betas": BETAS.tolist()}) + "\n")
        self.proc.stdin.flush()
        out = json.loads(self._read())
        if "error" in out:
            raise RuntimeError(f"{peer}: {out['error']}")
        return out["seconds"], (np.array(out["i_xt"]), np.array(out["i_ty"]))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def above(points: tuple[np.ndarray, np.ndarray], curve: tuple[np.ndarray, np.ndarray]) -> float:
    """The most any of ``points`` lies above the upper concave envelope of ``curve``'s points, bits."""
    ex, ey = upper_envelope(torch.tensor(curve[0]), torch.tensor(curve[1]))
    at = np.interp(points[0], ex.numpy(), ey.numpy())
    return float((points[1] - at).max()) * BITS


def above_lines(points: tuple[np.ndarray, np.ndarray], curve: tuple[np.ndarray, np.ndarray]) -> float:
    """The most any of ``points`` lies above the lowest of ``curve``'s supporting lines, bits: the line of
    slope 1 / beta through its point at each beta. A point above one of them has a lower Lagrangian at
    that beta than ``curve``'s solution there; none above any is what optimal solutions guarantee."""
    lines = curve[1][:, None] + (points[0][None, :] - curve[0][:, None]) / BETAS[:, None]
    return float((points[1] - lines.min(0)).max()) * BITS


def better(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[int, int]:
    """At how many betas a's Lagrangian is lower than b's, and b's lower than a's (beyond a tie)."""
    la, lb = a[0] - BETAS * a[1], b[0] - BETAS * b[1]
    return int((la < lb - TIE).sum()), int((lb < la - TIE).sum())


def timed(fn: Any, pxy: np.ndarray) -> tuple[float, Any]:
    """The thread CPU seconds of ``fn(pxy)`` in this process, and its answer."""
    gc.collect()  # the garbage of the method run before is not charged to this one
    start = time.thread_time()
    out = fn(pxy)
    return time.thread_time() - start, out


def critical_cases() -> list[dict[str, Any]]:
    def bsc(e: float) -> np.ndarray:
        return np.array([[0.5 * (1 - e), 0.5 * e], [0.5 * e, 0.5 * (1 - e)]])

    rng = np.random.default_rng(0)
    a, b = rng.random((3, 2)) ** 3, rng.random((2, 3)) ** 3
    block = np.zeros((5, 5))
    block[:3, :2], block[3:, 2:] = a / a.sum() / 2, b / b.sum() / 2
    cases: list[tuple[str, np.ndarray, list[float]]] = [
        (f"BSC eps={e}", bsc(e), [1 / (1 - 2 * e) ** 2]) for e in (0.05, 0.1, 0.2, 0.3)
    ]
    cases += [
        (f"BSC({e1}) x BSC({e2})", np.kron(bsc(e1), bsc(e2)), [1 / (1 - 2 * e1) ** 2, 1 / (1 - 2 * e2) ** 2])
        for e1, e2 in ((0.05, 0.2), (0.1, 0.25))
    ]
    cases.append(("two blocks (rho_m = 1)", block, [1.0]))
    out = []
    for name, pxy, expected in cases:
        found = ibf.ib_curve(pxy, np.geomspace(0.5, 20, 40)).critical_betas.tolist()
        # the cases' first transitions are known (a block's own splits come later)
        first = found[: len(expected)]
        worst = (
            max(abs(f / e - 1) for f, e in zip(first, expected, strict=True))
            if len(first) == len(expected)
            else math.inf
        )
        out.append(
            {
                "case": name,
                "analytic": expected,
                "found": found,
                "max_rel_error": worst,
            }
        )
    return out


def main(argv: list[str] | None = None) -> None:
    p = script.Parser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dit", default="8x2", help="sizes to run dit on, as 8x2,16x4 ('' for none): it is slow")
    p.add_argument("--peer-python", default="/tmp/embovenv/bin/python", help="the peers' venv's python")
    p.add_output(Path(__file__).resolve().parent / "results" / "exact_ib", "--results")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    dit_sizes = {tuple(int(v) for v in s.split("x")) for s in args.dit.split(",") if s}
    peers = Peers(args.peer_python)
    rows = []
    for nx, ny in SIZES:
        for seed in range(args.seeds):
            pxy = joint(nx, ny, seed)
            # each method gives its thread CPU seconds and its curve: iblearn's timed here, the peers' in
            # their worker
            methods: dict[str, Any] = {
                "iblearn": partial(timed, ours),
                "iblearn_tol_1e-3": partial(timed, partial(ours, tol=1e-3)),
                "embo": partial(peers.sweep, "embo"),
                "anneal": partial(timed, partial(ours, search="anneal")),
                "anneal_tol_1e-3": partial(timed, partial(ours, tol=1e-3, search="anneal")),
                "thorough": partial(timed, partial(ours, search="thorough")),
            }
            if (nx, ny) in dit_sizes and seed == 0:
                methods["dit"] = partial(peers.sweep, "dit")
            times: dict[str, list[float]] = {m: [] for m in methods}
            curves: dict[str, Any] = {}
            for _ in range(args.repeats if "dit" not in methods else 1):
                for name, fn in methods.items():  # interleaved: each repetition runs every method once
                    seconds, curves[name] = fn(pxy)
                    times[name].append(seconds)
            critical_time, n_critical = timed(ours_critical, pxy)
            dense = ours_dense(pxy)
            seconds = {m: statistics.median(t) for m, t in times.items()}
            row: dict[str, Any] = {
                "nx": nx,
                "ny": ny,
                "seed": seed,
                "seconds": seconds,
                "embo_over_iblearn": seconds["embo"] / seconds["iblearn"],
                "embo_over_iblearn_tol_1e-3": seconds["embo"] / seconds["iblearn_tol_1e-3"],
                "seconds_with_critical_betas": critical_time,
                "critical_over_sweep": (critical_time - seconds["iblearn"]) / seconds["iblearn"],
                "critical_betas_found": n_critical,
                "lagrangian_over_embo_nats": excess(curves["iblearn"], curves["embo"]),
                "lagrangian_over_embo_tol_1e-3_nats": excess(curves["iblearn_tol_1e-3"], curves["embo"]),
                **{f"embo_over_{m}": seconds["embo"] / seconds[m] for m in ("anneal", "anneal_tol_1e-3")},
                "anneal_over_embo_nats": excess(curves["anneal"], curves["embo"]),
                "anneal_over_embo_tol_1e-3_nats": excess(curves["anneal_tol_1e-3"], curves["embo"]),
                "anneal_over_iblearn_nats": excess(curves["anneal"], curves["iblearn"]),
                "anneal_over_iblearn_tol_1e-3_nats": excess(curves["anneal_tol_1e-3"], curves["iblearn"]),
                "embo_over_thorough": seconds["embo"] / seconds["thorough"],
                "thorough_over_iblearn_nats": excess(curves["thorough"], curves["iblearn"]),
                "iblearn_over_thorough_nats": excess(curves["iblearn"], curves["thorough"]),
            }
            for peer in methods:
                if peer.startswith(("iblearn", "anneal", "thorough")):
                    continue
                row[peer] = {
                    "peer_above_iblearn_bits": above(curves[peer], curves["iblearn"]),
                    "peer_above_iblearn_200_betas_bits": above(curves[peer], dense),
                    "peer_above_iblearn_lines_bits": above_lines(curves[peer], curves["iblearn"]),
                    "iblearn_above_peer_bits": above(curves["iblearn"], curves[peer]),
                    "betas_iblearn_better_peer_better": better(curves["iblearn"], curves[peer]),
                }
            rows.append(row)
            print(json.dumps(row), flush=True)
    record = {
        "betas": BETAS.tolist(),
        "rows": rows,
        "critical": critical_cases(),
        "large": large(),
        "peers": peers.versions,
        "environment": environment(),
        "cpu": script.cpu_model(),
        "kernel_isa": kernel_isa(),
        "ib_kernel_isa": iterate_np._iterate.ISA if iterate_np.HAVE_KERNEL else None,
    }
    peers.close()
    out = Path(args.results)
    write_json(out / "results.json", record)
    table = render(record)
    (out / "table.md").write_text(table, encoding="utf-8")
    print(table)


def render(record: dict[str, Any]) -> str:
    """The Markdown tables of a results.json record: the times, the agreement with embo, with dit (on
    the sizes dit ran), and the critical betas; one table each, so that each fits a page's width."""
    env = record["environment"]
    rows = record["rows"]
    light = all("embo_over_anneal" in r for r in rows)  # records of earlier versions have no light search
    lines = [
        f"Exact IB curve, 50 betas (1 to 200, geometric); commit {str(env['git_commit'])[:7]}, "
        f"{record.get('cpu') or env['machine']}"
        + (f", kernel {record['kernel_isa']}" if "kernel_isa" in record else "")
        + (f", IB kernel {record['ib_kernel_isa']}" if "ib_kernel_isa" in record else "")
        + f", {env['date']}; dit {record['peers']['dit']}, embo {record['peers']['embo']}.",
        "",
        "| size | seed | iblearn s | iblearn, tol 1e-3, s | embo s | embo / iblearn | same, tol 1e-3 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["seconds"]
        lines.append(
            f"| {r['nx']}x{r['ny']} | {r['seed']} | {s['iblearn']:.3f} | {s['iblearn_tol_1e-3']:.3f} "
            f"| {s['embo']:.3f} | {r['embo_over_iblearn']:.2f} | {r['embo_over_iblearn_tol_1e-3']:.2f} |"
        )
    lines += ["", "| size | seed | with critical betas s | critical betas / sweep | dit s |"]
    lines.append("|---|---|---|---|---|")
    for r in rows:
        s = r["seconds"]
        dit_s = f"{s['dit']:.1f}" if "dit" in s else "-"
        lines.append(
            f"| {r['nx']}x{r['ny']} | {r['seed']} | {r['seconds_with_critical_betas']:.3f} "
            f"| {r['critical_over_sweep']:.2f} | {dit_s} |"
        )
    for peer in ("embo", "dit"):
        lines += ["", *_agreement(peer, [r for r in rows if r.get(peer)])]
    lines += ["", "| case | analytic critical betas | found | largest relative error |", "|---|---|---|---|"]
    for c in record["critical"]:
        analytic = ", ".join(f"{v:.4f}" for v in c["analytic"])
        found = ", ".join(f"{v:.4f}" for v in c["found"])
        lines.append(f"| {c['case']} | {analytic} | {found} | {c['max_rel_error']:.1e} |")
    lines += [
        "",
        "| size | seed | iblearn's Lagrangian over embo's, most over the betas (nats) | same, tol 1e-3 |"
        + (
            " anneal's over embo's | same, tol 1e-3 | anneal's over iblearn's | same, tol 1e-3 |"
            if light
            else ""
        ),
        "|---|---|---|---|" + ("---|---|---|---|" if light else ""),
    ]
    keys = (
        [f"anneal_over_{m}{t}_nats" for m in ("embo", "iblearn") for t in ("", "_tol_1e-3")] if light else []
    )
    for r in rows:
        lines.append(
            f"| {r['nx']}x{r['ny']} | {r['seed']} | {r['lagrangian_over_embo_nats']:.2e} "
            f"| {r['lagrangian_over_embo_tol_1e-3_nats']:.2e} |" + "".join(f" {r[k]:.2e} |" for k in keys)
        )
    if "large" in record:
        big = record["large"]
        lines += [
            "",
            "| size | betas | iblearn s (no critical betas) | values of T used |",
            "|---|---|---|---|",
            f"| {big['nx']}x{big['ny']} | {big['betas']} | {big['seconds']:.2f} | {big['n_t']} |",
        ]
    if all("embo_over_thorough" in r for r in rows):
        lines += [
            "",
            "| size | seed | thorough s | embo / thorough | thorough's Lagrangian over the default's, most "
            "| the default's over the thorough's, most |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['nx']}x{r['ny']} | {r['seed']} | {r['seconds']['thorough']:.3f} "
                f"| {r['embo_over_thorough']:.2f} | {r['thorough_over_iblearn_nats']:.2e} "
                f"| {r['iblearn_over_thorough_nats']:.2e} |"
            )
    if light:  # a table of its own: beside the thorough search's it would not fit a page's width
        lines += ["", "| size | seed | anneal s | anneal, tol 1e-3, s | embo / anneal | same, tol 1e-3 |"]
        lines.append("|---|---|---|---|---|---|")
        for r in rows:
            s = r["seconds"]
            lines.append(
                f"| {r['nx']}x{r['ny']} | {r['seed']} | {s['anneal']:.4f} | {s['anneal_tol_1e-3']:.4f} "
                f"| {r['embo_over_anneal']:.2f} | {r['embo_over_anneal_tol_1e-3']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def _agreement(peer: str, rows: list[dict[str, Any]]) -> list[str]:
    """The table of ``peer`` against iblearn (bits; the betas where each has the lower Lagrangian)."""
    lines = [
        f"Against {peer}, in bits:",
        "",
        f"| size | seed | {peer} above iblearn | same, iblearn on 200 betas | {peer} above iblearn's lines "
        f"| iblearn above {peer} | betas better: iblearn / {peer} |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = ("peer_above_iblearn_bits", "peer_above_iblearn_200_betas_bits", "peer_above_iblearn_lines_bits")
    for r in rows:
        a = r[peer]
        cells = " | ".join(f"{a[k]:.2e}" for k in (*keys, "iblearn_above_peer_bits"))
        better = "{} / {}".format(*a["betas_iblearn_better_peer_better"])
        lines.append(f"| {r['nx']}x{r['ny']} | {r['seed']} | {cells} | {better} |")
    return lines


if __name__ == "__main__":
    main()
