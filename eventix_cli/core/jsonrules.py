"""JSON a user types or hands over in a file: RFC 8259 only.

Python's parser also accepts ``NaN``, ``Infinity`` and ``-Infinity``, and turns ``1e999`` into
infinity; no server can store those (they would become ``null`` on the way), so they are
refused here, with the input named, before anything is sent.
"""

from __future__ import annotations

import json
import math
from typing import Any

from eventix_cli.core.errors import UsageError


def loads(text: str | bytes, what: str = "JSON value") -> Any:
    """``json.loads`` without the non-JSON numbers; malformed JSON still raises ``ValueError``."""

    def constant(name: str) -> Any:
        raise UsageError(f"{what}: {name} is not a JSON number, and no server can store it")

    def finite(literal: str) -> float:
        number = float(literal)
        if not math.isfinite(number):
            raise UsageError(f"{what}: {literal} is too large for a JSON number (it overflows to infinity)")
        return number

    try:
        return json.loads(text, parse_constant=constant, parse_float=finite)
    except RecursionError:
        raise UsageError(
            f"{what}: nested too deeply to read (servers store at most 100 levels of nesting)"
        ) from None
