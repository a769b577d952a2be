"""The benchmark scripts import their siblings by bare name (``import _prelude``, ``from bmi_suite import
...``), as Python allows a script run from its folder: the folder goes on sys.path for every test here,
whichever test file runs first or alone."""

import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parents[2] / "benchmarks")
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
