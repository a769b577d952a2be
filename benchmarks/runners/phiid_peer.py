"""phyid's Phi-ID, run in phyid's own virtual environment from a checkout of
github.com/Imperial-MIND-lab/integrated-info-decomp (numpy, scipy and phyid alone, never iblearn):
``PYTHONPATH=<checkout> <phyid's python> phiid_peer.py``.

Reads JSON ``[{"name", "series": (N, 2) list, "lag", "kind", "redundancy"}]`` on stdin and writes, per
case, ``{"name", "kind", "redundancy", "atoms": {name: mean}, "local_head": {name: first 5 values},
"cpu_s"}``: phyid's atoms as it returns them (nats for "gaussian", bits for "discrete", where it takes
log2), thread CPU seconds of ``calc_PhiID``.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import numpy as np
from phyid.calculate import calc_PhiID


def run(case: dict[str, Any]) -> dict[str, Any]:
    s = np.asarray(case["series"], dtype=float)
    start = time.thread_time()
    atoms, _ = calc_PhiID(
        s[:, 0], s[:, 1], int(case["lag"]), kind=case["kind"], redundancy=case["redundancy"].upper()
    )
    spent = time.thread_time() - start
    return {
        "name": case["name"],
        "kind": case["kind"],
        "redundancy": case["redundancy"],
        "atoms": {k: float(np.mean(v)) for k, v in atoms.items()},
        "local_head": {k: [float(x) for x in v[:5]] for k, v in atoms.items()},
        "cpu_s": spent,
    }


if __name__ == "__main__":
    json.dump([run(c) for c in json.load(sys.stdin)], sys.stdout)
