"""Tests of the command line; :func:`strict_json` reads its JSON output as a strict parser would."""

from __future__ import annotations

import json
from typing import Any


def strict_json(text: str) -> Any:
    """``text`` parsed as JSON, refusing NaN and Infinity (not JSON, though Python writes them)."""

    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)
