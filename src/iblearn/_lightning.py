"""The base class of iblearn's PyTorch Lightning callbacks: Lightning's ``Callback`` when Lightning is
installed (so ``Trainer`` accepts them), otherwise ``object`` (they are then plain objects with the same
hooks, which is how the tests drive them)."""

from typing import Any

CallbackBase: Any
try:
    from lightning.pytorch.callbacks import Callback as CallbackBase  # type: ignore[import-not-found,no-redef]
except ImportError:
    try:
        from pytorch_lightning.callbacks import (  # type: ignore[import-not-found,no-redef]
            Callback as CallbackBase,
        )
    except ImportError:
        CallbackBase = object

__all__ = ["CallbackBase"]
