"""Plain-text tables for people: choosing columns, fitting a width; task data escaped
(:func:`eventix_cli.core.text.escape`).

Widths are display widths (a CJK character or an emoji takes two cells), measured by rich's
cell table. No I/O here: :mod:`eventix_cli.cli.output` draws what these functions compute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eventix_cli.core.errors import UsageError
from eventix_cli.core.text import escape

# -- columns -------------------------------------------------------------------------------

#: how a status looks on a colour terminal (SGR colour codes)
STATUS_COLOURS: Mapping[str, str] = {"error": "31", "retry": "33", "done": "32", "processing": "34"}

#: the order in which values are shortened: ``CUT_FIRST`` (a uid beside a message) before
#: ``CUT_NORMAL``, and ``CUT_LAST`` (task names, errors: what a listing is read for) last
CUT_FIRST, CUT_NORMAL, CUT_LAST = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a listing: the record key, its header and how to show a value in a table.

    On a narrow terminal, a droppable column (``drop`` > 0, or ``idle_drop``) that tells
    nothing (empty, or one value in every row) goes first; then values are shortened (by
    ``cut``) to SHORTEST_CELL; then columns are dropped by ``drop`` (the highest first; 0
    never); a header is never cut. ``shortest``: the fewest cells a value is cut to, in place
    of SHORTEST_CELL first and of 4 at the narrowest (a uid beside others: enough to tell rows
    apart).
    ``optional`` columns are left out of a table when no row has a value in them (an error
    class in a listing without failures). ``colours`` maps a value to its colour.
    """

    key: str
    header: str
    fmt: Callable[[Any], str] | None = None
    justify: str = "left"
    min_width: int | None = None  # never narrower (uids stay whole for copy and paste)
    drop: int = 0
    optional: bool = False
    cut: int = CUT_NORMAL
    colours: Mapping[str, str] | None = None
    idle_drop: bool = False  # may go when it tells nothing, even with ``drop`` 0 (a count of 0 everywhere)
    shortest: int | None = None  # the fewest cells a value is ever cut to (see above)

    def cell(self, record: Mapping[str, Any]) -> str:
        value = record.get(self.key)
        if self.fmt is not None:
            return escape(self.fmt(value))
        return "" if value is None else escape(str(value))


def select_columns(columns: Sequence[Column], names: str | None) -> list[Column]:
    """The columns named in a comma list (by key or header, any case), in the order given;
    all of them when ``names`` is empty. An unknown name is a usage error listing the choices.

    Chosen columns are never dropped, and none is kept whole at the others' expense: a uid
    is shortened like any other value."""
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
        picked = replace(by_name[name], drop=0, optional=False, min_width=None, idle_drop=False)
        if picked not in chosen:
            chosen.append(picked)
    if not chosen:
        raise UsageError("--columns: name at least one column")
    return chosen


def count_column(key: str, header: str, *, idle_drop: bool = False) -> Column:
    """A column of counts (``1,234``), right-aligned."""
    return Column(key, header, justify="right", fmt=lambda v: f"{v:,}", idle_drop=idle_drop)


def keep_columns(columns: Sequence[Column], keys: Sequence[str]) -> list[Column]:
    """``columns`` with those named by ``keys`` never dropped (a listing's sort key, the
    namespace of a listing across namespaces)."""
    return [replace(c, drop=0, idle_drop=False) if c.key in keys else c for c in columns]


# -- widths --------------------------------------------------------------------------------


def cell_width(text: str) -> int:
    """How many terminal cells ``text`` takes (a CJK character or an emoji takes two)."""
    if text.isascii():
        return len(text)
    # deferred: rich only when a table with wide text is drawn (tests/test_startup.py)
    from rich.cells import cell_len

    return cell_len(text)


def idle_columns(cells: Sequence[Sequence[str]], count: int) -> list[int]:
    """The columns that tell nothing, in the order they may go: the empty ones, then those
    with one value in every row (only when there are two rows or more)."""
    empty = [i for i in range(count) if all(row[i] == "" for row in cells)]
    same = [
        i for i in range(count) if i not in empty and len(cells) > 1 and len({row[i] for row in cells}) == 1
    ]
    return empty + same


TABLE_GAP = 3
SHORTEST_CELL = 12  # a flexible column is never shortened below this (or its header)


