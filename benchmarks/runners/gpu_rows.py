"""The rows of benchmarks/gpu_check.py, each a call on the device and on the CPU with the same seed and
inputs: the correctness checks (every registry estimator, ProximalSplit, MIDecayLR, train_greedy, the IB
functional, the information plane; their values, where their states live, the host copies of a step)
and the timed hot paths (see that script's notes for what each row measures and its budgets).

Not part of the installed package: the driver imports it from the root of a source checkout.
"""

from __future__ import annotations

import contextlib
import copy
import math
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benchmarks.runners.paired import mlp, paired_ratio, proximal_steps
from iblearn import functional as ibf
from iblearn.analysis import InformationPlane, ib_functional
from iblearn.data import tasks
from iblearn.estimation.auto import auto_estimate
from iblearn.estimators import REGISTRY, get_estimator
from iblearn.estimators.neural import captured
from iblearn.estimators.reliability import UnreliableEstimateWarning
from iblearn.functional.knn import fused as _ksg_triton
from iblearn.functional.knn import fused_sorted
from iblearn.functional.knn.counts import ksg_counts_tree
from iblearn.functional.renyi.entropy import (
    DEFAULT_ALPHA,
    SPECTRUM_TOL,
    Spectrum,
    _matrix_entropy,
)
from iblearn.functional.renyi.gram import checked_gram
from iblearn.functional.renyi.spectrum import truncated_entropy
from iblearn.optim import MIDecayLR, MIProbe, ProximalSplit, split_model
from iblearn.training import Batch, CrossEntropy, InfoMax, train_greedy

