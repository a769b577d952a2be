"""Strict JSON for ``--json``: what ``json.dumps(..., allow_nan=False)`` takes, every command alike."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any, key: str, nonfinite: dict[str, str]) -> Any:
    """``value`` with every infinite or NaN float replaced by None, recorded in ``nonfinite`` by its
    dotted key (JSON has no such numbers; jq and JSON.parse refuse Python's ``Infinity``)."""
    if isinstance(value, dict):
        return {k: finite(v, f"{key}.{k}" if key else str(k), nonfinite) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v, f"{key}.{i}", nonfinite) for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        nonfinite[key] = str(value)
        return None
    return value


def strict(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` made strict (:func:`finite`), with ``nonfinite``: the keys of the numbers it nulled
    and what they were, or None."""
    nonfinite: dict[str, str] = {}
    cleaned: dict[str, Any] = finite(record, "", nonfinite)
    return cleaned | {"nonfinite": nonfinite or None}


def nonfinite_estimate(value: float, quantity: str) -> str | None:
    """Why the command fails where an estimate is infinite or NaN (None where it is finite): such a
    value is never an answer to report, whatever the output's form."""
    if math.isfinite(value):
        return None
    return (
        f"{quantity} = {value}, not a finite estimate, so none is reported; try another --method or "
        "check the data (a column copied on both sides makes MI infinite)"
    )


def exit_code(value: float, quantity: str) -> int:
    """After ``--json`` printed its record: 0, or 2 with the reason on stderr where ``value`` is not
    finite (:func:`nonfinite_estimate`)."""
    from iblearn.cli.console import err

    why = nonfinite_estimate(value, quantity)
    if why is None:
        return 0
    err.print(f"[red]error:[/red] {why}")
    return 2
