"""``eventix stats``: task counts per namespace and status, and the oldest due task."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli.options import (
    AllNamespacesOption,
    ColumnsOption,
    NamespaceOption,
    NoHeadersOption,
    ReportOutputOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.output import Column, Output, message, refuse_ids
from eventix_cli.cli.state import connect
from eventix_cli.cli.tables import CUT_LAST, count_column, select_columns
from eventix_cli.core.errors import UsageError
from eventix_cli.core.times import format_duration, utcnow

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient

EPILOG = """\
[bold]Examples[/bold]

  eventix stats -A
  eventix stats -n billing --by task -o json | jq '.[] | select(.error > 0)'
"""


def task_counts(client: EventixClient, namespace: str) -> list[dict[str, Any]]:
    """Rows per task function, counted from one keyset walk over the namespace."""
    # deferred: the monitor brings concurrent.futures, kept off `stats --help` (tests/test_startup.py)
    from eventix_cli.client.monitor import STATUS_ORDER

    counter: Counter[tuple[str, str]] = Counter()
    for task in client.iter_tasks(namespace=namespace):
        counter[(task.task, task.status.value)] += 1
    rows = []
    for name in sorted({name for name, _ in counter}):
        counts = {s: counter[(name, s)] for s in STATUS_ORDER}
        rows.append({"namespace": namespace, "task": name, **counts, "total": sum(counts.values())})
    return rows


def stats(
    ctx: typer.Context,
    all_namespaces: AllNamespacesOption = False,
    by: Annotated[
        str | None, typer.Option("--by", help="Break the counts down further: 'task'.", show_default=False)
    ] = None,
    no_headers: NoHeadersOption = False,
    columns: ColumnsOption = None,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: ReportOutputOption = None,
) -> None:
    """Counts of tasks per namespace and status, and how long the oldest due task has waited.

    --by task counts per task function too (it reads every task of the namespace).
    """
    # deferred: concurrent.futures, as in task_counts
    from eventix_cli.client.monitor import STATUS_ORDER, namespace_counts

    if by not in (None, "task"):
        raise UsageError(f"--by {by!r}: only 'task' is supported")
    # on a narrow terminal a status counted 0 everywhere goes first; the total always stays
    shown = [Column("namespace", "NAMESPACE")]
    if by == "task":
        shown.append(Column("task", "TASK", cut=CUT_LAST))
    shown += [count_column(s, s.upper(), idle_drop=True) for s in STATUS_ORDER]
    shown.append(count_column("total", "TOTAL"))
    if by != "task":
        shown.append(
            Column(
                "oldest_due_seconds",
                "OLDEST DUE",
                justify="right",
                fmt=lambda v: "" if v is None else format_duration(v),
                drop=1,
            )
        )
    chosen = select_columns(shown, columns)  # a bad name: exit 2 before any request
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    refuse_ids(settings.output, "stats has counts, not tasks", "-o json, -o csv or -o table")
    now = utcnow()
    with client:
        names = client.namespaces() if all_namespaces else [settings.namespace]
        if by == "task":
            rows = [row for name in names for row in task_counts(client, name)]
        else:
            rows = [namespace_counts(client, name, now) for name in names]
    out = Output(settings.output, headers=not no_headers, pick_option="--columns")
    if out.format == "json":
        out.document(rows)  # type: ignore[arg-type]
    else:
        out.records(rows, chosen)
    if not rows and out.format == "table":  # an empty table prints nothing: say why
        message("no tasks in " + ("any namespace" if all_namespaces else f"namespace {settings.namespace}"))
