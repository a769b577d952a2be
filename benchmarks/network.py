"""Network inference by multivariate transfer entropy against IDTxl and tigramite on random sparse VAR
networks.

    python -m benchmarks.network [--nodes 5 10 20] [--samples 1000] [--seeds 3] [--libraries ...]
        [--targets N] [--timeout S] [--redo] [--merge DIR] [--out DIR | --write-results]

Each network: every process its own lag-1 memory, 2 - 3 sources at lags 1 - 3 with couplings 0.3 - 0.5,
one of them through the source's square (:func:`iblearn.network.simulate.random_var_network`). Each
library searches lags 1 - 3 with 200 surrogates a test and alpha 0.05; precision and recall are over
the directed pairs (source, target), against the true ones. ``seconds`` is the CPU time of the
inference on one thread (the JVM's threads included for IDTxl); with ``--targets N`` the slow
libraries (iblearn's and IDTxl's KSG, tigramite's CMIknn) infer only the first N targets, and
``seconds`` is that time scaled to all targets (precision and recall then over those targets'
sources). tigramite then tests only the links into those targets, so its MCI conditions hold the
targets' parents but not their sources' (the other processes' parents are not searched).

A run resumes: a cell (library, nodes, samples, seed) already in ``summary.json`` is kept, not measured
again, unless ``--redo``; ``--merge DIR`` starts from the rows of another run folder (with
``--write-results`` and no ``--libraries``: a scratch run written as the committed results). Each row
records the commit it ran at, ``config.json`` each run's settings, provenance and sources (the code
behind its rows, which the page's staleness note follows: ``sources.json`` for iblearn's,
``PEER_SOURCES`` for the peers'). A peer cell that
runs past ``--timeout`` seconds (wall clock) is stopped and listed under ``left_out`` with that bound,
as is a peer that cannot start.

Libraries: ``iblearn-gaussian``, ``iblearn-ksg`` (in this process), ``idtxl`` (JidtKraskovCMI, k = 4),
``tigramite-parcorr`` and ``tigramite-cmiknn`` (PCMCI), each peer in its own venv through
``benchmarks/runners/network_peer.py``; a peer that cannot start is left out and said so.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.network_table import markdown
from benchmarks.runners.script import (
    RESULTS,
    numpy_provenance,
    parser,
    positive_float,
    positive_int,
    stamped,
)
from iblearn.network import infer_network
from iblearn.network.simulate import random_var_network
from iblearn.records import write_json

PEER = Path(__file__).resolve().parent / "runners" / "network_peer.py"
PYTHONS = {"idtxl": "/work/peers/idtxl/bin/python", "tigramite": "/work/peers/tigramite/bin/python"}
LIBRARIES = ("iblearn-gaussian", "iblearn-ksg", "idtxl", "tigramite-parcorr", "tigramite-cmiknn")
#: Libraries slow enough that --targets applies to them.
SLOW = ("iblearn-ksg", "idtxl", "tigramite-cmiknn")
SETTINGS: dict[str, Any] = {"max_lag": 3, "min_lag": 1, "alpha": 0.05, "n_permutations": 200}
#: the code behind the peers' rows (iblearn's rows have the folder's ``sources.json``)
PEER_SOURCES = (
    "benchmarks/network.py",
    "benchmarks/runners/network_peer.py",
    "src/iblearn/network/simulate.py",
)


def scores(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> tuple[float, float]:
    """Precision and recall of directed pairs (precision 1 where nothing is found)."""
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), (hits / len(truth) if truth else 1.0)


def target_settings(method: str) -> Any:
    """:data:`SETTINGS` as one target's search takes them (seed 0, shifted surrogates)."""
    from iblearn.network.target import Settings

    return Settings(**SETTINGS, method=method, seed=0, surrogates="shift")


def run_iblearn(data: np.ndarray, method: str, targets: list[int] | None) -> tuple[list[list[int]], float]:
    """Edges and CPU seconds of infer_network (on the first ``targets`` only, where given: the other
    processes then stay sources)."""
    start = time.process_time()
    if targets is None:
        result = infer_network(data, method=method, **SETTINGS)
        return [list(e) for e in result.edges], time.process_time() - start
    from iblearn.network.embedding import embed
    from iblearn.network.inference import corrected
    from iblearn.network.target import infer_target

    st = target_settings(method)
    emb = embed([data], 3)
    found = [infer_target(emb, j, st) for j in targets]
    keep = corrected([r.omnibus_p for r in found], 0.05, True)
    edges = [[s, r.target, lag] for r, k in zip(found, keep, strict=True) if k for s, lag in r.sources]
    return edges, time.process_time() - start


def run_peer(
    library: str, data: np.ndarray, targets: list[int] | None, python: str, timeout: float | None = None
) -> dict[str, Any]:
    """The answer of ``network_peer.py`` in the peer's venv (``subprocess.TimeoutExpired`` past
    ``timeout`` seconds)."""
    settings = dict(SETTINGS, targets=targets, test=library.split("-")[-1])
    return ask_peer(library.split("-")[0], data, settings, python, timeout)


def ask_peer(
    library: str, data: np.ndarray, settings: dict[str, Any], python: str, timeout: float | None = None
) -> dict[str, Any]:
    """The answer (one JSON line) of ``network_peer.py`` run by ``python`` on ``data`` with
    ``settings``; a RuntimeError with the last line of its errors where it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "data.npy", data)
        request = {"library": library, "data": str(Path(tmp) / "data.npy"), "settings": settings}
        (Path(tmp) / "request.json").write_text(json.dumps(request))
        done = subprocess.run(
            [python, str(PEER), str(Path(tmp) / "request.json")],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cell(
    library: str, nodes: int, samples: int, seed: int, n_targets: int | None, timeout: float | None = None
) -> dict[str, Any]:
    """One row of ``summary.json``: ``library`` on the network of ``nodes`` processes, ``samples`` long,
    of ``seed``, stamped with the commit it ran at."""
    net = random_var_network(nodes, samples, seed=seed, nonlinear=1)
    targets = list(range(min(n_targets, nodes))) if (n_targets and library in SLOW) else None
    if library.startswith("iblearn"):
        edges, seconds = run_iblearn(net.data, library.split("-")[1], targets)
        version = peer_numpy = None
    else:
        answer = run_peer(library, net.data, targets, PYTHONS[library.split("-")[0]], timeout)
        edges, seconds, version = answer["edges"], answer["seconds"], answer["version"]
        peer_numpy = answer.get("numpy")
    kept = set(targets) if targets is not None else set(range(nodes))
    truth = {(s, t) for s, t, _ in net.edges if t in kept}
    precision, recall = scores({(s, t) for s, t, _ in edges if t in kept}, truth)
    scale = nodes / len(kept)
    return stamped(
        {
            "library": library,
            "nodes": nodes,
            "samples": samples,
            "lags": "1-3",
            "seed": seed,
            "precision": precision,
            "recall": recall,
            "seconds": seconds * scale,
            "targets_measured": len(kept),
            "threads": 1,
            "peer_version": version,
            "peer_numpy": peer_numpy,
        }
    )


def run_sources(libraries: list[str]) -> list[str]:
    """The code behind the rows of a run of ``libraries``: the folder's ``sources.json`` for iblearn's,
    :data:`PEER_SOURCES` for the peers'."""
    ours = any(name.startswith("iblearn") for name in libraries)
    theirs = any(not name.startswith("iblearn") for name in libraries)
    listed = json.loads((RESULTS / "network" / "sources.json").read_text()) if ours else []
    return list(dict.fromkeys([*listed, *(PEER_SOURCES if theirs else ())]))


def key(row: dict[str, Any]) -> tuple[Any, ...]:
    """What names a cell of the table."""
    return row["library"], row["nodes"], row["samples"], row["seed"]


