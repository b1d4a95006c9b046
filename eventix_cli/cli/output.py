"""All rendering: the only module that writes data to stdout.

Formats: ``table`` (rich, for people), ``json`` (the plain object or array, no envelope),
``jsonl`` (one object per line, streamed), ``csv`` (header + rows) and ``ids`` (one uid per
line). Messages, warnings, progress and errors go to stderr. Colour is off when the stream
is not a terminal or ``NO_COLOR`` is set. rich is imported only when a table or a styled
message is actually drawn, which keeps ``--help`` and scripted use fast.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from eventix_cli.cli.tables import (
    STATUS_COLOURS,
    Column,
    cell_width,
    escape,
    fit_columns,
    hidden_note,
    idle_columns,
    join_row,
    wrap_cells,
)
from eventix_cli.config import DEFAULT_FORMAT, FORMATS
from eventix_cli.core.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console


def _stream(stderr: bool) -> IO[str]:
    # looked up at call time so that test runners that swap sys.stdout/sys.stderr are honoured
    return sys.stderr if stderr else sys.stdout


def is_terminal(stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def color_enabled(stream: IO[str]) -> bool:
    return "NO_COLOR" not in os.environ and is_terminal(stream)


def make_console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A rich console bound to stdout or stderr, coloured only on a terminal without NO_COLOR."""
    # deferred: rich only when something is drawn (tests/test_startup.py)
    from rich.console import Console

    stream = _stream(stderr)
    color = color_enabled(stream)
    columns = width or _env_width()
    return Console(
        file=stream,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=False,
        width=columns,
        force_terminal=color or None,
        emoji=False,
    )


