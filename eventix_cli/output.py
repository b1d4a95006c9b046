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
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    ids = "ids"


FORMATS: tuple[str, ...] = tuple(f.value for f in OutputFormat)


DEFAULT_FORMAT = "table"


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


def message(text: str) -> None:
    """A plain line for people on stderr (never data)."""
    stream = _stream(True)
    stream.write(text + "\n")
    stream.flush()


def warn(text: str) -> None:
    message(f"warning: {text}")


def error_lines(lines: Sequence[str]) -> None:
    for line in lines:
        message(line)


# -- data on stdout -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a listing: the record key, its header and how to show a value in a table."""

    key: str
    header: str
    fmt: Callable[[Any], str] | None = None
    justify: str = "left"
    min_width: int | None = None  # never narrower (uids stay whole for copy and paste)

    def cell(self, record: Mapping[str, Any]) -> str:
        value = record.get(self.key)
        if self.fmt is not None:
            return self.fmt(value)
        return "" if value is None else str(value)


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

    def __init__(self, fmt: str | None = None, *, width: int | None = None) -> None:
        self.format = str(fmt or DEFAULT_FORMAT)
        if self.format not in FORMATS:
            raise ValueError(f"unknown output format {self.format!r}")
        self.width = width

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
        width = max((len(str(key)) for key in doc), default=0)
        lines = [title] if title else []
        for key, value in doc.items():
            if isinstance(value, dict | list):
                value = dumps(value)
            text = "" if value is None else str(value)
            lines.append(f"{key!s:<{width}}  {text}".rstrip())
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
            writer.writerow([c.key for c in columns])
            for row in rows:
                writer.writerow([_csv_value(row.get(c.key)) for c in columns])
                count += 1
        out.flush()
        return count

    def _table(self, rows: Iterable[Mapping[str, Any]], columns: Sequence[Column]) -> int:
        """A plain aligned table (kubectl style). On a narrow terminal the flexible columns are
        shortened with an ellipsis; piped output is never cut."""
        cells = [[column.cell(row) for column in columns] for row in rows]
        if not cells:
            return 0
        widths = [max(len(c.header), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        limit = self.width or _env_width()
        if limit is None and is_terminal(self.stream):
            import shutil

            limit = shutil.get_terminal_size().columns
        if limit is not None:
            _shrink(widths, columns, limit - TABLE_GAP * (len(columns) - 1))
        bold = color_enabled(self.stream)
        header = _join([c.header for c in columns], widths, columns)
        lines = [f"\033[1m{header}\033[0m" if bold else header]
        lines.extend(_join(row, widths, columns) for row in cells)
        self._write("\n".join(lines) + "\n")
        return len(cells)


TABLE_GAP = 3


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else (text[: width - 1] + "…" if width > 1 else text[:width])


def _join(values: Sequence[str], widths: Sequence[int], columns: Sequence[Column]) -> str:
    parts = []
    for value, width, column in zip(values, widths, columns, strict=True):
        text = _fit(value, width)
        parts.append(text.rjust(width) if column.justify == "right" else text.ljust(width))
    return (" " * TABLE_GAP).join(parts).rstrip()


def _shrink(widths: list[int], columns: Sequence[Column], budget: int) -> None:
    """Narrow the flexible columns (those without a min_width), widest first, to fit ``budget``."""
    floor = {i: max(4, min(len(c.header), 8)) for i, c in enumerate(columns) if c.min_width is None}
    excess = sum(widths) - budget
    while excess > 0:
        candidates = [i for i in floor if widths[i] > floor[i]]
        if not candidates:
            return
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=make_console(stderr=True), transient=True) as bar:
        task_id = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task_id, n)


def confirm(question: str) -> bool:
    """Ask on the terminal (stderr); anything but y/yes is no."""
    stream = _stream(True)
    stream.write(f"{question} [y/N] ")
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