RTOL, ATOL = 1e-4, 1e-6  # one call, float32 or float64: the same numbers up to rounding
FIT_RTOL, FIT_ATOL = 1e-3, 1e-3  # after FIT_STEPS float32 Adam steps, rounding grown by training
FIT_STEPS = 20
HTOD_BUDGET = 4  # host-to-device copies a step may make (indices drawn on a CPU generator, constants)


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
    host-to-device copies, explicit scalar reads, and the symmetric eigendecompositions with the copies
    the solver itself makes for them (``eigh_dtoh``, ``eigh_htod``: see :func:`solver_copies`)."""
    from torch.profiler import ProfilerActivity, profile

    step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities, record_shapes=True) as prof:
        for _ in range(steps):
            step()
        synchronize(device)
    events = prof.events()
    names = [e.name for e in events]
    eighs = [
        (tuple(e.input_shapes[0]), (getattr(e, "input_dtypes", None) or ["float"])[0])
        for e in events
        if e.name == "aten::_linalg_eigh"
    ]
    solver = [solver_copies(shape, dtype, device) for shape, dtype in eighs]
    return {
        "dtoh": sum("Memcpy DtoH" in n for n in names) / steps,
        "htod": sum("Memcpy HtoD" in n for n in names) / steps,
        "scalar_reads": sum(n == "aten::_local_scalar_dense" for n in names) / steps,
        "eigendecompositions": len(eighs) / steps,
        "eigh_dtoh": sum(c[0] for c in solver) / steps,
        "eigh_htod": sum(c[1] for c in solver) / steps,
        "device_events": sum(e.device_type.name == "CUDA" for e in events),
        "profiled_steps": steps,
    }


_SOLVER_COPIES: dict[tuple[Any, ...], tuple[float, float]] = {}


def solver_copies(shape: tuple[int, ...], dtype: str, device: torch.device) -> tuple[float, float]:
    """The device-to-host and host-to-device copies of one bare ``eigvalsh`` of a positive definite matrix
    of ``shape`` and ``dtype`` on ``device``: the solver's own (cuSOLVER reads its status word; its
    divide and conquer may copy more, growing with the size), the price of an exact spectrum, which a
    budget allows each eigendecomposition it sees."""
    key = (shape, dtype, str(device))
    if device.type != "cuda":
        return (0.0, 0.0)
    if key not in _SOLVER_COPIES:
        from torch.profiler import ProfilerActivity, profile

        torch_dtype = torch.float64 if dtype == "double" else torch.float32
        g = torch.Generator().manual_seed(0)
        a = torch.randn(*shape[:-1], 2 * shape[-1], generator=g, dtype=torch_dtype).to(device)
        matrix = a @ a.transpose(-1, -2)
        torch.linalg.eigvalsh(matrix)
        synchronize(device)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            torch.linalg.eigvalsh(matrix)
            synchronize(device)
        names = [e.name for e in prof.events()]
        _SOLVER_COPIES[key] = (
            float(sum("Memcpy DtoH" in n for n in names)),
            float(sum("Memcpy HtoD" in n for n in names)),
        )
    return _SOLVER_COPIES[key]


def over_budget(copies: dict[str, float], device: torch.device) -> list[str]:
    if device.type == "cuda" and not copies["device_events"]:
        return ["the profiler saw no device activity: copies not counted"]
    out = []
    # Each eigendecomposition is allowed the copies of a bare eigvalsh of its size: the price of an
    # exact spectrum (the matrix-based objectives take three a step), measured, not assumed.
    eigh_dtoh, eigh_htod = copies.get("eigh_dtoh", 0), copies.get("eigh_htod", 0)
    if copies["dtoh"] > copies["scalar_reads"] + eigh_dtoh:
        out.append(
            f"{copies['dtoh']:g} device-to-host copies a step for {copies['scalar_reads']:g} reads"
            f" and {copies.get('eigendecompositions', 0):g} eigendecompositions ({eigh_dtoh:g} copies"
            " of a bare eigvalsh of their sizes)"
        )
    if copies["htod"] > HTOD_BUDGET + eigh_htod:
        out.append(f"{copies['htod']:g} host-to-device copies a step (budget {HTOD_BUDGET} and the solver's)")
    return out


def growing(small: dict[str, float], large: dict[str, float], device: torch.device) -> list[str]:
    """The copies of one estimate that grow with its sample, from ``small`` to ``large`` rows: per chunk
    or per row, a copy is a wait in the hot loop. A fixed number is the price of a one-call answer (input
    checks, the reliability judgement); the solver's own copies in its eigendecompositions (those of a
    bare eigvalsh of the same size, :func:`solver_copies`) are left out."""
    if device.type == "cuda" and not large["device_events"]:
        return ["the profiler saw no device activity: copies not counted"]

    def own(c: dict[str, float], kind: str) -> float:
        return c[kind] - c.get(f"eigh_{kind}", 0)

    return [
        f"{kind} copies grow with the sample: {own(small, kind):g} at the small size, {own(large, kind):g}"
        " at the large (the solver's own left out)"
        for kind in ("dtoh", "htod", "scalar_reads")
        if own(large, kind) > own(small, kind)
    ]


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


def labels_only(name: str) -> bool:
    """Whether the registry's ``name`` is an untrained estimator that reads an integer y as labels (it
    takes labels only: three classes)."""
    return bool(REGISTRY[name].labels_y and not REGISTRY[name].trainable)


def estimator_case(name: str) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    """A small estimator of registry name ``name`` (seeded), its data, and ``fit``'s keywords."""
    torch.manual_seed(0)
    x, y = rows_of(64, 2, dy=1)
    vector: dict[str, Any] = {"steps": FIT_STEPS, "batch_size": 32}
    if labels_only(name):
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


def copy_sizes(name: str) -> tuple[int, int]:
    """Two sample sizes at which one estimate's copies are counted, both past every size-dependent branch
    (the width rules' subsample above 1,024 rows) and the second in many chunks of the searches; smaller
    for the matrix-based estimator, whose eigendecompositions grow as n^3."""
    return (1536, 3072) if name == "renyi" else (5000, 20_000)


def larger_case(name: str, n: int) -> tuple[Tensor, Tensor]:
    """The data of :func:`estimator_case` for a non-trainable estimator, with ``n`` rows."""
    x, y = rows_of(n, 2, dy=1)
    return (x, torch.arange(n) % 3) if labels_only(name) else (x, y)


