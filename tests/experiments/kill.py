"""Kill a reproduction at a write and resume it: the rows must be those of a run never stopped.

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

from iblearn import records
from iblearn.experiments import ReproduceOptions
from iblearn.records import RunFolder

TIMINGS = {"seconds"}  # wall-clock columns: the only ones a resumed run may change


class Killed(Exception):
    pass


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
    write = records.atomic_write_bytes

    def counting(*args: Any) -> None:
        nonlocal writes
        writes += 1
        write(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(records, "atomic_write_bytes", counting)
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
            mp.setattr(records, "atomic_write_bytes", killing)
            run(ReproduceOptions(out=out), config)
        resumed = run(ReproduceOptions(out=out, resume=True), config)
        got, want = _rows(resumed), _rows(reference)
        assert got == want, (
            f"killed at write {at} of {writes}: rows only in the resumed run "
            f"{sorted(set(got) - set(want))[:2]}, only in the unbroken run {sorted(set(want) - set(got))[:2]}"
        )
        assert _results(resumed) == _results(reference), f"killed at write {at} of {writes}"
