"""``eventix task add --from FILE|-``: enqueue many tasks from JSON lines.

The whole input is validated before anything is sent (a bad line: exit 2 naming it), then the
tasks are posted concurrently through the bulk runner, and the uids are printed in input order.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eventix_cli.cli import output
from eventix_cli.cli.bulk import run_bulk
from eventix_cli.cli.bulk_run import report_bulk
from eventix_cli.cli.commands.task.rendering import print_tasks
from eventix_cli.cli.output import Output
from eventix_cli.core import jsonrules
from eventix_cli.core.errors import UsageError
from eventix_cli.core.fields import (
    LINE_FIELDS,  # anything else on a line is a typo, refused
    check_logical_priority,
    stored_priority,
)
from eventix_cli.core.times import parse_eta, utcnow
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry, record_posted

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.task import Task
    from eventix_cli.core.view import TaskView


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    task: Task


def read_lines(source: str) -> Iterable[tuple[int, str]]:
    """(line number, text) of a file, or of stdin for ``-``."""
    if source == "-":
        yield from enumerate(sys.stdin, 1)
        return
    path = Path(source).expanduser()
    try:
        with path.open(encoding="utf-8") as handle:
            yield from enumerate(handle, 1)
    except OSError as exc:
        raise UsageError(f"--from: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"--from: {path} is not UTF-8 text: {exc.reason}") from None


def _check(number: int, doc: Any, key: str, ok: bool, expected: str) -> None:
    if not ok:
        got = type(doc[key]).__name__ if doc[key] is not None else "null"
        raise UsageError(f"line {number}: {key!r} must be {expected}, got {got}")


def parse_line(number: int, text: str, *, namespace: str, operator: str, now: dt.datetime) -> Task:
    """One JSON line as a task to post; a UsageError names the line and the field."""
    # deferred: the task model brings pydantic, kept off `task add` (tests/test_startup.py)
    from eventix_cli.core.task import Task

    try:
        doc = jsonrules.loads(text, f"line {number}")
    except ValueError as exc:
        raise UsageError(f"line {number}: invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"line {number}: expected a JSON object, got {type(doc).__name__}")
    unknown = sorted(set(doc) - set(LINE_FIELDS))
    if unknown:
        allowed = ", ".join(LINE_FIELDS)
        raise UsageError(f"line {number}: unknown field {unknown[0]!r}; a line may have {allowed}")
    if "task" not in doc:
        raise UsageError(f"line {number}: 'task' is required")
    reason = jsonrules.unstorable_reason(doc)  # the line nests as deep as the task it makes
    if reason is not None:  # no server stores it: refused here, before anything is sent
        raise UsageError(f"line {number}: not a storable task: it holds {reason}")
    _check(number, doc, "task", isinstance(doc["task"], str) and doc["task"].strip() != "", "a task name")
    fields: dict[str, Any] = {"task": doc["task"], "namespace": namespace, "operator": operator}
    if "args" in doc:
        _check(number, doc, "args", isinstance(doc["args"], list), "a JSON array")
        fields["args"] = doc["args"]
    if "kwargs" in doc:
        _check(number, doc, "kwargs", isinstance(doc["kwargs"], dict), "a JSON object")
        fields["kwargs"] = doc["kwargs"]
    for key in ("namespace", "unique_key"):
        if key in doc:
            _check(number, doc, key, isinstance(doc[key], str) and doc[key] != "", "a non-empty string")
            fields[key] = doc[key]
    if "priority" in doc:
        value = doc["priority"]
        _check(number, doc, "priority", isinstance(value, int) and not isinstance(value, bool), "an integer")
        fields["priority"] = stored_priority(check_logical_priority(value, f"line {number}: priority"))
    if "retry" in doc:
        _check(number, doc, "retry", isinstance(doc["retry"], bool), "true or false")
        fields["retry"] = doc["retry"]
    if "max_retries" in doc:
        value = doc["max_retries"]
        ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
        _check(number, doc, "max_retries", ok, "a count >= 0 or null")
        fields["max_retries"] = value
    if "eta" in doc:
        _check(number, doc, "eta", isinstance(doc["eta"], str), "an ISO 8601 time or +DURATION")
        try:
            fields["eta"] = parse_eta(doc["eta"], now=now)
        except UsageError as exc:
            raise UsageError(f"line {number}: eta: {exc.message}") from None
    else:
        fields["eta"] = now
    return Task(**fields)


#: bad lines named one by one; the rest are counted
BAD_LINES_SHOWN = 20


def load(source: str, *, namespace: str, operator: str) -> list[Line]:
    """Every line of the input checked and turned into a task; nothing is sent on an error.
    One bad line is the error; several are named (the first :data:`BAD_LINES_SHOWN`) under one."""
    now = utcnow()
    lines = []
    bad: list[UsageError] = []
    for number, text in read_lines(source):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            task = parse_line(number, stripped, namespace=namespace, operator=operator, now=now)
        except UsageError as exc:
            bad.append(exc)
            continue
        lines.append(Line(number, task))
    if len(bad) == 1:
        raise bad[0]
    if bad:
        details = [exc.message for exc in bad[:BAD_LINES_SHOWN]]
        if len(bad) > BAD_LINES_SHOWN:
            details.append(f"... and {len(bad) - BAD_LINES_SHOWN:,} more")
        raise UsageError(f"{len(bad):,} bad lines in the input; nothing was sent", details=tuple(details))
    return lines


def enqueue(
    client: EventixClient,
    lines: list[Line],
    fmt: str | None,
    *,
    concurrency: int,
    entry: Entry | NoEntry = NO_ENTRY,
) -> None:
    """Post every task concurrently; print the stored uids (or tasks) in input order, and a
    summary on stderr. Exit 1 when any line failed (each is named with its reason). Each
    task added is recorded in ``entry``."""
    stored: dict[int, TaskView] = {}
    lock = threading.Lock()

    def post(line: Line) -> None:
        task = client.post_task(line.task.to_wire())
        record_posted(entry, line.task.uid, task.uid, task.revision)
        with lock:
            stored[line.number] = task

    with output.progress("added", len(lines)) as advance:
        result = run_bulk(
            "add",
            lines,
            post,
            key=lambda line: f"line {line.number}",
            concurrency=concurrency,
            on_done=advance,
        )
    in_order = [stored[line.number] for line in lines if line.number in stored]
    out = Output(fmt)
    if out.format in ("table", "ids"):
        for task in in_order:
            output.line(task.uid)
    elif out.format == "json":
        out.document([t.to_wire() for t in in_order])  # type: ignore[arg-type]
    else:
        print_tasks(fmt, in_order)
    report_bulk("table", result, verb="added")
