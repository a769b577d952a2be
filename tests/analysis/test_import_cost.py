"""``import iblearn.analysis`` (for the IB curve or the recorder) imports no PyTorch Lightning, and so
no ``torch._dynamo`` (Lightning's import pulls it in): seconds of CPU that only the callbacks need
(they import it on first use: ``from iblearn.analysis import InformationPlaneCallback``)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("lightning", "pytorch_lightning", "torch._dynamo")


def test_importing_the_packages_leaves_lightning_alone():
    script = (
        "import sys\nimport iblearn.analysis, iblearn.optim, iblearn.training\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
