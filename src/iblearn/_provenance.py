"""What produced a result: the library versions, the device, the compiled kernels' instruction set and the
git commit (for results.json)."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch


def git_commit() -> str | None:
    """The commit checked out where this package's source lies, or None outside a git checkout."""
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=Path(__file__).resolve().parent,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        return None


def kernel_isa() -> str | None:
    """The instruction set the compiled kNN kernel runs in this process (``avx512``, ``avx2``,
    ``portable``: see ``iblearn.functional.knn.kernel_isa``), or None where this process has not loaded it
    (it ran no kernel). Read from the loaded module, since this module imports no layer; every import of
    ``iblearn.functional`` loads it."""
    return getattr(sys.modules.get("iblearn.functional.knn._maxnorm"), "ISA", None)


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The processor's model name from /proc/cpuinfo (None where there is none), with its family and
    model numbers where it gives them: kernels' speeds differ by processor as much as by instruction
    set, and a virtual machine's name ("AMD EPYC") is the same for processors of different generations
    (family 25 model 1 has no AVX-512, model 17 has it)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if not name.strip():
            break  # the first processor's block ends at its blank line
        fields.setdefault(name.strip(), value.strip())
    model = fields.get("model name")
    if model is None:
        return None
    if "cpu family" in fields and "model" in fields:
        return f"{model} (family {fields['cpu family']}, model {fields['model']})"
    return model


def environment() -> dict[str, Any]:
    """Library versions, device, machine and its CPU model, the kernels' instruction set, date (UTC) and
    git commit, for
    results.json: every record says what code made it, where and when."""
    try:
        from importlib.metadata import version

        iblearn_version = version("iblearn")
    except Exception:  # not installed as a distribution (e.g. run from a source tree)
        iblearn_version = None
    return {
        "iblearn": iblearn_version,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_threads": torch.get_num_threads(),
        "kernel_isa": kernel_isa(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "cpu": cpu_model(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }
