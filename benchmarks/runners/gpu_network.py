"""The network-inference rows of benchmarks/gpu_check.py: ``infer_network(device=...)`` against the
exact CPU path on a small network (correctness), and one target of a 100-process network at T = 1,000
on the device (time), the size of IDTxl's runtime page."""

from __future__ import annotations

import time
from typing import Any

import torch

from benchmarks.network import target_settings
from benchmarks.runners.gpu_rows import fused_kernel
from iblearn.network import infer_network
from iblearn.network.embedding import embed
from iblearn.network.simulate import random_var_network
from iblearn.network.target import infer_target

#: The settings of the network benchmark (benchmarks/network.py): lags 1-3, 200 surrogates.
SETTINGS = target_settings("ksg")


def check_network(device: torch.device, quick: bool) -> dict[str, Any]:
    """A VAR network of 5 processes (T = 300, 50 surrogates): the device's edges equal the exact CPU
    path's, each edge's conditional TE within 1e-9 nats."""
    data = random_var_network(5, 300, seed=1).data
    kw: dict[str, Any] = {"max_lag": 2, "method": "ksg", "n_permutations": 50 if quick else 100}
    cpu = infer_network(data, **kw)
    dev = infer_network(data, device=str(device), **kw)
    problems = [] if dev.edges == cpu.edges else [f"edges {dev.edges} on the device, {cpu.edges} on the CPU"]
    shared = dev.edge_te.keys() & cpu.edge_te.keys()
    diff = max((abs(dev.edge_te[e][0] - cpu.edge_te[e][0]) for e in shared), default=0.0)
    if diff > 1e-9:
        problems.append(f"conditional TE differs by {diff:.3g} nats")
    return {"ok": not problems, "problems": problems, "diff": diff}


def network_target_speed(
    device: torch.device, nodes: int, samples: int, fused: bool = True
) -> dict[str, Any]:
    """Seconds of one target (process 0) of a random VAR network of ``nodes`` processes x ``samples``
    on the device, and the whole network's time predicted as ``nodes`` such targets. The CPU figure is
    the network benchmark's (its KSG row at 100 processes), too long to repeat here. ``host_s``, the
    thread CPU time of the call: the host's share (the conditions' lists, the candidates' own
    estimates, the surrogates laid out and made ready), which the device's counting overlaps; near
    ``device_s``, the target waits on the host. ``fused``: the surrogates counted by the fused kernel
    where it is usable (else torch's brute force)."""
    emb = embed([random_var_network(nodes, samples, seed=0).data], SETTINGS.max_lag)
    with fused_kernel(fused):
        start, host = time.perf_counter(), time.thread_time()
        result = infer_target(emb, 0, SETTINGS, device=str(device))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds, host = time.perf_counter() - start, time.thread_time() - host
    return {
        "device_s": seconds,
        "host_s": host,
        "cpu_s": None,
        "network_predicted_s": seconds * nodes,
        "sources_found": len(result.sources),
        "cpu_skipped": "CPU: benchmarks/results/network's KSG rows",
    }
