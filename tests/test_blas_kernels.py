"""Seeded draws and Monte Carlo means are the same whatever BLAS kernel numpy's OpenBLAS picks for the CPU.

A factor of a covariance whose eigenvalues repeat (equal correlations, several pairs of one rho) is not
unique in its eigenvectors: numpy's and scipy's default factor (the SVD) then follows the kernel's
rounding, and the rows drawn from a seed differ between an AVX2 and an AVX-512 machine. The library
draws through a Cholesky factor instead, the same on every machine up to rounding. OpenBLAS takes its
kernel from ``OPENBLAS_CORETYPE``: a child process on the oldest x86-64 kernel (Prescott) must give what
this process gives on the kernel picked for this CPU (on an AVX-512 CPU, another kernel)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def draws() -> dict[str, list]:
    """A seeded CCS redundancy of equal correlations and a Student-t draw of three pairs of one rho."""
    from iblearn.data import student_t
    from iblearn.functional.multivariate.pid_gaussian import gaussian_pid

    cov = np.full((3, 3), 0.5)
    np.fill_diagonal(cov, 1.0)
    x, y = student_t(3, 3, 2.0, 0.9).sample_numpy(50, seed=3)
    ccs = [float(v) for v in gaussian_pid(cov, (1, 1, 1), "ccs", n_draws=20_000)]
    return {"ccs": ccs, "student": np.hstack([x, y]).tolist()}


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 kernel names")
def test_draws_of_repeated_eigenvalues_are_the_same_on_every_kernel():
    code = "import json; from tests.test_blas_kernels import draws; print(json.dumps(draws()))"
    env = os.environ | {"OPENBLAS_CORETYPE": "Prescott"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    oldest, here = json.loads(done.stdout.strip().splitlines()[-1]), draws()
    for key in ("ccs", "student"):
        np.testing.assert_allclose(np.array(oldest[key]), np.array(here[key]), rtol=1e-12, atol=1e-12)
