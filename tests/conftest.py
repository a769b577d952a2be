"""Shared test set-up: one thread (two shared cores), fixed seeds, data from ../shared/data."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

torch.set_num_threads(1)
# The same examples on every run, so that CI cannot turn red on a draw; `pytest
# --hypothesis-profile=explore` searches at random instead (such a search found the negative
# matrix-based MI that test_renyi.py now pins down).
settings.register_profile("iblearn", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=200)
settings.load_profile("iblearn")
os.environ.setdefault("IBLEARN_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


def _no_network(url: object, *args: object, **kwargs: object) -> None:
    """Tests read data from IBLEARN_DATA: one that would download fails at once, as a loader offline does."""
    raise urllib.error.URLError(f"tests do not reach the network ({url})")


urllib.request.urlopen = _no_network  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread for the test, the count before it restored after (for tests whose work would
    otherwise run on the threads another test set)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def ar1(phi: float, n: int, seed: int | np.random.Generator) -> np.ndarray:
    """An AR(1) series ``x_t = phi x_{t-1} + e_t`` of ``n`` steps from ``x_0 = 0``, standard normal e
    drawn from ``seed`` (a generator is advanced, for a test that draws more from it)."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + rng.standard_normal()
    return x


def common_cause(n: int, seed: int, coupling: float = 0.0) -> tuple[torch.Tensor, ...]:
    """x and y noisy copies of z; ``coupling`` adds x to y, a dependence beyond z."""
    g = gen(seed)
    z = torch.randn(n, 1, generator=g, dtype=torch.float64)
    x = z + 0.5 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    y = z + coupling * x + 0.5 * torch.randn(n, 1, generator=g, dtype=torch.float64)
    return x, y, z


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` run where torch sees a CUDA device (``make gpu-check``) and skip elsewhere."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (make gpu-check runs these on one)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The run's CPU time (this process and the processes it waited for), the figure the suite's
    budget is kept in: wall time on a shared machine says little."""
    import resource

    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    seconds = sum(u.ru_utime + u.ru_stime for u in used)
    terminalreporter.write_line(f"CPU time: {seconds:.0f} s (the test process and its children)")