def attempt(
    cell: tuple[str, int, int, int], n_targets: int | None, timeout: float | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The row of ``cell`` (library, nodes, samples, seed), or, where its peer cannot start or runs past
    ``timeout`` seconds, the entry that says so with the wall seconds it ran."""
    start = time.monotonic()
    try:
        return run_cell(*cell, n_targets, timeout), None
    except (RuntimeError, OSError, json.JSONDecodeError, subprocess.TimeoutExpired) as err:
        reason = f"over {err.timeout:g} s" if isinstance(err, subprocess.TimeoutExpired) else str(err)
        names = dict(zip(("library", "nodes", "samples", "seed"), cell, strict=True))
        return None, stamped(names | {"reason": reason, "wall_seconds": round(time.monotonic() - start, 1)})


def save(out: Path, record: dict[str, Any]) -> None:
    """``summary.json``, ``table.md`` and ``provenance.json`` (the commits the rows ran at, the machine,
    the date: what the folder's other files were made from) in ``out``."""
    write_json(out / "summary.json", record)
    commits = list(dict.fromkeys(r["commit"] for r in record["rows"] + record["left_out"] if r.get("commit")))
    prov = record["provenance"]
    write_json(
        out / "provenance.json", {"git_commits": commits, "machine": prov["machine"], "date": prov["date"]}
    )
    (out / "table.md").write_text(markdown(record), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--nodes", type=positive_int, nargs="+", default=[5, 10, 20])
    p.add_argument("--samples", type=positive_int, nargs="+", default=[1000])
    p.add_argument("--seeds", type=positive_int, default=3)
    p.add_argument("--libraries", nargs="*", choices=LIBRARIES, default=list(LIBRARIES))
    p.add_argument("--targets", type=positive_int, default=None, help="slow libraries: the first N targets")
    p.add_argument("--timeout", type=positive_float, default=None, help="a peer cell's limit, seconds")
    p.add_argument("--redo", action="store_true", help="measure cells already in summary.json again")
    p.add_argument("--merge", type=Path, default=None, help="a run folder whose rows and runs to start from")
    p.add_output(RESULTS / "network", "--out")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    config = {k: getattr(args, k) for k in ("nodes", "samples", "seeds", "libraries", "targets", "timeout")}
    provenance = numpy_provenance()
    start = args.merge or out
    runs = (
        json.loads((start / "config.json").read_text()).get("runs", [])
        if (start / "config.json").exists()
        else []
    )
    runs = [*runs, {"config": config, **provenance, "sources": run_sources(args.libraries)}]
    write_json(out / "config.json", {"settings": SETTINGS, "runs": runs})
    summary = out / "summary.json"
    old = json.loads((start / "summary.json").read_text()) if (start / "summary.json").exists() else {}
    rows: list[dict[str, Any]] = old.get("rows", [])
    left: list[dict[str, Any]] = old.get("left_out", [])
    # Each row carries the commit it ran at; the record's own provenance names the machine only.
    provenance = {k: v for k, v in provenance.items() if k != "git_commit"} | {"runs": len(runs)}
    for samples in args.samples:
        for nodes in args.nodes:
            for seed in range(args.seeds):
                for library in args.libraries:
                    cell = (library, nodes, samples, seed)
                    if not args.redo and any(key(r) == cell for r in rows):
                        continue
                    row, miss = attempt(cell, args.targets, args.timeout)
                    rows = [r for r in rows if key(r) != cell] + ([row] if row else [])
                    left = [x for x in left if key(x) != cell] + ([miss] if miss else [])
                    save(out, {"provenance": provenance, "rows": rows, "left_out": left})
                    print(json.dumps(row or miss), file=sys.stderr, flush=True)
    save(out, {"provenance": provenance, "rows": rows, "left_out": left})
    print(summary)


if __name__ == "__main__":
    main()