def check_estimator(name: str, device: torch.device, quick: bool = False) -> dict[str, Any]:
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
        problems += over_budget(row["copies"], device)
    else:  # one estimate: its copies are a fixed cost, none of them may grow with the sample
        sizes = (300, 600) if quick else copy_sizes(name)
        small, large = (moved(larger_case(name, n), device) for n in sizes)
        row["copies_small"] = host_copies(lambda: on_device(*small), 2, device)
        row["copies"] = host_copies(lambda: on_device(*large), 2, device)
        row["copies_rows"] = list(sizes)
        problems += growing(row["copies_small"], row["copies"], device)
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


GREEDY_BATCHES = 4  # of 50 rows: one epoch of greedy_run


def greedy_run(dev: torch.device) -> tuple[list[nn.Module], Any]:
    """One epoch of greedy training on ``dev`` from seed 0: a ReLU module on the Renyi I(T; Y), then a
    linear one on cross-entropy, over 200 rows of 10 features (three carry the binary label)."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (200,), generator=g)
    x = torch.randn(200, 10, generator=g)
    x[:, :3] += 2.0 * y[:, None].float()
    batches = [Batch(x[i : i + 50], y[i : i + 50]) for i in range(0, 50 * GREEDY_BATCHES, 50)]
    torch.manual_seed(0)
    modules: list[nn.Module] = [nn.Sequential(nn.Linear(10, 16), nn.ReLU()), nn.Linear(16, 2)]
    objectives = [InfoMax("label", "renyi"), CrossEntropy()]
    return modules, train_greedy(modules, objectives, lambda e: batches, epochs=1, device=dev)


def check_greedy(device: torch.device, quick: bool) -> dict[str, Any]:
    (_, result_c), (modules, result_d) = greedy_run(torch.device("cpu")), greedy_run(device)
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
    steps = GREEDY_BATCHES * len(modules)
    copies = {k: v / steps for k, v in host_copies(lambda: greedy_run(device), 1, device).items()}
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


#: The branches of ``method="auto"``'s rule, each a case of 2,000 rows: (name, task).
AUTO_CASES = {
    "1x1": lambda: tasks.bivariate_normal(),
    "gaussian-3x3": lambda: tasks.sparse_gaussian(3),
    "student-2x2": lambda: tasks.student_t(2, 2, 1.0),
    "point-mass-3x3": lambda: tasks.zero_inflated(3),
    "labels": lambda: tasks.categorical_uniform(5),
    "gaussian-16x16": lambda: tasks.dense_gaussian(16),
}


def check_auto(case: str, device: torch.device) -> dict[str, Any]:
    """``auto_estimate`` on the device against the CPU, the same rows and seed: the same estimator
    chosen, the same checks passed and the same verdict; the value, the interval and every check's
    figures within float tolerance, or within the CPU estimate's standard error where the kNN jitter
    (drawn on the device, whose stream is not the CPU's) decides counts: tied distances of normal
    scores, a point mass."""
    x, y = AUTO_CASES[case]().sample(2000, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreliableEstimateWarning)
        cpu, dev = (auto_estimate(x.to(d), y.to(d), seed=0) for d in (torch.device("cpu"), device))
    assert cpu.interval is not None and dev.interval is not None and cpu.report.checks and dev.report.checks
    problems = [
        f"{what}: {b!r} against {a!r}"
        for what, a, b in (
            ("chosen", cpu.report.chosen, dev.report.chosen),
            ("reliable", cpu.reliable, dev.reliable),
            (
                "checks passed",
                {k: c.passed for k, c in cpu.report.checks.items()},
                {k: c.passed for k, c in dev.report.checks.items()},
            ),
        )
        if a != b
    ]
    pairs = [(float(dev), float(cpu)), *zip(dev.interval, cpu.interval, strict=True)]
    pairs += [
        (b, a)
        for name, check in cpu.report.checks.items()
        if name in dev.report.checks
        for a, b in zip(check.figures.values(), dev.report.checks[name].figures.values(), strict=True)
        if math.isfinite(a)
    ]
    diff, jitter = 0.0, cpu.stderr or 0.0
    for b, a in pairs:
        ok, d = compare(b, a, RTOL, ATOL)
        diff = max(diff, d)
        if not ok and d > jitter:
            problems.append(f"{b:.6g} against {a:.6g}")
    if dev.value.device.type != device.type:
        problems.append(f"the estimate on {dev.value.device}")
    return {
        "value": float(dev),
        "cpu_value": float(cpu),
        "chosen": dev.report.chosen,
        "diff": diff,
        "problems": problems,
    }


def null_case(kind: str, n: int) -> tuple[Callable[..., Any], tuple[Tensor, ...]]:
    """A permutation test of ``kind`` (``ksg_mi``, ``ksg_cmi``, ``transfer_entropy``) and its data of
    ``n`` rows: a weak dependence, so that the p-value is neither 1 / (1 + permutations) nor 1."""
    g = torch.Generator().manual_seed(0)
    if kind == "ksg_mi":
        x = torch.randn(n, 5, generator=g)
        return ibf.ksg_mi_test, (x, 0.05 * x + torch.randn(n, 5, generator=g))
    if kind == "ksg_cmi":
        z = torch.randn(n, 2, generator=g)
        x = z + torch.randn(n, 2, generator=g)
        return ibf.ksg_cmi_test, (x, z + 0.05 * x + torch.randn(n, 2, generator=g), z)
    source, target = torch.randn(n, generator=g), torch.zeros(n)
    target[1:] = 0.05 * source[:-1] + torch.randn(n - 1, generator=g)
    return ibf.transfer_entropy_test, (source, target)


def check_null(kind: str, device: torch.device) -> dict[str, Any]:
    """The same seed's permutation test on the device and on the CPU (the tree there): the same p-value,
    the same null to the bit."""
    test, data = null_case(kind, 2000)
    cpu = test(*data, n_permutations=200, seed=1)
    dev = test(*moved(data, device), n_permutations=200, seed=1)
    diff = float((dev.null - cpu.null).abs().max())
    problems = (
        [] if dev.p_value == cpu.p_value else [f"p-value {dev.p_value} against the CPU's {cpu.p_value}"]
    )
    if not torch.equal(dev.null, cpu.null):
        problems.append(f"nulls differ by up to {diff:.3g}")
    return {"p_value": dev.p_value, "cpu_p_value": cpu.p_value, "diff": diff, "problems": problems}


def null_speed(
    kind: str, n: int, permutations: int, cpu_permutations: int, device: torch.device, fused: bool = False
) -> dict[str, Any]:
    """Seconds of a test of ``kind`` at ``n`` rows with ``permutations`` permutations on the device (one
    call after a warm-up), and on the CPU extrapolated from calls with ``cpu_permutations`` and twice as
    many (a fixed cost, the estimate and the preparation, and a tree search a permutation)."""
    test, data = null_case(kind, n)
    on_device = moved(data, device)
    with fused_kernel(fused):
        test(*on_device, n_permutations=2)
        device_s = timed(lambda: test(*on_device, n_permutations=permutations), device)
    if not cpu_permutations:
        return {"device_s": device_s, "cpu_s": None, "permutations": permutations}
    cpu = torch.device("cpu")
    once = timed(lambda: test(*data, n_permutations=cpu_permutations), cpu)
    twice = timed(lambda: test(*data, n_permutations=2 * cpu_permutations), cpu)
    each = max(twice - once, 0.0) / cpu_permutations
    return {
        "device_s": device_s,
        "cpu_s": once + each * (permutations - cpu_permutations),
        "cpu_s_per_permutation": each,
        "permutations": permutations,
        "cpu_permutations": cpu_permutations,
    }


# ---------------------------------------------------------------------------------------------- speed
def speed_row(
    device: torch.device,
    fn_for: Callable[[torch.device], Callable[[], Any]],
    repeats: int,
    budgets: tuple[float, float],
    predicted: tuple[float | None, float | None] = (None, None),
    cpu: bool = True,
) -> dict[str, Any]:
    """Median seconds of ``fn_for(dev)()`` on ``device`` (``device_s``) and on the CPU (``cpu_s``); a
    side whose ``predicted`` seconds are over its budget (device, CPU) is skipped, and says so."""
    row: dict[str, Any] = {"repeats": repeats}
    cpu_device = torch.device("cpu")
    for side, dev, guess, budget in zip(
        ("device", "cpu"), (device, cpu_device), predicted, budgets, strict=True
    ):
        if side == "cpu" and not cpu:
            row["cpu_s"] = None
            continue
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


@contextlib.contextmanager
def _switched(kernel: Any, on: bool) -> Iterator[None]:
    """A kernel module's ``ENABLED`` set to ``on`` for the block, then restored."""
    before = kernel.ENABLED
    kernel.ENABLED = on
    try:
        yield
    finally:
        kernel.ENABLED = before


def fused_kernel(on: bool) -> contextlib.AbstractContextManager[None]:
    """KSG's counts on a GPU by the fused Triton kernels (``on``) or the torch path, for the block."""
    return _switched(_ksg_triton, on)


def sorted_kernel(on: bool) -> contextlib.AbstractContextManager[None]:
    """Pairs of single columns on a GPU counted along their sorted columns (``on``) or by the
    brute-force fused kernel, for the block."""
    return _switched(fused_sorted, on)


def ksg_speed(n: int, fused: bool = False) -> Callable[[torch.device], Callable[[], Any]]:
    x, y = rows_of(n, 5)

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        xd, yd = x.to(dev), y.to(dev)

        def call() -> None:
            with fused_kernel(fused):
                ibf.ksg_mi(xd, yd)

        return call

    return fn_for


def check_fused(device: torch.device) -> dict[str, Any]:
    """The fused kernel's KSG counts on the device against the CPU tree's, for the samples and for three
    permuted pairings (20,000 rows, 5 + 5 dimensions, k = 3)."""
    if not (_ksg_triton.HAVE_TRITON and device.type == "cuda"):
        return {"problems": [], "skipped": "needs CUDA and triton"}
    x, y = (t.double() for t in rows_of(20_000, 5))
    g = torch.Generator().manual_seed(1)
    perms = torch.stack([torch.arange(20_000)] + [torch.randperm(20_000, generator=g) for _ in range(3)])
    nx, ny = _ksg_triton.ksg_counts_fused(x.to(device), y.to(device), 3, perms.to(device))
    problems = []
    for b, p in enumerate(perms):
        want = ksg_counts_tree(x, y[p], 3, 1)
        wrong = int((nx[b].cpu() != want[0]).sum() + (ny[b].cpu() != want[1]).sum())
        if wrong:
            problems.append(f"pairing {b}: {wrong} counts differ from the tree's")
    return {"diff": 0.0 if not problems else None, "problems": problems}


def check_fused_sorted(device: torch.device) -> dict[str, Any]:
    """The sorted-column kernel's KSG counts on the device against the CPU tree's, for every ordered
    pair of 6 single columns of 20,000 rows (one rounded to a grid: ties in x and in y), k = 3."""
    if not (_ksg_triton.HAVE_TRITON and device.type == "cuda"):
        return {"problems": [], "skipped": "needs CUDA and triton"}
    x = pairs_table(20_000, 6, seed=2)
    x[:, 1] = torch.round(x[:, 1] * 4)
    pairs = [(a, b) for a in range(6) for b in range(6) if a != b]
    columns = fused_sorted.SortedColumns(x.T.contiguous().to(device))
    nx, ny = fused_sorted.ksg_counts_sorted_pairs(columns, torch.tensor(pairs, device=device), 3)
    problems = []
    for p, (a, b) in enumerate(pairs):
        want = ksg_counts_tree(x[:, a : a + 1], x[:, b : b + 1], 3, 1)
        wrong = int((nx[p].cpu() != want[0]).sum() + (ny[p].cpu() != want[1]).sum())
        if wrong:
            problems.append(f"pair {(a, b)}: {wrong} counts differ from the tree's")
    return {"diff": 0.0 if not problems else None, "problems": problems}


def mixed_speed(n: int) -> Callable[[torch.device], Callable[[], Any]]:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(n, 784, generator=g) + y[:, None].float() / 4

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        xd, yd = x.to(dev), y.to(dev)
        return lambda: ibf.mixed_ksg_mi(xd, yd)

    return fn_for


def renyi_speed(
    n: int, alpha: float = DEFAULT_ALPHA, spectrum: Spectrum = "exact"
) -> Callable[[torch.device], Callable[[], Any]]:
    x, y = rows_of(n, 10, dy=3)

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        xd, yd = x.to(dev), y.to(dev)

        def call() -> None:
            t = xd.clone().requires_grad_(True)
            ibf.renyi_mi(t, yd, alpha=alpha, spectrum=spectrum).backward()

        return call

    return fn_for


def renyi_truncated(
    device: torch.device, n: int, budgets: tuple[float, float], exact_limit: int = 4096
) -> dict[str, Any]:
    """renyi_mi forward and backward with the truncated spectrum on the device (the renyi row's data), and
    its values: the MI, the interval of each entropy (summed into the MI's: S(x) + S(y) - S(x, y)), each
    entropy's rank (0 where it fell back to the exact path), and the exact path's MI (forward, float32),
    on a CPU only up to ``exact_limit`` rows."""
    row = speed_row(device, renyi_speed(n, spectrum="truncated"), 3, budgets, cpu=False)
    x, y = (t.to(device) for t in rows_of(n, 10, dy=3))
    with torch.no_grad():
        row["truncated_mi"] = float(ibf.renyi_mi(x, y, spectrum="truncated"))
        exact = device.type != "cpu" or n <= exact_limit
        row["exact_mi"] = float(ibf.renyi_mi(x, y, spectrum="exact")) if exact else None
        kx = checked_gram(x, "median", False, "x")
        ky = checked_gram(y, "median", False, "y")
        bounds, ranks = [], []
        for k in (kx, ky, ibf.joint_gram(kx, ky)):
            found = truncated_entropy(k, DEFAULT_ALPHA)
            if found.half_width <= SPECTRUM_TOL:
                bounds.append((float(found.lower), float(found.upper)))
                ranks.append(found.rank)
            else:  # the exact path: a point
                value = float(_matrix_entropy(k, DEFAULT_ALPHA))
                bounds.append((value, value))
                ranks.append(0)
    (lx, ux), (ly, uy), (lj, uj) = bounds
    row["mi_lower"], row["mi_upper"], row["ranks"] = lx + ly - uj, ux + uy - lj, ranks
    return row


def eigvalsh_speed(n: int) -> Callable[[torch.device], Callable[[], Any]]:
    """One float32 eigendecomposition (values only) of an n x n Gram matrix: the floor of the Renyi MI
    at alpha != 2, which takes three (x, y, joint)."""
    x = rows_of(n, 10)[0]
    gram = torch.exp(-(torch.cdist(x, x) ** 2) / 20)

    def fn_for(dev: torch.device) -> Callable[[], Any]:
        k = gram.to(dev)
        return lambda: torch.linalg.eigvalsh(k)

    return fn_for


#: The estimators whose fit the speed rows time: the bound most used, one with sampled negatives, MINE's
#: moving average, and a variational upper bound.
NEURAL_FITS = ("infonce", "nwj", "mine", "club")


def neural_fit(
    name: str, dev: torch.device, steps: int | None, replay: bool = True
) -> tuple[Callable[[], Any], list[int]]:
    """A ``fit`` of ``name`` on 8,192 rows of 20 + 20 dims, from a new estimator each call: at the
    default budget (``steps`` None: 2,000 steps of 256 rows, a fifth held out and read every 250 steps,
    early stopping), on a GPU replaying its captured step or (``replay`` False) with eager steps; and
    the list each call appends its steps taken to."""
    x, y = rows_of(8192, 20)
    xd, yd = x.to(dev), y.to(dev)
    taken: list[int] = []
    budget = {} if steps is None else {"steps": steps}

    def fit() -> None:
        before = captured.ENABLED
        captured.ENABLED = replay
        try:
            est = get_estimator(name, x_dim=20, y_dim=20, seed=0).to(dev).fit(xd, yd, **budget)
        finally:
            captured.ENABLED = before
        taken.append(est.history.steps[-1] if est.history else int(est.steps_done))

    return fit, taken


def neural_row(name: str, device: torch.device, quick: bool, eager: bool) -> dict[str, Any]:
    """Steps a second of ``name``'s fit (:func:`neural_fit`) on the device (the second of two fits: the
    first loads the kernels), with eager steps there too where ``eager``, and on the CPU (one fit)."""
    steps = 40 if quick else None
    row: dict[str, Any] = {}
    sides = [("device", device, True), ("cpu", torch.device("cpu"), True)]
    if eager:
        sides.insert(1, ("device_eager", device, False))
    for side, dev, replay in sides:
        fit, taken = neural_fit(name, dev, steps, replay)
        if dev.type == "cuda":
            fit()
        row[f"{side}_s"] = timed(fit, dev)
        row[f"{side}_steps"] = taken[-1]
        row[f"{side}_steps_per_s"] = taken[-1] / row[f"{side}_s"]
    return row


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


# ------------------------------------------------------------------------------------------ all pairs
def pairs_table(n: int, m: int, seed: int = 0) -> Tensor:
    """``(n, m)`` float64 columns: 8 Gaussian factors mixed into each, plus noise, every 7th column
    warped (exp, tanh, cube in turn): pairs of every strength of dependence, margins not all Gaussian."""
    g = torch.Generator().manual_seed(seed)
    factors = torch.randn(n, 8, generator=g, dtype=torch.float64)
    x = factors @ torch.randn(8, m, generator=g, dtype=torch.float64)
    x += torch.randn(n, m, generator=g, dtype=torch.float64)
    for i, j in enumerate(range(0, m, 7)):
        x[:, j] = (torch.exp(x[:, j] / 3), torch.tanh(x[:, j] / 2), x[:, j] ** 3)[i % 3]
    return x


def all_pairs_speed(
    m: int,
    n: int,
    small: int,
    device: torch.device,
    budgets: tuple[float, float],
    cpu_columns: tuple[int, int] = (8, 12),
    along_sorted: bool = False,
    **keywords: Any,
) -> dict[str, Any]:
    """Seconds of ``pairwise_mi`` of ``m`` columns x ``n`` rows (the MI of all m (m - 1) / 2 pairs;
    ``keywords`` such as ``top_k`` go to the call; ``along_sorted``: the pairs counted on the device
    by the sorted-column kernel rather than the brute-force one).

    On the device: a call at ``small`` columns (after one at 4 columns, which compiles the kernel),
    then one at ``m`` unless its time predicted from that call (in proportion to the pairs) is over the
    device budget, where the row gives the prediction and says so. On the CPU (one thread, the check's
    ``--cpu-threads``): predicted from calls at ``cpu_columns`` columns, a fixed cost and a cost a pair,
    as the permutation rows extrapolate from a few permutations.
    """

    def pairs(columns: int) -> int:
        return columns * (columns - 1) // 2

    def call(columns: int, dev: torch.device) -> float:
        x = pairs_table(n, columns, seed=columns).to(dev)
        kept = {**keywords, "top_k": min(keywords["top_k"], columns - 1)} if "top_k" in keywords else keywords
        with sorted_kernel(along_sorted):
            return timed(lambda: ibf.pairwise_mi(x, **kept), dev)

    call(4, device)
    small_s = call(small, device)
    guess = small_s * pairs(m) / pairs(small)
    row: dict[str, Any] = {"pairs": pairs(m), "device_small_s": small_s, "small_columns": small}
    if guess > budgets[0]:
        row["device_s"], row["device_predicted_s"] = None, guess
        row["device_skipped"] = (
            f"device predicted {guess:.3g} s from {small} columns ({small_s:.3g} s), over the "
            f"{budgets[0]:g} s budget"
        )
    else:
        row["device_s"] = call(m, device)
    cpu = torch.device("cpu")
    few, more = (call(c, cpu) for c in cpu_columns)
    each = max(more - few, 0.0) / (pairs(cpu_columns[1]) - pairs(cpu_columns[0]))
    return {
        **row,
        "cpu_s": few + each * (pairs(m) - pairs(cpu_columns[0])),
        "cpu_s_per_pair": each,
        "cpu_pairs": [pairs(c) for c in cpu_columns],
    }
