"""IDTxl's BROJA decomposition (the Tartu estimator: exponential-cone programming by ECOS, Makkeh, Theis
& Vicente 2018), run in IDTxl's own virtual environment (numpy, ecos and IDTxl alone, never iblearn):
``<IDTxl's python> pid_idtxl.py``.

Reads JSON ``[{"name", "p"}]`` (tables ``p[x1, x2, t]``) on stdin and writes, per case,
``{"name", "atoms_bits": {"{1}{2}", "{1}", "{2}", "{12}"} or null, "num_err", "cpu_s"}`` (thread
CPU seconds of the solve; null where IDTxl raised).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np
from idtxl import synergy_tartu


def run(case: dict[str, Any]) -> dict[str, Any]:
    p = np.asarray(case["p"], dtype=float)
    pdf = {(int(t), int(a), int(b)): float(p[a, b, t]) for a, b, t in np.argwhere(p > 0)}
    start = time.thread_time()
    try:
        r = synergy_tartu.pid(pdf_dirty=pdf, cone_solver="ECOS", output=0, keep_solver_object=False)
        atoms: dict[str, float] | None = {
            "{1}{2}": r["SI"],
            "{1}": r["UIY"],
            "{2}": r["UIZ"],
            "{12}": r["CI"],
        }
        err = [float(e) for e in r["Num_err"]]
    except Exception:  # a peer's failure is a row, not a crash
        atoms, err = None, []
    return {"name": case["name"], "atoms_bits": atoms, "num_err": err, "cpu_s": time.thread_time() - start}


if __name__ == "__main__":
    json.dump([run(c) for c in json.load(sys.stdin)], sys.stdout)