def _env_width() -> int | None:
    value = os.environ.get("COLUMNS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


# -- messages on stderr ---------------------------------------------------------------------


#: the prefixes of our own notices on stderr, and their colours (SGR codes)
PREFIX_COLOURS = {"error:": "1;31", "warning:": "1;33"}


def _paint(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m"


def message(text: str, *, dim: bool = False) -> None:
    """A plain line for people on stderr (never data); task data in it is escaped. On a
    colour terminal an ``error:`` or ``warning:`` prefix is coloured, and ``dim`` dims it all."""
    stream = _stream(True)
    text = escape(text, keep_newlines=True)
    if color_enabled(stream):
        prefix, _, rest = text.partition(" ")
        if prefix in PREFIX_COLOURS:
            text = f"{_paint(prefix, PREFIX_COLOURS[prefix])} {rest}"
        elif dim:
            text = _paint(text, "2")
    stream.write(text + "\n")
    stream.flush()


def warn(text: str) -> None:
    message(f"warning: {text}")


def error_lines(lines: Sequence[str]) -> None:
    for line in lines:
        message(line)


# -- data on stdout -------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, indent=indent)


class Output:
    """Writes records and documents to stdout in one format."""

    def __init__(
        self,
        fmt: str | None = None,
        *,
        width: int | None = None,
        headers: bool = True,
        pick_option: str | None = None,
        blocks: bool = False,
    ) -> None:
        self.format = str(fmt or DEFAULT_FORMAT)
        if self.format not in FORMATS:
            raise ValueError(f"unknown output format {self.format!r}")
        self.width = width
        self.headers = headers  # the header row of table and csv
        self.pick_option = pick_option  # the command's option that picks columns, named in a note
        self.hidden: list[str] = []  # the headers the last table left out to fit the terminal
        self.shortened = False  # whether the last table cut a value to fit the terminal
        self.blocks = blocks  # a table that would cut a value is drawn as one block per record

    @property
    def stream(self) -> IO[str]:
        return _stream(False)

    def _write(self, text: str) -> None:
        self.stream.write(text)

    def document(self, doc: Mapping[str, Any], *, title: str | None = None, id_key: str = "uid") -> None:
        """One object: key/value table, JSON, one JSON line, a one-row CSV, or its id."""
        if self.format == "json":
            self._write(dumps(doc, indent=2) + "\n")
        elif self.format == "jsonl":
            self._write(dumps(doc) + "\n")
        elif self.format == "csv":
            self.records([doc], [Column(k, k) for k in doc])
        elif self.format == "ids":
            if doc.get(id_key) is not None:
                self._write(f"{doc[id_key]}\n")
        else:
            self._kv_table(doc, title=title)
        self.stream.flush()

    def _kv_table(self, doc: Mapping[str, Any], *, title: str | None) -> None:
        width = max((cell_width(escape(str(key))) for key in doc), default=0)
        colour = color_enabled(self.stream)
        lines = [title] if title else []
        for key, value in doc.items():
            if isinstance(value, dict | list):
                value = dumps(value)
            text = "" if value is None else escape(str(value))
            if colour and key == "status" and text in STATUS_COLOURS:
                text = _paint(text, STATUS_COLOURS[text])
            name = escape(str(key))
            lines.append(f"{name}{' ' * (width - cell_width(name))}  {text}".rstrip())
        self._write("\n".join(lines) + "\n")

    def records(
        self,
        rows: Iterable[Mapping[str, Any]],
        columns: Sequence[Column],
        *,
        raw: Callable[[Mapping[str, Any]], Any] | None = None,
        id_key: str = "uid",
    ) -> int:
        """Many records; streams for jsonl, csv, ids and json. Returns how many were written.

        ``raw`` maps a row to what json/jsonl print (default: the row itself).
        """
        raw = raw or (lambda row: row)
        count = 0
        out = self.stream
        if self.format == "table":
            return self._table(rows, columns)
        if self.format == "json":
            out.write("[")
            for row in rows:
                out.write(("\n  " if count == 0 else ",\n  ") + dumps(raw(row)))
                count += 1
            out.write("\n]\n" if count else "]\n")
        elif self.format == "jsonl":
            for row in rows:
                out.write(dumps(raw(row)) + "\n")
                count += 1
        elif self.format == "ids":
            for row in rows:
                out.write(f"{row[id_key]}\n")
                count += 1
        elif self.format == "csv":
            writer = csv.writer(out, lineterminator="\n")
            if self.headers:
                writer.writerow([c.key for c in columns])
            for row in rows:
                writer.writerow([_csv_value(row.get(c.key)) for c in columns])
                count += 1
        out.flush()
        return count

    def table_width(self) -> int | None:
        """The width a table must fit: the one given, else on a terminal ``COLUMNS`` or the
        terminal's own; None in a pipe, whatever ``COLUMNS`` says (a pipe is never cut)."""
        if self.width is not None:
            return self.width
        if not is_terminal(self.stream):
            return None
        return _env_width() or shutil.get_terminal_size().columns

    def table_lines(self, rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> list[str]:
        """The lines of a plain aligned table (kubectl style), fitted to the width (see
        fit_columns); the headers of columns left out are in ``hidden``."""
        rows = list(rows)
        self.hidden = []
        if not rows:
            return []
        columns = [c for c in columns if not c.optional or any(r.get(c.key) not in (None, "") for r in rows)]
        cells = [[column.cell(row) for column in columns] for row in rows]
        widths = [
            max(cell_width(c.header), *(cell_width(r[i]) for r in cells)) for i, c in enumerate(columns)
        ]
        idle = idle_columns(cells, len(columns))
        natural = dict(enumerate(widths))
        keep, widths = fit_columns(columns, widths, self.table_width(), idle)
        self.hidden = [c.header for i, c in enumerate(columns) if i not in keep]
        self.shortened = any(width < natural[i] for i, width in zip(keep, widths, strict=True))
        columns = [columns[i] for i in keep]
        cells = [[row[i] for i in keep] for row in cells]
        colour = color_enabled(self.stream)
        lines = []
        if self.headers:
            header = join_row([c.header for c in columns], widths, columns)
            lines.append(_paint(header, "1") if colour else header)
        lines.extend(join_row(row, widths, columns, colour=colour) for row in cells)
        return lines

    def block_lines(self, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> list[str]:
        """One block per record: its first column as a title, then a line per other column
        that has a value (``label  value``; a list one item a line), blocks apart by a blank line."""
        labels = [c.header.lower() for c in columns[1:]]
        width = max((cell_width(label) for label in labels), default=0)
        room = (self.table_width() or sys.maxsize) - width - 4  # what a value may take on a line
        lines: list[str] = []
        for row in rows:
            if lines:
                lines.append("")
            title = columns[0].cell(row)
            lines.append(_paint(title, "1") if color_enabled(self.stream) else title)
            for label, column in zip(labels, columns[1:], strict=True):
                value = row.get(column.key)
                items = [escape(str(v)) for v in value] if isinstance(value, list) else [column.cell(row)]
                pieces = [piece for item in items if item for piece in wrap_cells(item, room)]
                for n, item in enumerate(pieces):
                    name = label if n == 0 else ""
                    lines.append(f"  {name}{' ' * (width - cell_width(name))}  {item}".rstrip())
        return lines

    def _table(self, rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> int:
        rows = list(rows)
        lines = self.table_lines(rows, columns)
        if self.blocks and self.shortened:
            self.hidden = []
            lines = self.block_lines(rows, columns)
            self._write("\n".join(lines) + "\n")
            self.stream.flush()
            return len(rows)
        if lines:
            self._write("\n".join(lines) + "\n")
            self.stream.flush()
        if self.hidden:
            message(hidden_note(self.hidden, self.pick_option, self.table_width()), dim=True)
        return len(lines) - (1 if lines and self.headers else 0)


def _csv_value(value: Any) -> str:
    """A CSV cell: never a terminal escape (control characters become visible escapes, as
    in tables); line breaks stay, quoted by the CSV writer."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return escape(dumps(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return escape(str(value), keep_newlines=True)


def refuse_ids(fmt: str | None, why: str, instead: str) -> None:
    """``-o ids`` prints task uids; a command whose output has none refuses it (exit 2)."""
    if fmt == "ids":
        raise UsageError(f"-o ids prints task uids: {why}", hint=f"use {instead}")


def redraw(lines: Sequence[str]) -> None:
    """Clear the terminal and draw ``lines`` from the top (``--watch``)."""
    stream = _stream(False)
    stream.write("\033[H\033[2J" + "\n".join(lines) + "\n")
    stream.flush()


def heading(text: str) -> str:
    """``text`` as a heading on stdout: bold on a colour terminal."""
    return _paint(text, "1") if color_enabled(_stream(False)) else text


def line(text: str) -> None:
    """One plain line of data on stdout (a version string, a uid)."""
    stream = _stream(False)
    stream.write(text + "\n")
    stream.flush()


@contextlib.contextmanager
def progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; yields ``advance(n)`` (thread-safe)."""
    if not is_terminal(sys.stderr):
        yield lambda _n: None
        return
    # deferred: rich only when a bar is drawn (tests/test_startup.py)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=make_console(stderr=True), transient=True) as bar:
        task_id = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task_id, n)


def confirm(question: str) -> bool:
    """Ask on the terminal (stderr); anything but y/yes is no."""
    stream = _stream(True)
    stream.write(f"{escape(question)} [y/N] ")
    stream.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        stream.write("\n")
        return False
    return answer.strip().lower() in ("y", "yes")


def stream_text(text: str) -> None:
    """Text as it is (a script, a file's content) on stdout."""
    stream = _stream(False)
    stream.write(text)
    stream.flush()
