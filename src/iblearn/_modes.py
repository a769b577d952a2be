"""Train/eval modes of modules that iblearn runs without training them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def evaluating(module: object) -> Iterator[None]:
    """``module`` in eval mode for the duration, each submodule's own mode restored afterwards: running
    a network to measure or check it must not move its BatchNorm statistics nor apply its dropout.
    Anything that is not an ``nn.Module`` (a plain function) has no mode and is left as it is."""
    modes = [(m, m.training) for m in module.modules()] if isinstance(module, nn.Module) else []
    for m, _ in modes:
        m.training = False
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode
