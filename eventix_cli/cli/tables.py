"""Plain-text tables for people: choosing columns, fitting a width; task data escaped
(:func:`eventix_cli.core.text.escape`).

No I/O here: :mod:`eventix_cli.cli.output` draws what these functions compute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eventix_cli.core.errors import UsageError
from eventix_cli.core.text import escape

# -- columns -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a listing: the record key, its header and how to show a value in a table.

    On a narrow terminal, columns are dropped by ``drop`` (the highest first; 0 never) before
    any is shortened, and a header is never cut. ``optional`` columns are left out of a table
    when no row has a value in them (an error class in a listing without failures).
    """

    key: str
    header: str
    fmt: Callable[[Any], str] | None = None
    justify: str = "left"
    min_width: int | None = None  # never narrower (uids stay whole for copy and paste)
    drop: int = 0
    optional: bool = False

    def cell(self, record: Mapping[str, Any]) -> str:
        value = record.get(self.key)
        if self.fmt is not None:
            return escape(self.fmt(value))
        return "" if value is None else escape(str(value))


def select_columns(columns: Sequence[Column], names: str | None) -> list[Column]:
    """The columns named in a comma list (by key or header, any case), in the order given;
    all of them when ``names`` is empty. An unknown name is a usage error listing the choices."""
    if not names:
        return list(columns)
    by_name: dict[str, Column] = {}
    for column in columns:
        by_name[column.key.lower()] = column
        by_name[column.header.lower().replace(" ", "_")] = column
    chosen: list[Column] = []
    for raw in names.split(","):
        name = raw.strip().lower().replace(" ", "_").replace("-", "_")
        if not name:
            continue
        if name not in by_name:
            choices = ", ".join(c.key for c in columns)
            raise UsageError(f"--columns: unknown column {raw.strip()!r}; choose from {choices}")
        if by_name[name] not in chosen:
            chosen.append(replace(by_name[name], drop=0, optional=False))
    if not chosen:
        raise UsageError("--columns: name at least one column")
    return chosen


TABLE_GAP = 3
SHORTEST_CELL = 12  # a flexible column is never shortened below this (or its header)


def fit_columns(
    columns: Sequence[Column], widths: Sequence[int], limit: int | None
) -> tuple[list[int], list[int]]:
    """Which columns to show, and how wide, to fit ``limit`` characters.

    Unlimited (a pipe): everything, full width. Otherwise columns are dropped by their
    ``drop`` rank (highest first) until the rest fits with flexible columns shortened to no
    less than SHORTEST_CELL; only when nothing more can be dropped are they shortened further,
    never below their header.
    """
    keep = list(range(len(columns)))
    if limit is None:
        return keep, list(widths)

    def shrunk(indexes: list[int], floor_of: Callable[[int], int]) -> list[int] | None:
        budget = limit - TABLE_GAP * (len(indexes) - 1)
        sized = {i: widths[i] for i in indexes}
        excess = sum(sized.values()) - budget
        while excess > 0:
            candidates = [i for i in indexes if columns[i].min_width is None and sized[i] > floor_of(i)]
            if not candidates:
                return None
            widest = max(candidates, key=lambda i: sized[i])
            sized[widest] -= 1
            excess -= 1
        return [sized[i] for i in indexes]

    def gentle(i: int) -> int:
        return max(len(columns[i].header), min(widths[i], SHORTEST_CELL))

    def hard(i: int) -> int:
        return max(len(columns[i].header), min(widths[i], 4))

    while True:
        fitted = shrunk(keep, gentle)
        if fitted is not None:
            return keep, fitted
        droppable = [i for i in keep if columns[i].drop > 0]
        if not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    fitted = shrunk(keep, hard)
    return keep, fitted if fitted is not None else [max(widths[i], len(columns[i].header)) for i in keep]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else (text[: width - 1] + "…" if width > 1 else text[:width])


def join_row(values: Sequence[str], widths: Sequence[int], columns: Sequence[Column]) -> str:
    parts = []
    for value, width, column in zip(values, widths, columns, strict=True):
        text = _fit(value, width)
        parts.append(text.rjust(width) if column.justify == "right" else text.ljust(width))
    return (" " * TABLE_GAP).join(parts).rstrip()
