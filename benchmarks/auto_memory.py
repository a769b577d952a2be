"""How much memory ``iblearn.estimate("mi", x, y)`` (``method="auto"``) takes beyond the rows it is given:
the peak resident memory of the whole estimate, and of the features its rule reads, each over the rows'
size in float64 (the precision every estimator works in).

Each case runs in a process of its own: the rows are drawn, the peak resident set (VmHWM) is reset
(Linux's /proc/self/clear_refs), and the peak's growth over the resident set at that moment is read
after the features and after the whole estimate. Cases: a Gaussian of 100 x 100 columns (four pairs
share a source) at N = 100,000 in float64 and float32, where the Gaussian is chosen on the raw rows;
Student-t samples (3 degrees of freedom) of 1 x 1 at N = 1,000,000 and 3 x 3 at N = 100,000, where
KSG is chosen.

    python benchmarks/auto_memory.py [--write-results]   # Linux only
"""

import _prelude  # noqa: F401  (first: one thread per library, the checkout's root on sys.path)

# isort: split

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from benchmarks.runners.script import kernel_provenance, parser, write
from iblearn.data import student_t
from iblearn.records.tables import markdown_table

#: name -> (rows, columns a side, dtype, family)
CASES: dict[str, tuple[int, int, str, str]] = {
    "gaussian 100 x 100, N 100,000, float64": (100_000, 100, "float64", "gaussian"),
    "gaussian 100 x 100, N 100,000, float32": (100_000, 100, "float32", "gaussian"),
    "student-t 1 x 1, N 1,000,000": (1_000_000, 1, "float64", "student-t"),
    "student-t 3 x 3, N 100,000": (100_000, 3, "float64", "student-t"),
}


def _status(key: str) -> float:
    """A line of /proc/self/status in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1e3
    raise RuntimeError(f"no {key} in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the resident set now


def measure(name: str) -> dict[str, Any]:
    """One case, in this process (the parent runs each in a child)."""
    import iblearn
    from iblearn.estimation import auto

    n, d, dtype, family = CASES[name]
    if family == "gaussian":  # four pairs sharing a source, the rest noise: auto chooses the Gaussian
        g = torch.Generator().manual_seed(0)
        source = torch.randn(n, 4, generator=g, dtype=torch.float64)
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        y = torch.randn(n, d, generator=g, dtype=torch.float64)
        x[:, :4] += source
        y[:, :4] += source
    else:
        x, y = student_t(d, d, dof=3.0).sample(n, seed=0)
    x, y = x.to(getattr(torch, dtype)).contiguous(), y.to(getattr(torch, dtype)).contiguous()
    rows_mb = (x.numel() + y.numel()) * 8 / 1e6
    features = auto.features
    seen: dict[str, float] = {}

    def measured(*args: Any, **kwargs: Any) -> Any:
        out = features(*args, **kwargs)
        seen["features"] = _status("VmHWM")
        return out

    auto.features = measured
    base = _status("VmRSS")
    _reset_peak()
    start = time.thread_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = iblearn.estimate("mi", x, y)
    cpu = time.thread_time() - start
    peak = _status("VmHWM")
    return {
        "rows_float64_mb": rows_mb,
        "features_peak_mb": seen["features"] - base,
        "estimate_peak_mb": peak - base,
        "features_over_rows": (seen["features"] - base) / rows_mb,
        "estimate_over_rows": (peak - base) / rows_mb,
        "cpu_seconds": cpu,
        "chosen": est.report.chosen,
    }


def table(cases: dict[str, dict[str, Any]]) -> str:
    rows = [
        [
            name,
            r["chosen"],
            f"{r['rows_float64_mb']:.0f}",
            f"{r['features_peak_mb']:.0f} ({r['features_over_rows']:.1f}x)",
            f"{r['estimate_peak_mb']:.0f} ({r['estimate_over_rows']:.1f}x)",
            f"{r['cpu_seconds']:.1f}",
        ]
        for name, r in cases.items()
    ]
    header = ["case", "chosen", "rows in float64, MB", "features' peak, MB", "estimate's peak, MB", "CPU s"]
    return markdown_table(header, rows)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--case":
        print(json.dumps(measure(sys.argv[2])))
        sys.exit(0)
    args = parser(__doc__).parse_args()
    cases = {}
    for name in CASES:
        child = subprocess.run(
            [sys.executable, __file__, "--case", name], capture_output=True, text=True, check=True
        )
        cases[name] = json.loads(child.stdout.splitlines()[-1])
        print(name, cases[name], flush=True)
    write(args.results, "auto_memory", {"provenance": kernel_provenance(), "cases": cases}, table(cases))
