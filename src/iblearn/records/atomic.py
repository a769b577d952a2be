"""Atomic writes and JSON: what every record of a run is written and read with.

A write goes to a temporary file in the same folder, then ``os.replace``, so a killed run never leaves
a torn file. Every file of the records is written by :func:`atomic_write_bytes` (the other modules of
:mod:`iblearn.records` call it through this module), so one function sees each write a run makes.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: What a refusal of a run's file tells the user to do.
RESTART = "delete it to start that part of the run over"

_UMASK = os.umask(0)  # read once, at import: os.umask can only be read by setting it
os.umask(_UMASK)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half of it.

    The file gets the mode a plain ``open`` would give it (``mkstemp`` makes it owner-only), and the
    folder is synced after the rename, so the new name survives a power cut too.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's PID in the name lets a later run remove what a killed writer left (see RunFolder).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:  # a full disk: write() names no file
            raise type(e)(e.errno, e.strerror, str(path)) from e
        raise
    if hasattr(os, "O_DIRECTORY"):  # POSIX; Windows cannot open a folder to sync it
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return jsonable(value.detach().cpu().tolist())
    if isinstance(value, np.generic | np.ndarray):
        return jsonable(value.tolist())  # then NaN and Inf are caught below, as for Python floats
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)  # JSON has no NaN/Inf; keep them readable
    return value


def cell(value: Any) -> str:
    v = jsonable(value)
    return v if isinstance(v, str) else json.dumps(v) if isinstance(v, list | dict) else str(v)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    atomic_write_text(path, json.dumps(jsonable(data), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    present(Path(path))
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    except RecursionError:  # json nests by recursion: a file of 100,000 '[' exhausts the stack
        raise ValueError(f"{path}: not valid JSON (nested too deeply)") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not valid JSON (not UTF-8 text: {err.reason})") from None


def present(path: str | os.PathLike[str]) -> bool:
    """Whether a run's file is there. Anything but a regular file in its place raises ValueError: opening
    a FIFO blocks until another process writes to it, and a folder or a device is no record."""
    path = Path(path)
    if not path.exists():
        return False
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file; {RESTART}")
    return True
