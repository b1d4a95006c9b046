"""Options and helpers shared by the ``eventix task`` commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli import bulk_run, output
from eventix_cli.cli.bulk_run import confirm_or_refuse, run_selected

# re-exported: the task commands import these from here
from eventix_cli.cli.commands.task.rendering import CSV_COLUMNS as CSV_COLUMNS
from eventix_cli.cli.commands.task.rendering import print_tasks
from eventix_cli.cli.completion import complete_statuses
from eventix_cli.cli.journaling import warn_if_too_large
from eventix_cli.cli.options import FILTERS
from eventix_cli.cli.output import Output
from eventix_cli.client.selection import count_matches, first_matches, iter_matches
from eventix_cli.core.errors import TaskNotFound, UsageError
from eventix_cli.core.times import parse_duration
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.config import Settings
    from eventix_cli.core.query import TaskQuery
    from eventix_cli.core.view import TaskView

StatusOption = Annotated[
    list[str] | None,
    typer.Option(
        "--status",
        "-s",
        autocompletion=complete_statuses,
        help="Only tasks in this status (repeatable, or comma-separated): scheduled, processing, retry, "
        "error, done.",
        show_default=False,
        rich_help_panel=FILTERS,
    ),
]
TaskNameOption = Annotated[
    str | None,
    typer.Option(
        "--task", help="Only tasks of this task function.", show_default=False, rich_help_panel=FILTERS
    ),
]
UniqueKeyFilterOption = Annotated[
    str | None,
    typer.Option(
        "--unique-key",
        "-k",
        help="Only tasks with this unique key, or keys matching a glob such as 'report:*'.",
        show_default=False,
        rich_help_panel=FILTERS,
    ),
]
OlderThanOption = Annotated[
    str | None,
    typer.Option(
        "--older-than",
        help="Only tasks created longer ago than this (90s, 15m, 2h, 7d).",
        show_default=False,
        rich_help_panel=FILTERS,
    ),
]
NewerThanOption = Annotated[
    str | None,
    typer.Option(
        "--newer-than",
        help="Only tasks created within this (90s, 15m, 2h, 7d).",
        show_default=False,
        rich_help_panel=FILTERS,
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show the count, a sample and the filter; change nothing.")
]


def build_query(
    settings: Settings,
    *,
    all_namespaces: bool = False,
    status: Sequence[str] | None = None,
    task: str | None = None,
    unique_key: str | None = None,
    older_than: str | None = None,
    newer_than: str | None = None,
) -> TaskQuery:
    # deferred: core.query stays off `task show`, `task add` and every task command's --help
    # (tests/test_startup.py)
    from eventix_cli.core.query import TaskQuery, parse_statuses

    return TaskQuery(
        namespace=None if all_namespaces else settings.namespace,
        statuses=parse_statuses(status),
        task=task,
        unique_key=unique_key,
        older_than=parse_duration(older_than, "--older-than") if older_than else None,
        newer_than=parse_duration(newer_than, "--newer-than") if newer_than else None,
    )


def read_ids(ids: Sequence[str]) -> list[str]:
    """Ids from the arguments; ``-`` reads them from stdin (one per line, or JSON lines with ``uid``)."""
    out: list[str] = []
    for item in ids:
        if item == "-":
            out.extend(_ids_from_lines(sys.stdin))
        elif item.strip():
            out.append(item.strip())
    # deferred: the wire module brings httpx, kept off the task commands' --help (tests/test_startup.py)
    from eventix_cli.client.wire import check_task_id

    for uid in out:
        check_task_id(uid)  # the whole input is checked before anything is sent
    seen: set[str] = set()
    unique = [uid for uid in out if not (uid in seen or seen.add(uid))]
    return unique


def _ids_from_lines(lines: Iterable[str]) -> Iterator[str]:
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                uid = json.loads(line).get("uid")
            except (ValueError, AttributeError):
                uid = None
            if not isinstance(uid, str) or not uid:
                raise UsageError(f"stdin line {number}: a JSON line needs a string 'uid' field")
            yield uid
        else:
            yield line.split()[0]


UNIQUE_KEY_PREFERENCE = ("scheduled", "retry", "processing", "error", "done")


def tasks_by_unique_key(client: EventixClient, namespace: str, unique_key: str) -> list[TaskView]:
    """Every task with this exact unique key in the namespace, the most relevant first: a
    pending one, then processing, error, done (newest first within a status)."""
    page = client.by_status(
        filter={"namespace": namespace, "unique_key": unique_key}, sort="-updated_time", limit=100
    )
    return sorted(page.tasks, key=lambda t: UNIQUE_KEY_PREFERENCE.index(t.status.value))


def no_task_for_unique_key(namespace: str, unique_key: str) -> Exception:
    return TaskNotFound(
        f"no task with unique key {unique_key!r} in namespace {namespace}",
        status_code=404,
        server_error_class="NotFound",
        payload={"namespace": namespace, "unique_key": unique_key},
    )


def describe_query(query: TaskQuery) -> str:
    """The selection in words, for a question: 'in namespace billing with status error, task x'."""
    where = "in every namespace" if query.namespace is None else f"in namespace {query.namespace}"
    parts = []
    statuses = [s.value for s in query.statuses if s not in query.exclude_statuses]
    if statuses:
        parts.append(f"status {' or '.join(statuses)}")
    if query.task is not None:
        parts.append(f"task {query.task}")
    if query.unique_key is not None:
        parts.append(f"unique key {query.unique_key}")
    described = query.describe()
    for key in ("created_before", "created_after"):
        if key in described:
            parts.append(f"{key.replace('_', ' ')} {described[key][:19].replace('T', ' ')} UTC")
    return where + (f" with {', '.join(parts)}" if parts else "")


def dry_run_report(
    fmt: str | None, *, verb: str, count: int, sample: Sequence[TaskView], query: TaskQuery
) -> None:
    """What a bulk command would do: the count, a sample of five and the exact filter."""
    out = Output(fmt)
    described = query.describe()
    if out.format == "json":
        out.document(
            {
                "dry_run": True,
                "action": verb,
                "count": count,
                "query": described,
                "sample": [t.to_wire() for t in sample],
            }
        )
        return
    if out.format != "table":
        print_tasks(fmt, sample)
        output.message(f"dry run: would {verb} {count:,} task(s); query {json.dumps(described)}")
        return
    output.line(f"would {verb} {count:,} task(s)")
    output.line(f"filter sent: {json.dumps(described['filter'])}")
    for key in ("created_before", "created_after"):
        if key in described:
            output.line(f"and on the client: {key.replace('_', ' ')} {described[key]}")
    if sample:
        output.line(f"sample of {len(sample)}:")
        print_tasks(fmt, sample)
    output.message("dry run: nothing was changed")


def sample_and_count(client: EventixClient, query: TaskQuery, size: int = 5) -> tuple[int, list[TaskView]]:
    sample, total = first_matches(client, query, size, "_id")
    return (count_matches(client, query) if total is None else total), sample


def no_filter_given(**options: Any) -> bool:
    return not any(v for v in options.values())


def run_by_filter(
    *,
    client: EventixClient,
    settings: Settings,
    query: TaskQuery,
    action_name: str,
    verb: str,
    ask: str,
    action: Any,
    concurrency: int,
    yes: bool,
    dry_run: bool,
    items: Iterable[Any] | None = None,
    key: Any = str,
    count_first: bool = True,
    entry: Entry | NoEntry = NO_ENTRY,
) -> None:
    """The filter mode of retry, cancel and purge: count and sample, dry run, confirm, run.

    ``items`` default to the uids of the matches; with ``count_first=False`` the count is
    skipped when nothing needs it (``--yes`` off a terminal: no question, no progress bar).
    ``entry`` is the command's journal entry: warned about first when the change would not
    fit in it.
    """
    nothing = f"nothing to {action_name}: no task matches"
    count: int | None = None
    if dry_run or count_first or not yes or bulk_run.interactive():
        count, sample = sample_and_count(client, query)
        if dry_run:
            dry_run_report(settings.output, verb=action_name, count=count, sample=sample, query=query)
            return
        if count == 0:
            output.message(nothing)
            return
        warn_if_too_large(entry, count, sample)
        confirm_or_refuse(f"{ask} {count:,} task(s) {describe_query(query)}?", yes=yes)
    run_selected(
        verb=verb,
        action_name=action_name,
        uids=items if items is not None else (t.uid for t in iter_matches(client, query)),
        total=count,
        action=action,
        key=key,
        concurrency=concurrency,
        fmt=settings.output,
        nothing=nothing,
    )
