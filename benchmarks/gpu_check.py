"""iblearn on a GPU: every estimator, optimizer and training procedure run on the device and on the CPU
with the same seed and inputs (correctness), then the hot paths timed on both (speed).

Correctness rows (a failed one fails the run, exit 1, as does any row that raises):

* ``estimator:<name>`` for every name in ``iblearn.estimators.REGISTRY``, on small inputs: the estimate
  on the device against the CPU's (non-parametric: ``RTOL``/``ATOL``; trainable ones after
  ``FIT_STEPS`` training steps from the same initial critic: ``FIT_RTOL``/``FIT_ATOL``); every
  parameter, buffer and optimizer moment on the device; the host copies of a few training steps (of
  one estimate, for the others);
* ``proximal_split``, ``mi_decay_lr``, ``train_greedy``, ``ib_functional:<mode>``,
  ``information_plane``: the same, for the optimizer wrapper, the scheduler (with its probe), greedy
  training, the four forms of the IB functional (and the noisy one's gradient), and the recorder
  (whose captured layers stay on the CPU by design, while the model stays on the device);
* ``auto:<case>``: ``method="auto"`` on six cases of 2,000 rows that take each branch of its rule (1 x 1,
  a Gaussian 3 x 3, Student-t 2 x 2, a point mass, labels, 32 joint dims): the same estimator chosen,
  the same checks passed and the same verdict on the device as on the CPU, the value, the interval
  and every check's figures within ``RTOL``/``ATOL``;
* ``null:<test>`` for the permutation tests of KSG MI, KSG CMI and transfer entropy (2,000 rows, 200
  permutations, seed 1): the device's null and p-value equal to the CPU's, to the bit.
* ``network:device``: ``infer_network(device=...)`` on a VAR network of 5 processes (T = 300): the same
  edges as the exact CPU path, each edge's conditional TE within 1e-9 nats.

Host copies are counted with ``torch.profiler`` over a few steady-state steps: the device-to-host and
host-to-device copies (the ``Memcpy DtoH`` / ``Memcpy HtoD`` activities of CUDA) and the explicit
scalar reads (``aten::_local_scalar_dense``: ``float()``, ``int()``, ``bool()``, ``.item()`` of a tensor,
each a copy and a wait on a GPU). A step may copy to the host no more often than it reads a scalar on
purpose (a returned loss, a divergence check), and to the device at most ``HTOD_BUDGET`` times, each
symmetric eigendecomposition allowed besides the copies that a bare ``eigvalsh`` of its shape and dtype
makes on the device (measured, not assumed: cuSOLVER reads at least its status word); a row over either
budget fails. One estimate of a non-trainable estimator copies a fixed number of times (its input
checks, the reliability judgement): there the budget is that no count, less the solver's, grows with
the sample, from 5,000 rows to 20,000 (1,536 to 3,072 for ``renyi``), where the searches run in chunks.

Timing rows, each with the CPU figure of the same call beside the device's: KSG 5x5 at N = 1e4, 1e5, 1e6
(brute force on a GPU, the CPU's tree), mixed KSG with 784-d x, the matrix-based Renyi MI at n = 4,096 and
16,384 with its backward (and at alpha = 2, which needs no eigendecomposition, with one float32
``eigvalsh`` of 16,384 rows, the floor of the other alphas: they take three), the steps a second of a
neural fit at its default budget (InfoNCE, NWJ, MINE and CLUB; on the device replaying the captured step,
and for InfoNCE with eager steps too), a ProximalSplit step over a plain Adam step, one MOLE epoch (the
MNIST network and its matrix-based objectives on synthetic images), and the permutation tests at
N = 10,000: 1,000 permutations of KSG MI (5x5), 200 of KSG CMI and of transfer entropy (the CPU figure
extrapolated from a few permutations; on the device by torch's brute force, and again by the fused
kernels in the ``*_null_fused_*`` rows), and the all-pairs MI matrix of 1,000 columns x 10,000 rows
(``pairwise_mi``: on the device from a call at 200 columns where 1,000 is predicted over the device
budget, on the CPU from calls at 8 and 12 columns); the same streamed with each row's top 10 kept at
10,000 columns x 10,000 rows (predicted from 512 columns where over the budget; goal under an hour);
both again with the pairs counted on the device along their sorted columns (the ``*_sorted`` rows, a
kernel off by default until they have measured it against the brute-force one);
and one target of a VAR network of 100 processes x 1,000 samples by ``infer_network``'s device path
(200 surrogates, lags 1-3; goal 36 s, the network in under an hour), and again with its surrogates
counted by torch's brute force instead of the fused kernel (``network_torch_target_*``).
Device times by CUDA events after ``torch.cuda.synchronize`` (thread CPU time on a CPU device); CPU
times by thread CPU time on ``--cpu-threads`` threads (1). A figure whose time, predicted from the
smaller size before it, is over its budget (``--device-budget`` 120 s, ``--budget`` 60 s on the CPU)
is skipped, and the row says so. Goals: KSG 5x5
at N = 1e6 under 5 s, Renyi at n = 16,384 with backward under 1 s, 1,000 KSG permutations at N = 10,000
under 10 s (on the device).

Each row is written to ``results.json`` (atomically) as it finishes; a rerun skips the rows done unless
``--force`` (rows of another device or size are dropped). ``table.md`` holds both tables and the
provenance: GPU, driver, CUDA and torch versions, commit.

    python benchmarks/gpu_check.py                     # cuda against cpu, about 6 minutes on an H200
    python benchmarks/gpu_check.py --device cpu --quick --out /tmp/gpu   # the whole path, CPU only
    make gpu-check GPU_PY=python3                      # the same as the first, through make

On the lent GPU machine (its python3 has a CUDA torch, numpy and scipy; not zuko, which the normalizing
flows of ``mienf`` need: carry its wheel, fetched here once with ``python3 -m pip download --no-deps
--only-binary=:all: -d .whl zuko==1.6.0`` and ``/.whl/`` in ``.git/info/exclude``), the device tool's
command, with ``carry: [".whl"]`` and ``timeout_s: 600`` (the check and the tests marked gpu took 6.1
minutes on an H200, most of it the CPU's figures; the all-pairs row at 1,000 columns, about 2 minutes
more on the device, runs with ``--device-budget 200``; the goal rows, with the fused counts', ``auto``'s
and the network's correctness rows, took 2.1 minutes on an H200, and ``--only`` runs them first:
``--only 'ksg_fused_*' 'ksg_mi_null_fused_*' 'pairwise_top_k_*' 'network*' 'many_critics_*'
'fused_*_counts' 'auto:*'``, then a second call, given the same ``--out``, the rest). Rows go
straight to ``$OUT``, each
written as it finishes, so a run stopped at its limit still brings back what it measured (copy its
results.json into benchmarks/results/gpu/ here and the next call resumes from it); the commit is
passed in, as the tree copied there may have no git history:

    export PYTHONPATH=/tmp/site:src PYTHONUNBUFFERED=1 GPU_CHECK_COMMIT=<git rev-parse HEAD, here>;
    python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl;
    python3 setup.py -q build_ext --inplace >/dev/null 2>&1 || echo "no C kernel: scipy's tree on the CPU";
    mkdir -p $OUT/gpu; cp benchmarks/results/gpu/results.json $OUT/gpu/ 2>/dev/null;
    timeout 470 python3 benchmarks/gpu_check.py --out $OUT/gpu --device-budget 60;
    timeout 100 python3 -m pytest -q -p no:cacheprovider -m gpu $(grep -rl "mark.gpu" tests) \
        | tee $OUT/gpu-tests.txt

(``build_ext`` compiles the optional C kernel of the CPU's tree for that Python; of the copied
results.json the check keeps only rows of the same device and commit; ``--force`` measures all again.)
Its files come back from ``$OUT``: copy them into ``benchmarks/results/gpu/`` here and commit them.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
with contextlib.suppress(ImportError):  # a source tree on a machine where iblearn is not installed
    import iblearn  # noqa: F401
if "iblearn" not in sys.modules:
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # benchmarks.runners

import torch  # noqa: E402

from benchmarks import many_critics  # noqa: E402
from benchmarks.runners.gpu_network import check_network, network_target_speed  # noqa: E402
from benchmarks.runners.gpu_rows import (  # noqa: E402
    ATOL,
    AUTO_CASES,
    FIT_ATOL,
    FIT_RTOL,
    FIT_STEPS,
    HTOD_BUDGET,
    NEURAL_FITS,
    RTOL,
    all_pairs_speed,
    check_auto,
    check_estimator,
    check_fused,
    check_fused_sorted,
    check_greedy,
    check_ib,
    check_mi_decay,
    check_null,
    check_plane,
    check_proximal,
    eigvalsh_speed,
    ksg_speed,
    mixed_speed,
    mole_epoch,
    neural_row,
    null_speed,
    proximal_ratio,
    renyi_speed,
    renyi_truncated,
    speed_row,
)
from benchmarks.runners.script import cpu_model  # noqa: E402
from iblearn.estimators import REGISTRY  # noqa: E402
from iblearn.records import atomic_write_text, environment, markdown_table, read_json, write_json  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "gpu"
#: Where a run writes unless ``--out`` says otherwise: never over the committed table by accident.
SCRATCH = Path(tempfile.gettempdir()) / "iblearn-gpu-check"
GOALS = {  # seconds on the device
    "ksg_5x5_n1000000": 5.0,
    "ksg_fused_5x5_n1000000": 5.0,
    "ksg_mi_null_fused_1000perm_n10000": 10.0,
    "renyi_n16384_backward": 1.0,  # the exact path, the baseline
    "renyi_truncated_n16384_backward": 1.0,
    "ksg_mi_null_1000perm_n10000": 10.0,
    "pairwise_top_k_10000x10000": 3600.0,
    "pairwise_top_k_10000x10000_sorted": 3600.0,
    "network_target_100x1000": 36.0,  # a hundred such targets: the network in under an hour
}
NULLS = ("ksg_mi", "ksg_cmi", "transfer_entropy")


# ------------------------------------------------------------------------------------------- the plan
Check = tuple[str, Callable[[], dict[str, Any]]]


def plan(
    device: torch.device, quick: bool, budgets: tuple[float, float], done: dict[str, Any]
) -> list[Check]:
    """(name, measure) for every row, in order: correctness first, then times."""
    checks: list[Check] = [(f"estimator:{n}", partial(check_estimator, n, device, quick)) for n in REGISTRY]
    checks += [
        ("proximal_split", lambda: check_proximal(device, quick)),
        ("mi_decay_lr", lambda: check_mi_decay(device, quick)),
        ("train_greedy", lambda: check_greedy(device, quick)),
        *[
            (f"ib_functional:{m}", partial(check_ib, m, device))
            for m in ("decision", "soft", "noisy", "quantized")
        ],
        ("information_plane", lambda: check_plane(device, quick)),
        *[(f"null:{kind}", partial(check_null, kind, device)) for kind in NULLS],
        ("fused_ksg_counts", lambda: check_fused(device)),
        ("fused_sorted_counts", lambda: check_fused_sorted(device)),
        *[(f"auto:{case}", partial(check_auto, case, device)) for case in AUTO_CASES],
        ("network:device", lambda: check_network(device, quick)),
    ]

    def predicted(name: str | None, device_factor: float, cpu_factor: float) -> tuple[Any, Any]:
        """(device, CPU) seconds of row ``name`` done before (or predicted, where it was skipped), times
        each growth factor."""
        before = done.get(name or "", {})
        found = [before.get(f"{side}_s") or before.get(f"{side}_predicted_s") for side in ("device", "cpu")]
        return tuple(  # type: ignore[return-value]
            None if s is None else s * f for s, f in zip(found, (device_factor, cpu_factor), strict=True)
        )

    ksg_sizes = (1000, 3000, 10_000) if quick else (10_000, 100_000, 1_000_000)

    def ksg_row(n: int, last: int, growth: tuple[float, float]) -> dict[str, Any]:
        repeats = 1 if n >= 1_000_000 else 3
        return speed_row(device, ksg_speed(n), repeats, budgets, predicted(f"ksg_5x5_n{last}", *growth))

    for i, n in enumerate(ksg_sizes):
        # The device's brute force grows as N^2, the CPU's tree as N log N.
        last = ksg_sizes[i - 1] if i else n
        growth = ((n / last) ** 2, (n / last) * math.log(n) / math.log(last))
        checks.append((f"ksg_5x5_n{n}", partial(ksg_row, n, last, growth)))
    for i, n in enumerate(ksg_sizes):  # the fused kernel, whose CPU figure is the row above's
        last = ksg_sizes[i - 1] if i else n
        guess = predicted(f"ksg_fused_5x5_n{last}", (n / last) ** 2, 0)
        row = partial(speed_row, device, ksg_speed(n, fused=True), 1 if n >= 1_000_000 else 3, budgets)
        checks.append((f"ksg_fused_5x5_n{n}", partial(row, guess, cpu=False)))
    mixed_n = 300 if quick else 10_000
    checks.append((f"mixed_ksg_784d_n{mixed_n}", lambda: speed_row(device, mixed_speed(mixed_n), 3, budgets)))
    small, large = (256, 512) if quick else (4096, 16_384)
    first = f"renyi_n{small}_backward"
    checks.append((first, lambda: speed_row(device, renyi_speed(small), 3, budgets)))
    cubic = (large / small) ** 3  # eigendecompositions of n x n matrices
    checks.append(
        (
            f"renyi_n{large}_backward",
            lambda: speed_row(device, renyi_speed(large), 3, budgets, predicted(first, cubic, cubic)),
        )
    )
    checks.append((f"renyi_truncated_n{large}_backward", lambda: renyi_truncated(device, large, budgets)))
    checks.append(
        (f"renyi_alpha2_n{large}_backward", lambda: speed_row(device, renyi_speed(large, 2.0), 3, budgets))
    )
    checks.append(
        (
            f"eigvalsh_n{large}",
            lambda: speed_row(
                device, eigvalsh_speed(large), 1, budgets, predicted(first, cubic / 6, cubic / 6)
            ),
        )
    )
    for name in NEURAL_FITS:
        checks.append((f"neural_fit_{name}", partial(neural_row, name, device, quick, name == "infonce")))
    for name in ("infonce", "nwj"):  # many critics trained at once (goal: 5x the one-by-one fits)
        checks.append((f"many_critics_{name}", partial(many_critics.gpu_check_row, name, device, quick)))

    def proximal() -> dict[str, Any]:
        steps = 6 if quick else 60
        dev, cpu = proximal_ratio(device, steps), proximal_ratio(torch.device("cpu"), steps)
        return {
            "device_s": dev["hot_s"],
            "cpu_s": cpu["hot_s"],
            "device_ratio": dev["ratio"],
            "cpu_ratio": cpu["ratio"],
            "device_plain_s": dev["core_s"],
            "cpu_plain_s": cpu["core_s"],
            "pairs": steps,
        }

    checks.append(("proximal_step_over_plain", proximal))
    null_n = 1000 if quick else 10_000
    for kind, perms in zip(NULLS, (1000, 200, 200), strict=True):
        perms = perms // 20 if quick else perms
        checks.append(
            (
                f"{kind}_null_{perms}perm_n{null_n}",
                partial(null_speed, kind, null_n, perms, max(1, perms // 50), device),
            )
        )
    fused_perms = 50 if quick else 1000
    checks.append(
        (
            f"ksg_mi_null_fused_{fused_perms}perm_n{null_n}",
            partial(null_speed, "ksg_mi", null_n, fused_perms, 0, device, fused=True),
        )
    )
    # The conditional ones counted by the fused CMI kernel (the rows above: torch's brute force).
    for kind in NULLS[1:]:
        perms = 10 if quick else 200
        checks.append(
            (
                f"{kind}_null_fused_{perms}perm_n{null_n}",
                partial(null_speed, kind, null_n, perms, 0, device, fused=True),
            )
        )
    # All pairs of a table's columns: the device at m columns, or predicted from `small` over its budget.
    pair_m, pair_n, pair_small = (30, 1000, 10) if quick else (1000, 10_000, 200)
    checks.append(
        (
            f"pairwise_mi_{pair_m}x{pair_n}",
            partial(all_pairs_speed, pair_m, pair_n, pair_small, device, budgets),
        )
    )
    # The same, streamed: each row's top 10 kept, the tiles on the device (the 10^4 x 10^4 goal).
    top_m, top_n, top_small = (30, 1000, 10) if quick else (10_000, 10_000, 512)
    checks.append(
        (
            f"pairwise_top_k_{top_m}x{top_n}",
            partial(all_pairs_speed, top_m, top_n, top_small, device, budgets, top_k=10),
        )
    )
    # Both again with the pairs counted along their sorted columns (off by default until these rows
    # have measured it against the brute-force kernel).
    for name, (m, n, small, keywords) in {
        f"pairwise_mi_{pair_m}x{pair_n}_sorted": (pair_m, pair_n, pair_small, {}),
        f"pairwise_top_k_{top_m}x{top_n}_sorted": (top_m, top_n, top_small, {"top_k": 10}),
    }.items():
        along = partial(all_pairs_speed, m, n, small, device, budgets, along_sorted=True, **keywords)
        checks.append((name, along))
    nodes, samples = (5, 300) if quick else (100, 1000)
    checks.append(
        (f"network_target_{nodes}x{samples}", partial(network_target_speed, device, nodes, samples))
    )
    # The same target with the surrogates counted by torch's brute force rather than the fused kernel.
    checks.append(
        (
            f"network_torch_target_{nodes}x{samples}",
            partial(network_target_speed, device, nodes, samples, fused=False),
        )
    )
    images = 64 if quick else 2048
    checks.append((f"mole_epoch_n{images}", lambda: speed_row(device, mole_epoch(images), 1, budgets)))
    return checks


CORRECTNESS = (
    "estimator:",
    "null:",
    "fused_ksg_counts",
    "fused_sorted_counts",
    "proximal_split",
    "mi_decay_lr",
    "train_greedy",
    "ib_functional:",
    "information_plane",
    "auto:",
    "network:",
)


def is_correctness(name: str) -> bool:
    return name.startswith(CORRECTNESS)


# ------------------------------------------------------------------------------------------ records
def provenance(device: torch.device, cpu_threads: int) -> dict[str, Any]:
    env = environment()
    gpu: dict[str, Any] = {}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        gpu = {
            "gpu": props.name,
            "gpu_memory_gib": round(props.total_memory / 2**30, 1),
            "cuda_runtime": torch.version.cuda,
            "driver": _driver(),
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        }
    return {
        **env,
        **gpu,
        # The commit passed in first: a copied tree may carry a stale .git (on the lent machine, HEAD
        # named the previous call's commit while the files were this one's).
        "git_commit": os.environ.get("GPU_CHECK_COMMIT") or env["git_commit"],
        "device": str(device),
        "cpu_threads": cpu_threads,
        "cpu": cpu_model(),
        "machine": platform.node(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"


def _at(note: str, row: dict[str, Any], provenance: dict[str, Any]) -> str:
    """``note``, and the commit the row was measured at where it is not the record's (a record merged
    from calls at two commits)."""
    commit = row.get("commit")
    if not commit or commit == provenance["git_commit"]:
        return note
    return "; ".join(n for n in (note, f"at commit {commit[:7]}") if n)


def table(record: dict[str, Any]) -> str:
    p, rows = record["provenance"], record["rows"]
    lines = [
        f"# iblearn on {p.get('gpu') or p['device']}\n",
        f"Device {p['device']} ({p.get('gpu') or '-'}, {p.get('gpu_memory_gib') or '-'} GiB; driver "
        f"{p.get('driver') or '-'}, CUDA {p.get('cuda_runtime') or '-'}), torch {p['torch']}, Python "
        f"{p['python']}; CPU {p['cpu'] or '-'} on {p['cpu_threads']} thread(s); commit "
        f"{p['git_commit'] or 'unknown'}; {p['date']}{'; quick sizes' if record['quick'] else ''}.\n",
        f"Correctness: device against CPU, rtol {RTOL:g} / atol {ATOL:g} for one call, {FIT_RTOL:g} / "
        f"{FIT_ATOL:g} after {FIT_STEPS} training steps; copies a step (device-to-host, host-to-device, "
        f"explicit scalar reads; the solver's own in brackets), budget for a training step: no more "
        f"device-to-host copies than reads, at most {HTOD_BUDGET} host-to-device, each eigendecomposition "
        f"allowed the copies of a bare eigvalsh of its size; for one estimate (non-trainable estimators, "
        f"shown at the larger size): no count, less the solver's, larger at 20,000 rows than at 5,000 "
        f"(3,072 and 1,536 for renyi).\n",
    ]
    correct = []
    for name, r in rows.items():
        if not is_correctness(name):
            continue
        c = r.get("copies")
        copies = "-" if c is None else f"{c['dtoh']:g} / {c['htod']:g} / {c['scalar_reads']:g}"
        if c is not None and c.get("eigh_dtoh"):
            copies += f" (solver {c['eigh_dtoh']:g} / {c.get('eigh_htod', 0):g})"
        verdict = "pass" if r["ok"] else "FAIL: " + "; ".join(r.get("problems") or [r.get("error", "")])
        verdict = _at(verdict, r, p)
        diff = r.get("diff")
        correct.append([name, "-" if diff is None else f"{diff:.2g}", copies, verdict.replace("|", "/")])
    lines.append(markdown_table(["check", "max diff", "copies a step", "verdict"], correct))
    times = []
    for name, r in rows.items():
        if is_correctness(name):
            continue
        if "error" in r:
            times.append([name, "-", "-", "-", "error: " + r["error"].replace("|", "/")])
            continue
        cpu, dev = r.get("cpu_s"), r.get("device_s")
        speedup = "-" if not (cpu and dev) else f"{cpu / dev:.1f}x"
        note = "; ".join(r[k] for k in ("device_skipped", "cpu_skipped") if r.get(k))
        if "device_steps_per_s" in r:
            eager = r.get("device_eager_steps_per_s")
            note = f"{r['device_steps_per_s']:.0f} against {r['cpu_steps_per_s']:.0f} steps/s" + (
                f" ({eager:.0f} with eager steps on the device)" if eager else ""
            )
        if "device_ratio" in r:
            note = f"step / plain step: {r['device_ratio']:.2f} (device), {r['cpu_ratio']:.2f} (CPU)"
        if "cpu_permutations" in r:
            note = (
                f"CPU: from {r['cpu_permutations']} and {2 * r['cpu_permutations']} permutations, "
                f"{r['cpu_s_per_permutation'] * 1e3:.0f} ms each"
            )
        if "cpu_pairs" in r:
            few, more = r["cpu_pairs"]
            cpu_note = f"CPU: from {few} and {more} pairs, {r['cpu_s_per_pair'] * 1e3:.1f} ms each"
            note = "; ".join(n for n in (r.get("device_skipped"), cpu_note) if n)
        if "truncated_mi" in r:
            exact = "-" if r["exact_mi"] is None else f"{r['exact_mi']:.4f}"
            note = (
                f"MI {r['truncated_mi']:.4f} in [{r['mi_lower']:.4f}, {r['mi_upper']:.4f}], exact path "
                f"(float32) {exact}; ranks (x, y, joint; 0: exact) {', '.join(map(str, r['ranks']))}"
            )
        if "device_speedup" in r:
            met = "met" if r["device_speedup"] >= many_critics.GOAL else "NOT met"
            note = (
                f"{r['critics']} critics stacked over one by one ({_s(r['device_one_by_one_s'])}): "
                f"{r['device_speedup']:.1f}x, goal {many_critics.GOAL:g}x {met}; "
                f"estimates within {r['diff']:.1g}"
            )
        if "network_predicted_s" in r:
            note = f"the network predicted {r['network_predicted_s']:.0f} s ({r['cpu_skipped']})"
            if "host_s" in r:
                note += f"; the host's CPU time {_s(r['host_s'])}"
        if name in GOALS:
            met = "not measured" if dev is None else "met" if dev < GOALS[name] else "NOT met"
            note = f"goal < {GOALS[name]:g} s: {met}" + (f"; {note}" if note else "")
        times.append([name, _s(dev), _s(cpu), speedup, _at(note, r, p)])
    lines.append("\n" + markdown_table(["time", "device", "CPU", "CPU / device", "note"], times))
    return "\n".join(lines)


def _checked(args: argparse.Namespace) -> tuple[torch.device, dict[str, Any] | None]:
    """The device, and the record in ``--out`` to resume (None: none there); a bad option, a results
    file that is not one, or one of another device or size (whose rows a run would replace; ``--force``
    replaces them) raise ValueError naming the option."""
    try:
        device = torch.device(args.device)
    except RuntimeError as err:
        raise ValueError(f"--device: {args.device!r} is not a torch device ({err})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda, but this torch sees no CUDA device")
    if device.type not in ("cuda", "cpu", "meta", "mps", "xpu"):
        raise ValueError(f"--device: expected cuda, cpu or another accelerator, got {args.device!r}")
    if args.cpu_threads < 1:
        raise ValueError(f"--cpu-threads: expected a positive number of threads, got {args.cpu_threads}")
    path = Path(args.out) / "results.json"
    if not path.is_file() or args.force:
        return device, None
    try:
        record = read_json(path)
        kept = (record["provenance"]["device"], record["quick"], dict(record["rows"]))
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"--out: {path} is not a results file of this check ({err}); --force replaces it"
        ) from None
    if kept[:2] != (str(device), args.quick):
        size = "quick" if kept[1] else "full"
        raise ValueError(
            f"--out: {path} holds the {size} rows of device {kept[0]}, which this run would replace; give "
            "another --out, or --force to replace them"
        )
    return device, record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="the device checked against the CPU (cuda)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: the whole path in seconds")
    p.add_argument("--force", action="store_true", help="measure every row again")
    p.add_argument("--only", nargs="+", help="the rows of these names (patterns: 'ksg_5x5_*')")
    p.add_argument(
        "--out",
        default=str(SCRATCH),
        help=f"folder of results.json and table.md (default {SCRATCH}; the committed table is {OUT}, "
        "which only an explicit --out writes)",
    )
    p.add_argument("--budget", type=float, default=60.0, help="seconds a CPU figure may take (predicted)")
    p.add_argument("--device-budget", type=float, default=120.0, help="seconds a device figure may take")
    p.add_argument("--cpu-threads", type=int, default=1)
    args = p.parse_args(argv)
    try:
        device, record = _checked(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.cpu_threads)
    out = Path(args.out)
    path = out / "results.json"
    if args.force or record is None:
        record = {"quick": args.quick, "rows": {}}
    record["provenance"] = provenance(device, args.cpu_threads)
    # A rerun resumes the rows of the same code only.
    commit = record["provenance"]["git_commit"]
    record["rows"] = {name: r for name, r in record["rows"].items() if r.get("commit") == commit}
    checks = plan(device, args.quick, (args.device_budget, args.budget), record["rows"])
    for name, measure in checks:
        if name in record["rows"] or not any(fnmatch.fnmatchcase(name, o) for o in args.only or ["*"]):
            continue
        start = time.perf_counter()
        # One call against the other: TF32 would make a float32 convolution on the GPU differ from the
        # CPU's beyond rounding; the times keep torch's defaults.
        tf32 = torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.allow_tf32 = tf32 and not is_correctness(name)
        try:
            with warnings.catch_warnings():  # tiny samples: estimates flagged unreliable, as they should be
                warnings.simplefilter("ignore", UserWarning)
                row = measure()
            row["ok"] = not row.get("problems")
        except Exception as err:  # a row that breaks is a finding, and the others still run
            row = {
                "ok": False,
                "error": f"{type(err).__name__}: {err}",
                "traceback": traceback.format_exc(limit=-4),
            }
        finally:
            torch.backends.cudnn.allow_tf32 = tf32
        row["wall_s"] = time.perf_counter() - start
        row["commit"] = record["provenance"]["git_commit"]
        record["rows"][name] = row
        write_json(path, record)
        print(
            f"{name}: {'ok' if row['ok'] else 'FAILED ' + str(row.get('problems') or row.get('error'))}"
            f" ({row['wall_s']:.1f} s)",
            flush=True,
        )
    text = table(record)
    atomic_write_text(out / "table.md", text)
    print(text)
    failed = [n for n, r in record["rows"].items() if not r["ok"]]
    if failed:
        print(f"gpu check failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
