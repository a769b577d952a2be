"""A peer's discrete entropy estimators, run in the peer's own virtual environment (it imports numpy
and the peer alone, never iblearn): ``<peer python> discrete_peer.py ndd|infomeasure``.

Each line on stdin is a JSON list of jobs ``{"counts": [positive counts], "k": K or null}``; each line
written back is, per job, ``{estimator: [value, sd or null, thread CPU seconds] or null}`` in nats
(null where the peer raised or gave a non-finite value). A first line reports the peer's version.

infomeasure reads samples, not counts: the samples are made from the counts before the clock starts.
Its Zhang and Bonachela estimators cost O(N^2) or more: they run up to the sizes in ``CAPS``.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

#: infomeasure's approaches, by the names the benchmark reports.
INFOMEASURE = {
    "plugin": "discrete",
    "miller_madow": "miller_madow",
    "grassberger": "grassberger",
    "chao_shen": "chao_shen",
    "zhang": "zhang",
    "cwj": "chao_wang_jost",
    "shrinkage": "shrink",
    "bonachela": "bonachela",
    "ansb": "ansb",
    "nsb": "nsb",
}
#: The largest N an infomeasure approach runs at (above it one call takes seconds to minutes).
CAPS = {"zhang": 1000, "bonachela": 10000}


def _timed(call: Callable[[], Any]) -> list[Any] | None:
    start = time.thread_time()
    try:
        out = call()
    except Exception:
        return None
    seconds = time.thread_time() - start
    value, sd = out if isinstance(out, tuple) else (out, None)
    if value is None or not math.isfinite(float(value)):
        return None
    return [float(value), None if sd is None else float(sd), seconds]


def _ndd(counts: np.ndarray, k: int | None) -> dict[str, Any]:
    import ndd  # type: ignore[import-not-found]

    out = {"nsb": _timed(lambda: ndd.entropy(counts, return_std=True))}
    if k is not None:
        out["nsb_k"] = _timed(lambda: ndd.entropy(counts, k=k, return_std=True))
    return out


def _infomeasure(counts: np.ndarray, k: int | None) -> dict[str, Any]:
    import infomeasure as im  # type: ignore[import-not-found]

    samples = np.repeat(np.arange(len(counts)), counts)
    n = len(samples)
    out: dict[str, Any] = {}
    for name, approach in INFOMEASURE.items():
        if n <= CAPS.get(name, n):
            out[name] = _timed(partial(im.entropy, samples, approach=approach, base="e"))
    return out


def main(peer: str) -> None:
    warnings.simplefilter("ignore")
    run = {"ndd": _ndd, "infomeasure": _infomeasure}[peer]
    module = __import__(peer)
    print(json.dumps({"version": getattr(module, "__version__", None)}), flush=True)
    for line in sys.stdin:
        jobs = json.loads(line)
        answers = [run(np.asarray(j["counts"], dtype=np.int64), j["k"]) for j in jobs]
        print(json.dumps(answers), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
