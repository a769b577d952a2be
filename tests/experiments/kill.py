"""Kill a reproduction at a write and resume it: the rows must be those of a run never stopped; and the
helpers the reproductions' tests share to kill a run (:class:`Killed`) and to fake its images.

Every record a run leaves goes through :func:`iblearn.records.atomic_write_bytes` (config, metrics,
checkpoints, cached range tests, results), so raising there on its n-th call is a kill just before
that write lands: the most a real kill can leave half done.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from iblearn import records
from iblearn.experiments import ReproduceOptions
from iblearn.records import RunFolder

TIMINGS = {"seconds"}  # wall-clock columns: the only ones a resumed run may change


class Killed(Exception):
    """Raised where a test stops a run, as a kill would."""


def kill_after(n: int) -> Callable[[str], None]:
    """A ``progress`` callback that kills the run at its ``n``-th message."""
    calls: list[str] = []

    def progress(message: str) -> None:
        calls.append(message)
        if len(calls) == n:
            raise Killed

    return progress


def kill_at(prefix: str) -> Callable[[str], None]:
    """A ``progress`` callback that kills the run at the first message that starts with ``prefix``."""

    def progress(message: str) -> None:
        if message.startswith(prefix):
            raise Killed

    return progress


def killed_then_resumed(
    run: Callable[..., Path], config: Any, out: Path, kill: Callable[[str], None]
) -> tuple[list[dict[str, str]], Path]:
    """``run(options, config)`` into ``out`` killed by the ``progress`` callback ``kill`` (which must raise
    :class:`Killed`), then resumed there: the rows the killed run left, and the resumed run's folder."""
    with pytest.raises(Killed):
        run(ReproduceOptions(out=out, progress=kill), config)
    done = RunFolder(out).metrics()
    return done, run(ReproduceOptions(out=out, resume=True), config)


def image_loader(train: int, test: int, *, high: int = 256, stripes: bool = True) -> Callable[..., Any]:
    """A stand-in for ``load_images(name, split)``: ``train`` or ``test`` random 28 x 28 images of 10
    classes, pixels below ``high``, and where ``stripes`` a bright row 2c in the images of class c,
    something to learn. The tests are about the machinery, and must not depend on data."""
    from iblearn.data.vision import ImageData

    def load(name: str, split: str) -> ImageData:
        n = train if split == "train" else test
        gen = torch.Generator().manual_seed(0 if split == "train" else 1)
        labels = torch.randint(0, 10, (n,), generator=gen)
        images = torch.randint(0, high, (n, 1, 28, 28), dtype=torch.uint8, generator=gen)
        if stripes:
            images[torch.arange(n), 0, labels * 2, :] = 255
        return ImageData(images, labels, name, split)

    return load


def _rows(path: Path) -> list[str]:
    rows = [{k: v for k, v in r.items() if k not in TIMINGS} for r in RunFolder(path).metrics()]
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def _results(path: Path) -> Any:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in TIMINGS}
        return [strip(v) for v in value] if isinstance(value, list) else value

    out = json.loads((path / "results.json").read_text())
    out.pop("environment")
    return strip(out)


def assert_resumes_exactly(
    run: Callable[..., Path], config: Any, tmp_path: Path, kills: int = 2, seed: int = 0
) -> None:
    """Run ``run(options, config)`` unbroken, then ``kills`` times killed at a write drawn at random
    (seeded) and resumed with ``--resume``; each resumed folder must hold the unbroken run's rows and
    results."""
    writes = 0
    write = records.atomic.atomic_write_bytes

    def counting(*args: Any) -> None:
        nonlocal writes
        writes += 1
        write(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(records.atomic, "atomic_write_bytes", counting)
        reference = run(ReproduceOptions(out=tmp_path / "unbroken"), config)
    for at in sorted(random.Random(seed).sample(range(2, writes), kills)):  # the first write is config
        calls = 0

        def killing(*args: Any, at: int = at) -> None:
            nonlocal calls
            calls += 1
            if calls == at:
                raise Killed
            write(*args)

        out = tmp_path / f"killed-at-{at}"
        with pytest.MonkeyPatch.context() as mp, pytest.raises(Killed):
            mp.setattr(records.atomic, "atomic_write_bytes", killing)
            run(ReproduceOptions(out=out), config)
        resumed = run(ReproduceOptions(out=out, resume=True), config)
        got, want = _rows(resumed), _rows(reference)
        assert got == want, (
            f"killed at write {at} of {writes}: rows only in the resumed run "
            f"{sorted(set(got) - set(want))[:2]}, only in the unbroken run {sorted(set(want) - set(got))[:2]}"
        )
        assert _results(resumed) == _results(reference), f"killed at write {at} of {writes}"
