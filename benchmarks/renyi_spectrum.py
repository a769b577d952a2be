"""The matrix-based Renyi entropies and MI of the library's Gram matrices by each way of reading their
spectrum, against the exact float64 answer: the exact float32 path (its round-off tail read as a
geometric sequence, and the former reading that drops it), and the truncated spectrum in float32 and
float64 with its interval. One torch thread, CPU, about ten minutes.

    python benchmarks/renyi_spectrum.py                  # n = 1,024, 2,048, 4,096; alpha 1.01, 0.5, 3
    python benchmarks/renyi_spectrum.py --sizes 1024 --resume

The truth is the Renyi entropy of the float64 eigenvalues of the float64 Gram matrix (``eigvalsh``,
negative round-off set to 0), with no floor. Each data set is a pair (x, y) of seed 0; y may be
integer labels (the delta kernel). Writes benchmarks/results/renyi_spectrum/results.json (the rows,
a summary per path and alpha, the environment) and table.md; the record is rewritten after each data
set, and ``--resume`` keeps the rows of the same settings.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

import _prelude  # noqa: F401  (one thread for every library, the checkout's root on sys.path)
from benchmarks.runners.script import cpu_model, parser
from iblearn.functional import gram_matrix, joint_gram, renyi_mi, truncated_entropy
from iblearn.functional.renyi.entropy import DEFAULT_ALPHA, SPECTRUM_TOL, _spectrum_entropy
from iblearn.functional.renyi.spectrum import N_FLOOR
from iblearn.records import atomic_write_text, environment, write_json

ALPHAS = (DEFAULT_ALPHA, 0.5, 3.0)
SIZES = (1024, 2048, 4096)
PATHS = ("exact32", "exact32_dropped", "truncated32", "truncated64")
#: An interval "holds" the float64 value within this much (nats) of round-off in the interval's dtype:
#: 1e-5 is about 64 float32 epsilons of an entropy of 1 to 6 nats.
ROUND_OFF = {"32": 1e-5, "64": 1e-10}


def _pair(name: str, n: int) -> tuple[Tensor, Tensor]:
    """The data set ``name``: x (n, d) float64 and y, float64 or integer labels; seed 0."""
    g = torch.Generator().manual_seed(0)

    def normal(d: int) -> Tensor:
        return torch.randn(n, d, generator=g, dtype=torch.float64)

    def student(d: int, df: float = 3.0) -> Tensor:  # normal / sqrt(chi2 / df)
        chi2 = 2 * torch._standard_gamma(torch.full((n, 1), df / 2, dtype=torch.float64), generator=g)
        return normal(d) / torch.sqrt(chi2 / df)

    if name == "gaussian-10d-y3":  # the GPU check's row: y = x[:, :3] + noise
        x = normal(10)
        return x, x[:, :3] + normal(3)
    if name in ("gaussian-2d", "gaussian-20d"):
        d = int(name.split("-")[1][:-1])
        x = normal(d)
        return x, x + normal(d)
    if name == "student-t3-5d":
        x = student(5)
        return x, x + student(5)
    if name == "uniform-5d":
        x = torch.rand(n, 5, generator=g, dtype=torch.float64)
        return x, x + 0.5 * torch.rand(n, 5, generator=g, dtype=torch.float64)
    if name == "gaussian-10d-labels4":  # y: which of x's first 4 columns, plus noise, is largest
        x = normal(10)
        return x, torch.argmax(x[:, :4] + normal(4), dim=1)
    raise ValueError(name)


DATA = (
    "gaussian-10d-y3",
    "gaussian-2d",
    "gaussian-20d",
    "student-t3-5d",
    "uniform-5d",
    "gaussian-10d-labels4",
)


def _truth(lam: Tensor, alpha: float) -> float:
    """S_alpha of float64 eigenvalues, negatives (round-off) set to 0, no floor."""
    p = lam.clamp_min(0)
    p = p[p > 0] / p.sum()
    if alpha == 1.0:
        return float(-(p * p.log()).sum())
    return float(torch.log((p**alpha).sum()) / (1 - alpha))


def _dropped(lam: Tensor, alpha: float) -> float:
    """The former reading of the exact path: eigenvalues under N_FLOOR * eps * lambda_max dropped, the
    rest renormalized to sum to one."""
    floor = torch.finfo(lam.dtype).eps * N_FLOOR * lam.max()
    p = lam[lam > floor].double()
    p = p / p.sum()
    return float(torch.log((p**alpha).sum()) / (1 - alpha))


def _former_reading(lam: Tensor, alpha: float) -> Tensor:
    """The former reading as the library computed it (differentiable, in ``lam``'s dtype), for the cost
    comparison: eigenvalues under the floor set to 0, the rest renormalized; the log1p form near
    alpha = 1 and the log of the power sum far from it."""
    real = lam > torch.finfo(lam.dtype).eps * N_FLOOR * lam.max().detach()
    lam = torch.where(real, lam, torch.zeros_like(lam))
    lam = lam / lam.sum()
    safe = torch.where(real, lam, torch.ones_like(lam))
    excess = (lam * torch.expm1((alpha - 1) * torch.log(safe))).sum()
    near = excess.detach() > -0.5
    power_sum = torch.where(real, safe**alpha, torch.zeros_like(lam)).sum()
    small = torch.log1p(torch.where(near, excess, torch.zeros_like(excess)))
    large = torch.log(torch.where(near, torch.ones_like(power_sum), power_sum))
    return torch.where(near, small, large) / (1 - alpha)


#: The cost comparison's Gram matrices (rows, dimensions of a Gaussian sample) and repetitions: wide
#: samples have no eigenvalue under float32's floor, narrow ones a tail.
COST_CASES = ((64, 10, 2000), (64, 2, 2000), (128, 64, 1500), (256, 64, 600), (256, 10, 600), (1024, 10, 100))


def reading_cost() -> list[dict[str, Any]]:
    """Thread CPU time of the tail reading (the library's) against the former one, forward and backward
    from float32 eigenvalues at alpha = 1.01, the two interleaved (their order alternating) over many
    repetitions; the median of each, and the whole float32 ``eigvalsh`` + reading for scale."""
    out = []
    for n, d, reps in COST_CASES:
        g = torch.Generator().manual_seed(0)
        k = gram_matrix(torch.randn(n, d, generator=g))
        lam = torch.linalg.eigvalsh(k)
        readings = {"tail": _spectrum_entropy, "former": _former_reading}
        ms: dict[str, list[float]] = {"tail": [], "former": [], "eigvalsh": []}
        for i in range(reps):
            for name in ("tail", "former") if i % 2 == 0 else ("former", "tail"):
                leaf = lam.clone().requires_grad_()
                start = time.thread_time_ns()
                readings[name](leaf, DEFAULT_ALPHA).backward()
                ms[name].append((time.thread_time_ns() - start) / 1e6)
            if i < max(reps // 10, 5):
                leaf = k.clone().requires_grad_()
                start = time.thread_time_ns()
                torch.linalg.eigvalsh(leaf).sum().backward()
                ms["eigvalsh"].append((time.thread_time_ns() - start) / 1e6)
        med = {name: statistics.median(v) for name, v in ms.items()}
        real = lam > torch.finfo(lam.dtype).eps * N_FLOOR * lam.max()
        out.append(
            {
                "n": n,
                "d": d,
                "repetitions": reps,
                "under_floor": int((~real).sum()),
                "tail_ms": med["tail"],
                "former_ms": med["former"],
                "extra_ms": med["tail"] - med["former"],
                "eigvalsh_fwd_bwd_ms": med["eigvalsh"],
                "extra_of_entropy": (med["tail"] - med["former"]) / (med["eigvalsh"] + med["former"]),
            }
        )
        print(out[-1], flush=True)
    return out


def _timed(run: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``run(*args)`` and its wall-clock seconds."""
    start = time.perf_counter()
    value = run(*args)
    return value, time.perf_counter() - start


def measure(name: str, n: int) -> list[dict[str, Any]]:
    """Rows for the data set ``name`` at ``n``: one per matrix (x, y, joint) and alpha, with every path's
    entropy, and one per alpha for the MI (``matrix`` "mi"); plus the end-to-end renyi_mi times."""
    x, y = _pair(name, n)
    grams64 = {"x": gram_matrix(x), "y": gram_matrix(y).double()}
    grams32 = {"x": gram_matrix(x.float()), "y": gram_matrix(y if not y.is_floating_point() else y.float())}
    grams64["joint"] = joint_gram(grams64["x"], grams64["y"])
    grams32["joint"] = joint_gram(grams32["x"], grams32["y"].float())
    rows: list[dict[str, Any]] = []
    for matrix in ("x", "y", "joint"):
        k64, k32 = grams64[matrix], grams32[matrix].float()
        lam64, t64 = _timed(torch.linalg.eigvalsh, k64)
        lam32, t32 = _timed(torch.linalg.eigvalsh, k32)
        for alpha in ALPHAS:
            row: dict[str, Any] = {
                "data": name,
                "n": n,
                "matrix": matrix,
                "alpha": alpha,
                "exact64": _truth(lam64, alpha),
                "eigvalsh64_seconds": t64,
                "eigvalsh32_seconds": t32,
                "exact32": float(_spectrum_entropy(lam32, alpha)),
                "exact32_dropped": _dropped(lam32, alpha),
            }
            for dtype, k in (("32", k32), ("64", k64)):
                found, seconds = _timed(truncated_entropy, k, alpha)
                row |= {
                    f"truncated{dtype}": float(found.value),
                    f"truncated{dtype}_lower": float(found.lower),
                    f"truncated{dtype}_upper": float(found.upper),
                    f"truncated{dtype}_rank": found.rank,
                    f"truncated{dtype}_tail_mass": found.tail_mass,
                    f"truncated{dtype}_half_width": found.half_width,
                    # matrix_entropy takes the exact path where the interval is wider than its tolerance
                    f"truncated{dtype}_kept": found.half_width <= SPECTRUM_TOL,
                    f"truncated{dtype}_seconds": seconds,
                }
            for path in PATHS:
                row[f"{path}_error"] = row[path] - row["exact64"]
            for dtype in ("32", "64"):
                lo, hi = row[f"truncated{dtype}_lower"], row[f"truncated{dtype}_upper"]
                slack = ROUND_OFF[dtype]
                row[f"truncated{dtype}_holds"] = lo - slack <= row["exact64"] <= hi + slack
            rows.append(row)
    for alpha in ALPHAS:
        ent = {r["matrix"]: r for r in rows if r["alpha"] == alpha}
        mi: dict[str, Any] = {"data": name, "n": n, "matrix": "mi", "alpha": alpha}
        for path in ("exact64", *PATHS):
            mi[path] = ent["x"][path] + ent["y"][path] - ent["joint"][path]
        for path in PATHS:
            mi[f"{path}_error"] = mi[path] - mi["exact64"]
        for dtype in ("32", "64"):
            t = f"truncated{dtype}"
            mi[f"{t}_lower"] = ent["x"][f"{t}_lower"] + ent["y"][f"{t}_lower"] - ent["joint"][f"{t}_upper"]
            mi[f"{t}_upper"] = ent["x"][f"{t}_upper"] + ent["y"][f"{t}_upper"] - ent["joint"][f"{t}_lower"]
            slack = 3 * ROUND_OFF[dtype]
            mi[f"{t}_holds"] = mi[f"{t}_lower"] - slack <= mi["exact64"] <= mi[f"{t}_upper"] + slack
            mi[f"{t}_kept"] = all(ent[m][f"{t}_kept"] for m in ("x", "y", "joint"))
        rows.append(mi)
    # The library's whole call (Gram matrices, entropies; labels take the class path on the CPU), float32.
    x32, y32 = x.float(), y.float() if y.is_floating_point() else y
    for spectrum in ("exact", "truncated"):
        with torch.no_grad():
            start = time.perf_counter()
            value = float(renyi_mi(x32, y32, spectrum=spectrum))
            seconds = time.perf_counter() - start
        call = {"matrix": "renyi_mi", "spectrum": spectrum, "value": value, "seconds": seconds}
        rows.append({"data": name, "n": n, **call})
    return rows


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per path and alpha (and per n): the largest |error| of an entropy and of an MI, and how many of
    the truncated intervals hold the float64 value."""
    out = []
    for alpha in ALPHAS:
        for n in [None, *sorted({r["n"] for r in rows})]:
            sel = [r for r in rows if r.get("alpha") == alpha and (n is None or r["n"] == n)]
            ent = [r for r in sel if r["matrix"] != "mi"]
            mis = [r for r in sel if r["matrix"] == "mi"]
            if not ent:
                continue
            for path in PATHS:
                s: dict[str, Any] = {
                    "reading": path,
                    "alpha": alpha,
                    "n": n if n is not None else "all",
                    "entropies": len(ent),
                    "max_entropy_error": max(abs(r[f"{path}_error"]) for r in ent),
                    "max_mi_error": max(abs(r[f"{path}_error"]) for r in mis),
                }
                if path.startswith("truncated"):
                    kept = [r for r in ent if r[f"{path}_kept"]]
                    kept_mi = [r for r in mis if r[f"{path}_kept"]]
                    s["max_kept_entropy_error"] = max((abs(r[f"{path}_error"]) for r in kept), default=None)
                    s["max_kept_mi_error"] = max((abs(r[f"{path}_error"]) for r in kept_mi), default=None)
                    s["kept_mi"] = len(kept_mi)
                    s["kept_entropy_holds"] = sum(r[f"{path}_holds"] for r in kept)
                    s["entropy_holds"] = sum(r[f"{path}_holds"] for r in ent)
                    s["mi_holds"] = sum(r[f"{path}_holds"] for r in mis)
                    s["kept"] = sum(r[f"{path}_kept"] for r in ent)
                    s["max_half_width"] = max(r[f"{path}_half_width"] for r in ent)
                out.append(s)
    return out


def timings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per n: the summed seconds over the data sets of each whole renyi_mi call (float32), and of the
    eigvalsh of every matrix in float32 and float64 and of the truncated entropies at the default alpha."""
    out = []
    for n in sorted({r["n"] for r in rows}):
        calls = [r for r in rows if r["n"] == n and r["matrix"] == "renyi_mi"]
        ent = [r for r in rows if r["n"] == n and r.get("alpha") == DEFAULT_ALPHA and r["matrix"] != "mi"]
        exact = sum(r["seconds"] for r in calls if r["spectrum"] == "exact")
        truncated = sum(r["seconds"] for r in calls if r["spectrum"] == "truncated")
        out.append(
            {
                "n": n,
                "data_sets": len(calls) // 2,
                "renyi_mi_exact_seconds": exact,
                "renyi_mi_truncated_seconds": truncated,
                "speedup": exact / truncated,
                "eigvalsh32_seconds": sum(r["eigvalsh32_seconds"] for r in ent),
                "eigvalsh64_seconds": sum(r["eigvalsh64_seconds"] for r in ent),
                "truncated32_seconds": sum(r["truncated32_seconds"] for r in ent),
                "truncated64_seconds": sum(r["truncated64_seconds"] for r in ent),
            }
        )
    return out


def table(record: dict[str, Any]) -> str:
    lines = [
        "# Renyi entropies by each reading of the spectrum against float64 exact "
        "(`benchmarks/renyi_spectrum.py`)",
        "",
        "Largest |error| in nats over the data sets' entropies S(x), S(y), S(x, y) and their MI; intervals",
        "holding the float64 value; entropies whose interval met the tolerance (else the library takes the",
        "exact path).",
        "",
        "| reading | alpha | n | max entropy error | max MI error | intervals holding (entropy, MI) | kept "
        "| kept: max entropy error, MI error, holding |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in record["summary"]:
        truncated = "kept" in s
        holds = (
            f"{s['entropy_holds']}/{s['entropies']}, {s['mi_holds']}/{s['entropies'] // 3}"
            if truncated
            else ""
        )
        kept = f"{s['kept']}/{s['entropies']}" if truncated else ""
        within = ""
        if s.get("kept"):
            mi_error = "-" if s["max_kept_mi_error"] is None else f"{s['max_kept_mi_error']:.5f}"
            within = f"{s['max_kept_entropy_error']:.5f}, {mi_error}, {s['kept_entropy_holds']}/{s['kept']}"
        lines.append(
            f"| {s['reading']} | {s['alpha']} | {s['n']} | {s['max_entropy_error']:.5f} "
            f"| {s['max_mi_error']:.5f} | {holds} | {kept} | {within} |"
        )
    lines += [
        "",
        "| n | data sets | renyi_mi exact s | truncated s | speed-up | eigvalsh fp32 s | fp64 s "
        "| truncated fp32 s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in record["timings"]:
        lines.append(
            f"| {t['n']:,} | {t['data_sets']} | {t['renyi_mi_exact_seconds']:.2f} "
            f"| {t['renyi_mi_truncated_seconds']:.2f} "
            f"| {t['speedup']:.1f}x | {t['eigvalsh32_seconds']:.2f} | {t['eigvalsh64_seconds']:.2f} "
            f"| {t['truncated32_seconds']:.2f} |"
        )
    if "reading_cost" in record:
        lines += [
            "",
            "Thread CPU time of the reading of float32 eigenvalues, forward and backward, alpha = 1.01 "
            "(medians):",
            "",
            "| n | d | under the floor | tail ms | former ms | extra ms | eigvalsh fwd+bwd ms "
            "| extra of the entropy |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in record["reading_cost"]:
            lines.append(
                f"| {c['n']:,} | {c['d']} | {c['under_floor']} | {c['tail_ms']:.4f} | {c['former_ms']:.4f} "
                f"| {c['extra_ms']:+.4f} | {c['eigvalsh_fwd_bwd_ms']:.3f} "
                f"| {100 * c['extra_of_entropy']:+.1f}% |"
            )
    lines += [
        "",
        "| data | n | matrix | alpha | float64 | exact32 | dropped | truncated32 | truncated64 "
        "| half-width | rank |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in record["rows"]:
        if r["matrix"] == "renyi_mi":
            continue
        hw = f"{r['truncated32_half_width']:.4f}" if "truncated32_half_width" in r else ""
        rank = str(r.get("truncated32_rank", ""))
        lines.append(
            f"| {r['data']} | {r['n']:,} | {r['matrix']} | {r['alpha']} | {r['exact64']:.4f} "
            f"| {r['exact32_error']:+.5f} | {r['exact32_dropped_error']:+.5f} "
            f"| {r['truncated32_error']:+.5f} | {r['truncated64_error']:+.5f} | {hw} | {rank} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = parser(__doc__, threads=True)
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    p.add_argument("--data", nargs="+", choices=DATA, default=list(DATA))
    p.add_argument("--resume", action="store_true", help="keep the rows of the same settings already there")
    p.add_argument("--cost", action="store_true", help="only (re)measure the readings' cost into the record")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.results) / "renyi_spectrum"
    out.mkdir(parents=True, exist_ok=True)
    config = {"sizes": args.sizes, "data": args.data, "alphas": list(ALPHAS), "spectrum_tol": SPECTRUM_TOL}
    rows: list[dict[str, Any]] = []
    path = out / "results.json"
    if args.resume and path.exists():
        earlier = json.loads(path.read_text())
        if earlier["config"] != config:
            raise SystemExit(f"--resume: {path} was written with other settings: {earlier['config']}")
        rows = earlier["rows"]
    started = time.time()
    if args.cost:
        record = json.loads(path.read_text())
        record["reading_cost"] = reading_cost()
        record["reading_cost_environment"] = {
            **environment(),
            "cpu": cpu_model(),
            "cpu_threads": args.threads,
        }
        write_json(path, record)
    for n in [] if args.cost else args.sizes:
        for name in args.data:
            if any(r["data"] == name and r["n"] == n for r in rows):
                continue
            rows += measure(name, n)
            print(f"n = {n:,}, {name}: done ({time.time() - started:.0f} s)", flush=True)
            env = {**environment(), "cpu": cpu_model(), "cpu_threads": args.threads}
            record = {"config": config, "rows": rows, "summary": summary(rows), "timings": timings(rows)}
            write_json(path, {**record, "environment": env})
    # The summaries again from the rows (a record of the same rows gets this script's summaries).
    record = json.loads(path.read_text())
    record["summary"], record["timings"] = summary(record["rows"]), timings(record["rows"])
    write_json(path, record)
    env = record["environment"]
    text = table(record) + (
        f"\n_Run on {env['machine']} ({env['cpu']}), one torch thread, commit {str(env['git_commit'])[:7]}, "
        f"{env['date']}._\n"
    )
    atomic_write_text(out / "table.md", text)
    print(text)


if __name__ == "__main__":
    main()
