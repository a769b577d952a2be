"""mypy reads an estimator's settings from its ``__init__``: an unknown keyword is a type error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SNIPPET = """
from iblearn.estimators import KSG, LMI, MINE, NWJ, InfoNCE

MINE(1, 1, lr=1e-3, hidden=(64,))
InfoNCE(2, 2, chunk=128, seed=1)
LMI(2, 2, latent=4, patience=2)
KSG(5, seed=1)
NWJ(1, y_classes=3, n_negatives=4)
MINE(1, 1, bogus=1)
NWJ(1, 1, bogus=1)
"""


@pytest.mark.slow
def test_mypy_refuses_an_unknown_setting(tmp_path: Path) -> None:
    snippet = tmp_path / "uses_settings.py"
    snippet.write_text(SNIPPET)
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(root / "pyproject.toml"), str(snippet)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=600,
    )
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, run.stdout
    assert ':9: error: Unexpected keyword argument "bogus" for "MINE"' in errors[0]
    assert ':10: error: Unexpected keyword argument "bogus" for "NWJ"' in errors[1]