def fit_columns(
    columns: Sequence[Column],
    widths: Sequence[int],
    limit: int | None,
    idle: Sequence[int] = (),
    *,
    gap: int = TABLE_GAP,
    drop_last: bool = False,
) -> tuple[list[int], list[int]]:
    """Which columns to show, and how wide, to fit ``limit`` cells (``gap`` cells apart).

    Unlimited (a pipe): everything, full width. Otherwise the droppable columns in ``idle``
    (see idle_columns) go first, in that order, until the rest fits whole. Then columns are
    dropped by their ``drop`` rank (highest first) until the rest fits with flexible columns
    shortened, in ``cut`` order, to no less than SHORTEST_CELL, the ``CUT_LAST`` ones kept
    whole while a column can still go (when that lets them fit whole at all); only when
    nothing more can be dropped are they shortened further, never below their header. A
    column's ``shortest`` takes the place of both floors.

    ``drop_last`` (a table on screen, whose columns should not come and go as its rows
    change): values are shortened, in the same order, as far as they can be before any
    column is dropped; when even then nothing fits, the columns are at their shortest.
    """
    keep = list(range(len(columns)))
    if limit is None:
        return keep, list(widths)

    def whole(indexes: list[int]) -> bool:
        return sum(widths[i] for i in indexes) + gap * (len(indexes) - 1) <= limit

    for i in idle:
        if whole(keep):
            return keep, [widths[i] for i in keep]
        if columns[i].drop > 0 or columns[i].idle_drop:
            keep.remove(i)

    def shrunk(indexes: list[int], floor_of: Callable[[int], int]) -> list[int] | None:
        budget = limit - gap * (len(indexes) - 1)
        sized = {i: widths[i] for i in indexes}
        excess = sum(sized.values()) - budget
        while excess > 0:
            candidates = [i for i in indexes if columns[i].min_width is None and sized[i] > floor_of(i)]
            if not candidates:
                return None
            first = min(columns[i].cut for i in candidates)
            widest = max((i for i in candidates if columns[i].cut == first), key=lambda i: sized[i])
            sized[widest] -= 1
            excess -= 1
        return [sized[i] for i in indexes]

    def header(i: int) -> int:
        return cell_width(columns[i].header)

    def gentle(i: int) -> int:
        return max(header(i), min(widths[i], columns[i].shortest or SHORTEST_CELL))

    def spared(i: int) -> int:  # while a column can still go, task names and errors stay whole
        return widths[i] if columns[i].cut == CUT_LAST else gentle(i)

    def hard(i: int) -> int:
        return max(header(i), min(widths[i], columns[i].shortest or 4))

    if drop_last:
        while True:
            fitted = shrunk(keep, gentle)
            if fitted is None:
                fitted = shrunk(keep, hard)
            if fitted is not None:
                return keep, fitted
            droppable = [i for i in keep if columns[i].drop > 0]
            if not droppable:
                return keep, [widths[i] if columns[i].min_width is not None else hard(i) for i in keep]
            keep.remove(max(droppable, key=lambda i: (columns[i].drop, i)))

    # sparing is worth dropping columns only if task names and errors fit whole in the end
    spare = shrunk([i for i in keep if columns[i].drop == 0], spared) is not None
    while True:
        droppable = [i for i in keep if columns[i].drop > 0]
        fitted = shrunk(keep, spared if droppable and spare else gentle)
        if fitted is not None:
            return keep, fitted
        if not droppable:
            break
        keep.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
    fitted = shrunk(keep, hard)
    return keep, fitted if fitted is not None else [max(widths[i], header(i)) for i in keep]


def hidden_note(headers: Sequence[str], pick_option: str | None, width: int | None) -> str:
    """The line that names the columns a table left out to fit ``width`` cells, and how to
    see them all, on one line: the hint shortened first, then the names cut from the end
    (an ellipsis for the rest), then the hint left out; at the narrowest, the line cut."""
    hints = (
        [f" (all: {pick_option} or a pipe)", f" (all: {pick_option})"] if pick_option else [" (all: a pipe)"]
    )
    names = [", ".join(headers)] + [", ".join([*headers[:n], "…"]) for n in range(len(headers) - 1, 0, -1)]
    notes = [f"hidden: {names[0]}{hint}" for hint in hints]
    notes += [f"hidden: {shown}{hints[-1]}" for shown in names[1:]]
    notes += [f"hidden: {shown}" for shown in names]
    if width is None:
        return notes[0]
    # the ellipsis takes one cell: measured as a dot, so that plain headers need no rich
    fits = (note for note in notes if cell_width(note.replace("…", ".")) <= width)
    return next(fits, None) or cut_cell(notes[-1], width)


def cut_cell(text: str, width: int) -> str:
    """``text`` cut to ``width`` cells, an ellipsis marking the cut."""
    if cell_width(text) <= width:
        return text
    if text.isascii():
        return text[: width - 1] + "…" if width > 1 else text[:width]
    # deferred: rich, as in cell_width
    from rich.cells import set_cell_size

    # a wide character that does not fit is left out whole (set_cell_size pads in its place)
    return set_cell_size(text, width - 1).rstrip(" ") + "…" if width > 1 else set_cell_size(text, width)


def wrap_cells(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` cells (at least one cell each)."""
    width = max(width, 1)
    if cell_width(text) <= width:
        return [text]
    if text.isascii():
        return [text[i : i + width] for i in range(0, len(text), width)]
    # deferred: rich, as in cell_width
    from rich.cells import chop_cells

    return chop_cells(text, width)


def join_row(
    values: Sequence[str], widths: Sequence[int], columns: Sequence[Column], *, colour: bool = False
) -> str:
    """One line of a table: each value fitted to its width in cells, in the colour of its
    value when ``colour`` is on."""
    parts = []
    for value, width, column in zip(values, widths, columns, strict=True):
        text = cut_cell(value, width)
        pad = " " * (width - cell_width(text))
        code = column.colours.get(value) if colour and column.colours else None
        if code is not None:
            text = f"\033[{code}m{text}\033[0m"
        parts.append(pad + text if column.justify == "right" else text + pad)
    return (" " * TABLE_GAP).join(parts).rstrip()
