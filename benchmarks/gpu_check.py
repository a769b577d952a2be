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
  (whose captured layers stay on the CPU by design, while the model stays on the device).

Host copies are counted with ``torch.profiler`` over a few steady-state steps: the device-to-host and
host-to-device copies (the ``Memcpy DtoH`` / ``Memcpy HtoD`` activities of CUDA) and the explicit
scalar reads (``aten::_local_scalar_dense``: ``float()``, ``int()``, ``bool()``, ``.item()`` of a tensor,
each a copy and a wait on a GPU). A step may copy to the host no more often than it reads a scalar on
purpose (a returned loss, a divergence check), and to the device at most ``HTOD_BUDGET`` times; a row
over either budget fails.

Timing rows, each with the CPU figure of the same call beside the device's: KSG 5x5 at N = 1e4, 1e5,
1e6 (brute force on a GPU, the CPU's tree), mixed KSG with 784-d x, the matrix-based Renyi MI at
n = 4,096 and 16,384 with its backward, a neural fit's steps a second, a ProximalSplit step over a plain
Adam step, and one MOLE epoch (the MNIST network and its matrix-based objectives on synthetic images).
Device times by CUDA events after ``torch.cuda.synchronize`` (thread CPU time on a CPU device); CPU
times by thread CPU time on ``--cpu-threads`` threads (1). A figure whose time, predicted from the
smaller size before it, is over its budget (``--device-budget`` 120 s, ``--budget`` 60 s on the CPU)
is skipped, and the row says so. Goals: KSG 5x5
at N = 1e6 under 5 s, Renyi at n = 16,384 with backward under 1 s (on the device).

Each row is written to ``results.json`` (atomically) as it finishes; a rerun skips the rows done unless
``--force`` (rows of another device or size are dropped). ``table.md`` holds both tables and the
provenance: GPU, driver, CUDA and torch versions, commit.

    python benchmarks/gpu_check.py                     # cuda against cpu, under 8 minutes on an H100
    python benchmarks/gpu_check.py --device cpu --quick --out /tmp/gpu   # the whole path, CPU only
    make gpu-check GPU_PY=python3                      # the same as the first, through make

On the lent GPU machine (its python3 has a CUDA torch, numpy and scipy; not zuko, which the normalizing
flows of ``mienf`` need: carry its wheel, fetched here once with ``python3 -m pip download --no-deps
--only-binary=:all: -d .whl zuko==1.6.0`` and ``/.whl/`` in ``.git/info/exclude``), the device tool's
command, with ``carry: [".whl"]`` and ``timeout_s: 600``. Rows go to /tmp/gpu-check, which stays on a
warm machine between calls (``$OUT`` is emptied before each), so a second call resumes; the commit is
passed in, as the tree copied there may have no git history:

    export PYTHONPATH=/tmp/site:src PYTHONUNBUFFERED=1 GPU_CHECK_COMMIT=<git rev-parse HEAD, here>;
    python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site .whl/*.whl;
    python3 setup.py -q build_ext --inplace >/dev/null 2>&1 || echo "no C kernel: scipy's tree on the CPU";
    python3 benchmarks/gpu_check.py --out /tmp/gpu-check; rc=$?; cp /tmp/gpu-check/* $OUT/; exit $rc

(``build_ext`` compiles the optional C kernel of the CPU's tree for that Python.) Its two files come
back from ``$OUT``: copy them into ``benchmarks/results/gpu/`` here and commit them.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import fnmatch
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
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
import torch.nn.functional as F  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from benchmarks.runners.paired import mlp, paired_ratio, proximal_steps  # noqa: E402
from iblearn import functional as ibf  # noqa: E402
from iblearn.analysis import InformationPlane, ib_functional  # noqa: E402
from iblearn.estimators import REGISTRY, InfoNCE, get_estimator  # noqa: E402
from iblearn.optim import MIDecayLR, MIProbe, ProximalSplit, split_model  # noqa: E402
from iblearn.records import atomic_write_text, environment, markdown_table, read_json, write_json  # noqa: E402
from iblearn.training import Batch, CrossEntropy, InfoMax, train_greedy  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "gpu"
RTOL, ATOL = 1e-4, 1e-6  # one call, float32 or float64: the same numbers up to rounding
FIT_RTOL, FIT_ATOL = 1e-3, 1e-3  # after FIT_STEPS float32 Adam steps, rounding grown by training
FIT_STEPS = 20
HTOD_BUDGET = 4  # host-to-device copies a step may make (indices drawn on a CPU generator, constants)
GOALS = {"ksg_5x5_n1000000": 5.0, "renyi_n16384_backward": 1.0}  # seconds on the device


# ------------------------------------------------------------------------------------------ measuring
def moved(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor in it (in tuples and lists too) on ``device``."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, tuple | list):
        return type(value)(moved(v, device) for v in value)
    return value


def tensors_in(value: Any, name: str = "") -> Iterator[tuple[str, Tensor]]:
    """Every tensor in nested dicts, lists and tuples (a state dict, an optimizer's state), by path."""
    if isinstance(value, Tensor):
        yield name, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from tensors_in(v, f"{name}.{k}" if name else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from tensors_in(v, f"{name}.{i}")


def misplaced(device: torch.device, **states: Any) -> list[str]:
    """The tensors of ``states`` (modules, optimizers, schedulers: their state dicts) not on ``device``.

    Left out, where torch keeps them on the CPU by design: an optimizer's ``step`` counts (0-d) and the
    states of random generators (byte tensors)."""
    found = []
    for what, obj in states.items():
        state = obj.state_dict() if hasattr(obj, "state_dict") else obj
        for name, t in tensors_in(state, what):
            if t.dtype == torch.uint8 or (t.ndim == 0 and name.rsplit(".", 1)[-1] == "step"):
                continue
            if t.device.type != device.type:
                found.append(f"{name} on {t.device}")
    return found


def host_copies(step: Callable[[], Any], steps: int, device: torch.device) -> dict[str, float]:
    """Per step, over ``steps`` calls of ``step`` (after one unprofiled call): device-to-host and
    host-to-device copies, and explicit scalar reads."""
    from torch.profiler import ProfilerActivity, profile

    step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        synchronize(device)
    events = prof.events()
    names = [e.name for e in events]
    return {
        "dtoh": sum("Memcpy DtoH" in n for n in names) / steps,
        "htod": sum("Memcpy HtoD" in n for n in names) / steps,
        "scalar_reads": sum(n == "aten::_local_scalar_dense" for n in names) / steps,
        "device_events": sum(e.device_type.name == "CUDA" for e in events),
        "profiled_steps": steps,
    }


def over_budget(copies: dict[str, float], device: torch.device) -> list[str]:
    if device.type == "cuda" and not copies["device_events"]:
        return ["the profiler saw no device activity: copies not counted"]
    out = []
    if copies["dtoh"] > copies["scalar_reads"]:
        out.append(f"{copies['dtoh']:g} device-to-host copies a step for {copies['scalar_reads']:g} reads")
    if copies["htod"] > HTOD_BUDGET:
        out.append(f"{copies['htod']:g} host-to-device copies a step (budget {HTOD_BUDGET})")
    return out


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device) -> float:
    """Seconds of one call: CUDA events on a GPU, thread CPU time on the CPU."""
    if device.type == "cuda":
        synchronize(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        synchronize(device)
        return start.elapsed_time(end) / 1e3
    start_s = time.thread_time()
    fn()
    return time.thread_time() - start_s


def median_time(fn: Callable[[], Any], device: torch.device, repeats: int, warm: bool = True) -> float:
    if warm:
        fn()
    return statistics.median(timed(fn, device) for _ in range(repeats))


def compare(a: float, b: float, rtol: float, atol: float) -> tuple[bool, float]:
    diff = abs(a - b)
    return (math.isfinite(a) and math.isfinite(b) and diff <= atol + rtol * abs(b)), diff


def rows_of(n: int, d: int, seed: int = 0, dy: int | None = None) -> tuple[Tensor, Tensor]:
    """``x (n, d)`` standard normal and ``y (n, dy or d)``: x's first columns plus noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    dy = d if dy is None else dy
    return x, x[:, :dy] + torch.randn(n, dy, generator=g)


# ---------------------------------------------------------------------------------------- correctness
class _Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(2, 3)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.lin(x)


def _ring(n: int) -> Tensor:
    return torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])


def estimator_case(name: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """A small estimator of registry name ``name`` (seeded), its data, and ``fit``'s keywords."""
    torch.manual_seed(0)
    x, y = rows_of(64, 2, dy=1)
    vector: dict[str, Any] = {"steps": FIT_STEPS, "batch_size": 32}
    if name == "mixed_ksg":
        return get_estimator(name), (x, torch.arange(64) % 3), {}
    if not REGISTRY[name].trainable:
        return get_estimator(name), (x, y), {}
    if name == "aamine":
        net = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
        return get_estimator(name, subnet=net, noise_std=0.2, hidden=(8,), seed=4), (x,), vector
    if name == "dim":
        g = torch.Generator().manual_seed(1)
        data = (torch.randn(32, 2, 3, 3, generator=g), torch.randn(32, 2, generator=g))
        return get_estimator(name, mode="global", hidden=8, seed=6), data, {**vector, "batch_size": 16}
    if name in ("gmi", "dgi"):
        g = torch.Generator().manual_seed(2)
        nodes = torch.randn(10, 2, generator=g)
        if name == "gmi":
            est = get_estimator(name, rep_dim=4, feature_dim=2, seed=7)
            h = torch.randn(10, 4, generator=g)
        else:
            encoder = _Encoder()
            est = get_estimator(name, encoder=encoder, rep_dim=3, lr=1e-2, seed=8)
            h = encoder(nodes, _ring(10)).detach()
        return est, (h, (nodes, _ring(10))), {"steps": FIT_STEPS}
    settings: dict[str, Any] = {"x_dim": 2, "y_dim": 1, "hidden": (8,), "seed": 3}
    if name == "club":
        settings.pop("x_dim")
    if name == "mienf":
        settings.update(flow="maf", transforms=1)
    return get_estimator(name, **settings), (x, y), vector


def check_estimator(name: str, device: torch.device) -> dict[str, Any]:
    est, data, fit = estimator_case(name)
    on_device = copy.deepcopy(est).to(device)
    data_device = moved(data, device)
    row: dict[str, Any] = {}
    if fit:
        est.fit(*data, **fit)
        on_device.fit(*data_device, **fit)
    cpu_value = float(est(*data))
    result = on_device(*data_device)
    rtol, atol = (FIT_RTOL, FIT_ATOL) if fit else (RTOL, ATOL)
    ok, diff = compare(float(result), cpu_value, rtol, atol)
    problems = [] if ok else [f"value {float(result):.6g} against the CPU's {cpu_value:.6g}"]
    if result.value.device.type != device.type:
        problems.append(f"estimate on {result.value.device}")
    problems += misplaced(device, estimator=on_device)
    if fit:  # the hot loop: training steps
        batch = tuple(
            moved(d[:16] if isinstance(d, Tensor) and name not in ("gmi", "dgi") else d, device) for d in data
        )
        row["copies"] = host_copies(lambda: on_device.train_step(*batch), 3, device)
    else:  # one estimate is the hot path
        row["copies"] = host_copies(lambda: on_device(*data_device), 2, device)
    problems += over_budget(row["copies"], device)
    return {
        **row,
        "value": float(result),
        "cpu_value": cpu_value,
        "diff": diff,
        "tolerance": [rtol, atol],
        "problems": problems,
    }


def check_proximal(device: torch.device, quick: bool) -> dict[str, Any]:
    torch.manual_seed(0)
    model = mlp(20, 16, 16, 4)
    x, y = torch.randn(64, 20), torch.randint(0, 4, (64,))

    def run(dev: torch.device) -> tuple[nn.Module, ProximalSplit, Callable[[], Any]]:
        net = copy.deepcopy(model).to(dev)
        f, g = split_model(net, 2)
        opt = ProximalSplit(f.parameters(), g.parameters(), beta=10.0)
        xd, yd = x.to(dev), y.to(dev)

        def closure() -> tuple[Tensor, Tensor]:
            z = f(xd)
            return F.cross_entropy(g(z), yd), z

        return net, opt, lambda: opt.step(closure)

    (net_c, _, step_c), (net_d, opt_d, step_d) = run(torch.device("cpu")), run(device)
    for _ in range(5):
        step_c(), step_d()
    diff = max(
        float((a.detach().cpu() - b.detach()).abs().max())
        for a, b in zip(net_d.parameters(), net_c.parameters(), strict=True)
    )
    problems = [] if diff <= FIT_ATOL else [f"weights differ by {diff:.3g} after 5 steps"]
    problems += misplaced(device, model=net_d, optimizer=opt_d)
    copies = host_copies(step_d, 3, device)
    return {"diff": diff, "copies": copies, "problems": problems + over_budget(copies, device)}


def check_mi_decay(device: torch.device, quick: bool) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (200,), generator=g)
    x = torch.randn(200, 6, generator=g) + y[:, None].float()

    def run(dev: torch.device) -> tuple[list[Any], nn.Module, Any]:
        torch.manual_seed(0)
        net = mlp(6, 8, 3).to(dev)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        probe = MIProbe(x, y, 100)
        sched = MIDecayLR(
            opt, lr_min=1e-3, lr_max=0.1, epsilon=0.01, epochs=3, ixy=probe.ixy(), ity0=probe.measure(net)[0]
        )
        lrs = list(sched.get_last_lr())
        xd, yd = x.to(dev), y.to(dev)
        for _ in range(2):
            opt.zero_grad()
            F.cross_entropy(net(xd), yd).backward()
            opt.step()
            sched.step(torch.tensor(probe.measure(net)[0], device=dev))  # a tensor on the device too
            lrs += sched.get_last_lr()
        return lrs, net, opt

    lr_c, _, _ = run(torch.device("cpu"))
    lr_d, net, opt = run(device)
    diff = max(abs(a - b) for a, b in zip(lr_c, lr_d, strict=True))
    problems = [] if diff <= FIT_ATOL * max(lr_c) else [f"learning rates {lr_d} against {lr_c}"]
    return {
        "lrs": lr_d,
        "cpu_lrs": lr_c,
        "diff": diff,
        "problems": problems + misplaced(device, model=net, optimizer=opt),
    }


def check_greedy(device: torch.device, quick: bool) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (200,), generator=g)
    x = torch.randn(200, 10, generator=g)
    x[:, :3] += 2.0 * y[:, None].float()
    batches = [Batch(x[i : i + 50], y[i : i + 50]) for i in range(0, 200, 50)]

    def run(dev: torch.device) -> tuple[list[nn.Module], Any]:
        torch.manual_seed(0)
        modules: list[nn.Module] = [nn.Sequential(nn.Linear(10, 16), nn.ReLU()), nn.Linear(16, 2)]
        objectives = [InfoMax("label", "renyi"), CrossEntropy()]
        return modules, train_greedy(modules, objectives, lambda e: batches, epochs=1, device=dev)

    (_, result_c), (modules, result_d) = run(torch.device("cpu")), run(device)
    numbers = [
        (k, a[k], b[k])
        for ha, hb in zip(result_c.histories, result_d.histories, strict=True)
        for a, b in zip(ha, hb, strict=True)
        for k in a
        if k != "seconds"
    ]
    diff = max(abs(float(b) - float(a)) for _, a, b in numbers)
    problems = [
        f"{k}: {b:.6g} against {a:.6g}"
        for k, a, b in numbers
        if not compare(float(b), float(a), FIT_RTOL, FIT_ATOL)[0]
    ]
    problems += misplaced(device, **{f"module{i}": m for i, m in enumerate(modules)})
    # The whole call (set-up included) over its steps: one a batch and module.
    steps = len(batches) * len(modules)
    copies = {k: v / steps for k, v in host_copies(lambda: run(device), 1, device).items()}
    copies["profiled_steps"] = steps
    return {"diff": diff, "copies": copies, "problems": problems + over_budget(copies, device)}


def check_ib(mode: Any, device: torch.device) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 3, (120,), generator=g)
    rep = torch.randn(120, 4, generator=g) + labels[:, None].float()
    values = []
    for dev in (torch.device("cpu"), device):
        t = rep.to(dev).clone().requires_grad_(True)  # a leaf of its own, on the CPU too
        ib = ib_functional(t, labels.to(dev), mode=mode, beta=0.5)
        if ib.value.requires_grad:
            ib.value.backward()
        values.append((ib, t.grad))
    (cpu_ib, cpu_grad), (dev_ib, dev_grad) = values
    problems, diff = [], 0.0
    for term in ("ixl", "iyl", "ixl_given_y"):
        a, b = getattr(cpu_ib, term), getattr(dev_ib, term)
        if a is None:
            continue
        ok, d = compare(float(b), float(a), RTOL, ATOL)
        diff = max(diff, d)
        if not ok:
            problems.append(f"{term}: {float(b):.6g} against {float(a):.6g}")
        if b.device.type != device.type:
            problems.append(f"{term} on {b.device}")
    if cpu_grad is not None and dev_grad is not None:
        d = float((dev_grad.cpu() - cpu_grad).abs().max())
        diff = max(diff, d)
        if d > ATOL + RTOL * float(cpu_grad.abs().max()):
            problems.append(f"gradient differs by {d:.3g}")
    return {
        "value": float(dev_ib.value),
        "cpu_value": float(cpu_ib.value),
        "diff": diff,
        "problems": problems,
    }


def check_plane(device: torch.device, quick: bool) -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(100) % 2
    x = torch.randn(100, 4, generator=g) + y[:, None].float()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    points = []
    for dev in (torch.device("cpu"), device):
        net = copy.deepcopy(model).to(dev)
        plane = InformationPlane(net, ["1", "2"], x.to(dev), y.to(dev), ixt="noisy", ity="noisy")
        plane.record(0)
        points.append(plane.result().points)
        kept = misplaced(dev, model=net)  # the model stays where it was; the captures go to the CPU
    pairs = list(zip(*points, strict=True))
    diffs = [abs(getattr(b, k) - getattr(a, k)) for a, b in pairs for k in ("ixt", "ity")]
    problems = [
        f"{b} against {a}"
        for a, b in pairs
        if not all(compare(getattr(b, k), getattr(a, k), RTOL, ATOL)[0] for k in ("ixt", "ity"))
    ]
    return {"diff": max(diffs), "problems": problems + kept}


# ---------------------------------------------------------------------------------------------- speed
def speed_row(
    device: torch.device,
    fn_for: Callable[[torch.device], Callable[[], Any]],
    repeats: int,
    budgets: tuple[float, float],
    predicted: tuple[float | None, float | None] = (None, None),
) -> dict[str, Any]:
    """Median seconds of ``fn_for(dev)()`` on ``device`` (``device_s``) and on the CPU (``cpu_s``); a
    side whose ``predicted`` seconds are over its budget (device, CPU) is skipped, and says so."""
    row: dict[str, Any] = {"repeats": repeats}
    cpu = torch.device("cpu")
    for side, dev, guess, budget in zip(("device", "cpu"), (device, cpu), predicted, budgets, strict=True):
        if guess is not None and guess > budget:
            row[f"{side}_s"], row[f"{side}_predicted_s"] = None, guess
            row[f"{side}_skipped"] = f"{side} predicted {guess:.3g} s, over the {budget:g} s budget"
            continue
        fn = fn_for(dev)
        # The first call warms up (a GPU loads its kernels and libraries then) for the repeats, unless it
        # is long enough to be the figure: past 10 s on a GPU, 2 s on the CPU (which has nothing to load).
        first = timed(fn, dev)
        long = first > (10 if dev.type == "cuda" else 2)
        row[f"{side}_s"] = first if long else median_time(fn, dev, repeats, warm=False)
    return row


def ksg_speed(n: int) -> Callable[[torch.device], Callable[[], Any]]:
    x, y = rows_of(n, 5)

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        xd, yd = x.to(dev), y.to(dev)
        return lambda: ibf.ksg_mi(xd, yd)

    return fn_for


def mixed_speed(n: int) -> Callable[[torch.device], Callable[[], Any]]:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(n, 784, generator=g) + y[:, None].float() / 4

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        xd, yd = x.to(dev), y.to(dev)
        return lambda: ibf.mixed_ksg_mi(xd, yd)

    return fn_for


def renyi_speed(n: int) -> Callable[[torch.device], Callable[[], Any]]:
    x, y = rows_of(n, 10, dy=3)

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        xd, yd = x.to(dev), y.to(dev)

        def call() -> None:
            t = xd.clone().requires_grad_(True)
            ibf.renyi_mi(t, yd).backward()

        return call

    return fn_for


def neural_speed(steps: int) -> Callable[[torch.device], Callable[[], Any]]:
    x, y = rows_of(8192, 20)

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        est = InfoNCE(x_dim=20, y_dim=20, seed=0).to(dev)
        xd, yd = x.to(dev), y.to(dev)
        return lambda: est.fit(xd, yd, steps=steps, batch_size=256, validation=0)

    return fn_for


def proximal_ratio(device: torch.device, steps: int) -> dict[str, float]:
    """A ProximalSplit step's time over a plain Adam step's, interleaved, median of the pairs' ratios
    (the ratio check's network: 784-256x5-10, batch 128, split after its third layer)."""
    return paired_ratio(*proximal_steps(device), steps, timer=partial(timed, device=device))


def mole_epoch(n: int) -> Callable[[torch.device], Callable[[], Any]]:
    """One epoch of each module of MOLE's MNIST network with its matrix-based objectives, on ``n``
    synthetic 28 x 28 images (a class-dependent stroke on noise), as the reproduction trains it."""
    from iblearn.experiments import mole
    from iblearn.models import mole as nets

    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.3
    x[torch.arange(n), 0, 2 + 2 * y] += 0.7
    task = mole.Task(
        "mnist",
        (x, y),
        (x, y),
        nets.mnist_cnn,
        ("encoder", "encoder", "decoder", "output"),
        (32 * 13 * 13, 64 * 5 * 5, 128, 10),
        784,
        10,
    )
    config = replace(mole.Config.quick(), epochs=1, train_size=None)

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        def epoch() -> None:
            with tempfile.TemporaryDirectory() as folder:
                mole.train_mole(task, "matrix", config, 0, Path(folder) / "run", dev)

        return epoch

    return fn_for


# ------------------------------------------------------------------------------------------- the plan
Check = tuple[str, Callable[[], dict[str, Any]]]


def plan(
    device: torch.device, quick: bool, budgets: tuple[float, float], done: dict[str, Any]
) -> list[Check]:
    """(name, measure) for every row, in order: correctness first, then times."""
    checks: list[Check] = [(f"estimator:{n}", partial(check_estimator, n, device)) for n in REGISTRY]
    checks += [
        ("proximal_split", lambda: check_proximal(device, quick)),
        ("mi_decay_lr", lambda: check_mi_decay(device, quick)),
        ("train_greedy", lambda: check_greedy(device, quick)),
        *[
            (f"ib_functional:{m}", partial(check_ib, m, device))
            for m in ("decision", "soft", "noisy", "quantized")
        ],
        ("information_plane", lambda: check_plane(device, quick)),
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
    fit_steps = 20 if quick else 300

    def neural() -> dict[str, Any]:
        row = speed_row(device, neural_speed(fit_steps), 3, budgets)
        return {
            **row,
            "steps": fit_steps,
            "device_steps_per_s": fit_steps / row["device_s"],
            "cpu_steps_per_s": fit_steps / row["cpu_s"],
        }

    checks.append(("neural_fit_infonce", neural))

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
    images = 64 if quick else 2048
    checks.append((f"mole_epoch_n{images}", lambda: speed_row(device, mole_epoch(images), 1, budgets)))
    return checks


CORRECTNESS = (
    "estimator:",
    "proximal_split",
    "mi_decay_lr",
    "train_greedy",
    "ib_functional:",
    "information_plane",
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
        "git_commit": env["git_commit"] or os.environ.get("GPU_CHECK_COMMIT"),
        "device": str(device),
        "cpu_threads": cpu_threads,
        "cpu": _cpu_model(),
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


def _cpu_model() -> str | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return None


def _s(v: float | None) -> str:
    return "-" if v is None else f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s"


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
        f"explicit scalar reads), budget: no more device-to-host copies than reads, at most "
        f"{HTOD_BUDGET} host-to-device.\n",
    ]
    correct = []
    for name, r in rows.items():
        if not is_correctness(name):
            continue
        c = r.get("copies")
        copies = "-" if c is None else f"{c['dtoh']:g} / {c['htod']:g} / {c['scalar_reads']:g}"
        verdict = "pass" if r["ok"] else "FAIL: " + "; ".join(r.get("problems") or [r.get("error", "")])
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
            note = f"{r['device_steps_per_s']:.0f} against {r['cpu_steps_per_s']:.0f} steps/s"
        if "device_ratio" in r:
            note = f"step / plain step: {r['device_ratio']:.2f} (device), {r['cpu_ratio']:.2f} (CPU)"
        if name in GOALS:
            met = "not measured" if dev is None else "met" if dev < GOALS[name] else "NOT met"
            note = f"goal < {GOALS[name]:g} s: {met}" + (f"; {note}" if note else "")
        times.append([name, _s(dev), _s(cpu), speedup, note])
    lines.append("\n" + markdown_table(["time", "device", "CPU", "CPU / device", "note"], times))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="the device checked against the CPU (cuda)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: the whole path in seconds")
    p.add_argument("--force", action="store_true", help="measure every row again")
    p.add_argument("--only", nargs="+", help="the rows of these names (patterns: 'ksg_5x5_*')")
    p.add_argument("--out", default=str(OUT), help="folder of results.json and table.md")
    p.add_argument("--budget", type=float, default=60.0, help="seconds a CPU figure may take (predicted)")
    p.add_argument("--device-budget", type=float, default=120.0, help="seconds a device figure may take")
    p.add_argument("--cpu-threads", type=int, default=1)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda, but this torch sees no CUDA device", file=sys.stderr)
        return 2
    torch.set_num_threads(args.cpu_threads)
    out = Path(args.out)
    path = out / "results.json"
    record = read_json(path) if path.is_file() else None
    if (
        args.force
        or record is None
        or (record["provenance"]["device"], record["quick"]) != (str(device), args.quick)
    ):
        record = {"quick": args.quick, "rows": {}}
    record["provenance"] = provenance(device, args.cpu_threads)
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
