"""Where a GPU's host copies and time go, for the rows benchmarks/gpu_check.py fails or finds slow.

* ``syncs``: the Python lines (iblearn's innermost three frames) of every synchronizing call, from
  ``torch.cuda.set_sync_debug_mode``, and ``copies``: of every copy the profiler sees, for one estimate of
  the non-trainable estimators, one training step of MINDE and LMI, and one epoch of greedy training
  (gpu_check's cases);
* ``times``: the parts of a brute-force KSG block of 1,024 x 100,000 pairs in 5 dimensions (max-norm
  distances by torch.cdist and by broadcast differences, top-k, k-th value, counts), in float64 and
  float32; ``ksg_mi`` 5x5 at N = 100,000; one float32 eigendecomposition of 16,384 rows by cuSOLVER and
  by MAGMA.

    python3 benchmarks/gpu_diagnose.py OUT_FOLDER      # on a CUDA machine: OUT_FOLDER/diagnosis.json
"""

from __future__ import annotations

import collections
import json
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import torch  # noqa: E402

from benchmarks.runners import gpu_rows  # noqa: E402
from iblearn import functional as ibf  # noqa: E402

CUDA = torch.device("cuda")


def _where(frames: list[traceback.FrameSummary] | list[str]) -> str:
    """iblearn's innermost three frames, innermost first."""
    ours = [f for f in frames if "iblearn" in str(f) or "gpu_rows" in str(f)][-3:][::-1]
    return " <- ".join(
        f"{Path(f.filename).name}:{f.lineno}:{f.name}" if isinstance(f, traceback.FrameSummary) else f
        for f in ours
    )


def syncs(fn: Callable[[], Any]) -> dict[str, int]:
    """The lines of the synchronizing calls of one ``fn()`` (after a warm-up call)."""
    fn()
    torch.cuda.synchronize()
    seen: collections.Counter[str] = collections.Counter()

    def record(message: Any, *args: Any, **kwargs: Any) -> None:
        seen[_where(traceback.extract_stack()[:-1])] += 1

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = record
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
            torch.cuda.synchronize()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return dict(seen)


def copies(fn: Callable[[], Any]) -> dict[str, int]:
    """The copies of one ``fn()`` by kind and the Python lines of the op that made each."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], with_stack=True) as prof:
        fn()
        torch.cuda.synchronize()
    seen: collections.Counter[str] = collections.Counter()
    for event in prof.events():
        for kernel in event.kernels or []:
            if "Memcpy" in kernel.name:
                op = event
                while op is not None and not op.stack:
                    op = op.cpu_parent
                stack = [s.split("/")[-1] for s in (op.stack if op else [])]
                seen[f"{kernel.name.split('(')[0].strip()} @ {_where(stack[::-1])}"] += 1
    return dict(seen)


def cases() -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {}
    for name in ("ksg", "mixed_ksg", "binning", "gaussian", "renyi", "minde", "lmi"):
        est, data, fit = gpu_rows.estimator_case(name)
        est = est.to(CUDA)
        on_device = gpu_rows.moved(data, CUDA)
        if fit:
            est.fit(*on_device, **fit)
            batch = gpu_rows.moved(tuple(t[:16] for t in data), CUDA)
            out[name] = lambda est=est, batch=batch: est.train_step(*batch)
        else:
            out[name] = lambda est=est, data=on_device: est(*data)
    out["train_greedy"] = lambda: gpu_rows.greedy_run(CUDA)
    return out


def seconds(fn: Callable[[], Any], repeats: int = 3) -> float:
    """The fastest of ``repeats`` calls after a warm-up, by CUDA events."""
    fn()
    return min(gpu_rows.timed(fn, CUDA) for _ in range(repeats))


def times() -> dict[str, Any]:
    out: dict[str, Any] = {}
    rows, n = 1024, 100_000
    for dtype in (torch.float64, torch.float32):
        x = torch.randn(n, 5, device=CUDA, dtype=dtype)
        a = x[:rows]
        d = torch.cdist(a, x, p=float("inf"))
        tag = f"{str(dtype).removeprefix('torch.')}_1024x1e5"
        out[f"cdist_inf_{tag}"] = seconds(lambda a=a, x=x: torch.cdist(a, x, p=float("inf")))
        out[f"broadcast_absmax_{tag}"] = seconds(lambda a=a, x=x: (a[:, None] - x[None]).abs().amax(-1))
        out[f"topk4_{tag}"] = seconds(lambda d=d: torch.topk(d, 4, dim=1, largest=False))
        out[f"block_topk4_{tag}"] = seconds(
            lambda d=d: torch.topk(d.view(rows, 100, -1), 4, dim=2, largest=False)
        )
        out[f"kthvalue4_{tag}"] = seconds(lambda d=d: torch.kthvalue(d, 4, dim=1))
        out[f"count_{tag}"] = seconds(lambda d=d: (d < d[:, :1]).sum(1))
        out[f"maximum_{tag}"] = seconds(lambda d=d: torch.maximum(d, d))
    x = torch.randn(n, 5, dtype=torch.float64, device=CUDA)
    y = x + torch.randn_like(x)
    out["ksg_mi_5x5_n1e5"] = seconds(lambda: ibf.ksg_mi(x, y), 1)
    gram = torch.randn(16_384, 16_384, device=CUDA)
    gram = gram @ gram.T / len(gram)
    for library in ("cusolver", "magma"):
        torch.backends.cuda.preferred_linalg_library(library)
        out[f"eigvalsh_float32_16384_{library}"] = seconds(lambda: torch.linalg.eigvalsh(gram), 1)
        out[f"eigh_float32_16384_{library}"] = seconds(lambda: torch.linalg.eigh(gram), 1)
    torch.backends.cuda.preferred_linalg_library("default")
    return out


def main() -> None:
    out: dict[str, Any] = {}
    for name, fn in cases().items():
        try:
            out[name] = {"syncs": syncs(fn), "copies": copies(fn)}
        except Exception as err:  # a case that breaks is a finding; the others still run
            out[name] = {"error": f"{type(err).__name__}: {err}"}
    out["times"] = times()
    text = json.dumps(out, indent=1)
    print(text)
    Path(sys.argv[1], "diagnosis.json").write_text(text)


if __name__ == "__main__":
    main()
