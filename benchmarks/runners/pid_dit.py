"""dit's partial information decompositions, run in dit's own virtual environment (it imports numpy and
dit alone, never iblearn): ``<dit's python> pid_dit.py gates`` or ``... pid_dit.py run``.

``gates`` writes dit's canonical two- and three-source distributions (``dit.pid.distributions``) as
JSON ``{name: nested table p[x_1, ..., x_n, t]}``, each variable's symbols in sorted order.
``run`` reads JSON ``[{"name", "p", "measures"}]`` on stdin and writes, per case and measure,
``{"name", "measure", "atoms_bits": {node: value}, "cpu_s"}`` (thread CPU seconds of the whole
decomposition; atoms null where dit raised). dit keys a node by its sets of sources counted from 0
(``((0,), (1,))``); the atoms here are named as iblearn names them: from 1, smaller sets first
(``{1}{2}``, ``{3}{12}``).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from typing import Any

import dit
import numpy as np
from dit.pid import PID_BROJA, PID_CCS, PID_MMI, PID_SX, PID_WB, PID_dep
from dit.pid.distributions import bivariates, trivariates

MEASURES = {"mmi": PID_MMI, "min": PID_WB, "broja": PID_BROJA, "ccs": PID_CCS, "dep": PID_dep, "sx": PID_SX}


def table(d: Any) -> list[Any]:
    """A dit distribution as a dense table, each variable's symbols sorted."""
    outcomes = [tuple(o) for o in d.outcomes]
    symbols = [sorted({o[i] for o in outcomes}) for i in range(len(outcomes[0]))]
    p = np.zeros([len(s) for s in symbols])
    for o, w in zip(outcomes, d.pmf, strict=True):
        p[tuple(s.index(v) for s, v in zip(symbols, o, strict=True))] += w
    return p.tolist()


def distribution(p: np.ndarray) -> Any:
    cells = [idx for idx in itertools.product(*(range(c) for c in p.shape)) if p[idx] > 0]
    return dit.Distribution(cells, [p[c] for c in cells])


def name(node: Any) -> str:
    sets = sorted((tuple(sorted(s)) for s in node), key=lambda s: (len(s), s))
    return "".join("{" + "".join(str(i + 1) for i in s) + "}" for s in sets)


def run(case: dict[str, Any], measure: str) -> dict[str, Any]:
    p = np.asarray(case["p"], dtype=float)
    n = p.ndim - 1
    d = distribution(p)
    start = time.thread_time()
    try:
        pid = MEASURES[measure](d, [[i] for i in range(n)], [n])
        atoms: dict[str, float] | None = {name(node): float(pid.get_pi(node)) for node in pid._lattice}
    except Exception:  # a peer's failure is a row, not a crash
        atoms = None
    return {
        "name": case["name"],
        "measure": measure,
        "atoms_bits": atoms,
        "cpu_s": time.thread_time() - start,
    }


def main() -> None:
    if sys.argv[1] == "gates":
        gates = {f"2:{k}": table(d) for k, d in bivariates.items()}
        gates |= {f"3:{k}": table(d) for k, d in trivariates.items()}
        json.dump({"dit": dit.__version__, "gates": gates}, sys.stdout)
        return
    cases = json.load(sys.stdin)
    json.dump([run(c, m) for c in cases for m in c["measures"]], sys.stdout)


if __name__ == "__main__":
    main()
