"""`make dist` builds a wheel that installs into a fresh environment and runs.

The wheel goes into a new venv with ``pip install --no-deps``; its dependencies (torch, numpy, scipy,
rich) come from this venv's site-packages, added behind the new venv's own by a ``.pth`` line, so
nothing is downloaded. That line does not run this venv's own ``.pth`` files, so the editable install
of the source tree stays out of sight: the test checks that iblearn is imported from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = """
import torch
torch.set_num_threads(1)
import iblearn
from iblearn.data import get_task
from iblearn.estimators import KSG
task = get_task("bivariate-normal-0.75")
x, y = task.sample(1000, seed=0)
print(iblearn.__file__)
print(float(KSG(k=3)(x, y)), task.mutual_information)
"""


@pytest.mark.slow  # builds the C kernels and a fresh venv: about 25 s (make test-all)
def test_make_dist_wheel_installs_and_estimates(tmp_path: Path) -> None:
    # This venv's python and pip; -o: it counts as set up, so that an edited Makefile does not reinstall it.
    make = [
        "make",
        "--no-print-directory",
        "-o",
        f"{sys.prefix}/.installed",
        f"VENV={sys.prefix}",
        f"DIST={tmp_path / 'dist'}",
        "dist",
    ]
    build = subprocess.run(make, cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("iblearn-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "iblearn/py.typed" in names and "iblearn/estimators/__init__.py" in names
    requires = {line.split()[1] for line in metadata.splitlines() if line.startswith("Requires-Dist:")}
    assert {"torch>=2.2", "numpy>=1.24", "scipy>=1.10", "rich>=13"} <= requires

    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = Path(subprocess.check_output([python, "-c", where], text=True).strip())
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    (purelib / "zz_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run([python, "-c", RUN], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    where, numbers = run.stdout.split("\n")[:2]
    assert Path(where).is_relative_to(env_dir), where  # the wheel's copy, not the source tree
    estimate, truth = map(float, numbers.split())
    assert abs(estimate - truth) < 0.05
    command = subprocess.run([env_dir / "bin" / "iblearn", "--help"], capture_output=True, text=True, env=env)
    assert command.returncode == 0 and "estimate" in command.stdout
