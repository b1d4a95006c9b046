"""``eventix task running``: what is being processed right now, grouped by worker.

The API has no worker registry: a worker is only visible through the tasks it holds, so
idle workers cannot be listed. A lease that has run out means the worker stopped renewing
it (it probably died); the server's cleanup puts such a task back in the queue.
"""

from __future__ import annotations

import typer

from eventix_cli.cli import output as out
from eventix_cli.cli.options import (
    AllNamespacesOption,
    NamespaceOption,
    NoHeadersOption,
    OutputOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.state import connect
from eventix_cli.cli.tables import CUT_LAST
from eventix_cli.client.running import group_by_worker, running_rows

EPILOG = """\
[bold]Examples[/bold]

  eventix task running -A

  [dim]# tasks whose worker probably died (lease expired)[/dim]
  eventix task running -o json | jq '.[] | select(.expired > 0) | .worker_id'
"""


def running(
    ctx: typer.Context,
    all_namespaces: AllNamespacesOption = False,
    no_headers: NoHeadersOption = False,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """The tasks being processed right now, grouped by worker id: task, uid, how long it has
    been running, and when its lease expires.

    An expired lease is flagged: its worker stopped renewing it and probably died; the server
    puts the task back in the queue. RUNNING counts from the claim, or from the last lease
    renewal of a long task. Idle workers cannot be listed: the API has no worker registry,
    so a worker is only seen through the tasks it holds.
    """
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    with client:
        rows = running_rows(client, None if all_namespaces else settings.namespace)
    groups = group_by_worker(rows)
    printer = Output(settings.output, headers=not no_headers)
    if printer.format == "json":
        printer.document(groups)  # type: ignore[arg-type]
    elif printer.format == "table":
        shown = []
        for group in groups:  # the worker id once per group
            shown.extend(
                {**row, "worker_id": row["worker_id"] if i == 0 else ""}
                for i, row in enumerate(group["tasks"])
            )
        columns = [
            Column("worker_id", "WORKER"),
            Column("task", "TASK", cut=CUT_LAST),
            Column("uid", "UID", min_width=32),
            Column("namespace", "NAMESPACE", drop=2),
            Column("running", "RUNNING", justify="right"),
            Column("lease", "LEASE"),
        ]
        # NAMESPACE is not kept with -A here: a worker, its tasks and their uids are what this
        # listing is read for, and one namespace in every row tells nothing
        printer.records(shown, columns)
    else:
        keys = ("worker_id", "uid", "namespace", "task", "running_seconds", "worker_expires", "lease_expired")
        printer.records(rows, [Column(k, k) for k in keys])
    expired = sum(g["expired"] for g in groups)
    if printer.format == "table":
        if not rows:
            out.message("nothing is running (idle workers cannot be listed: the API has no worker registry)")
        else:
            out.message(f"{len(rows):,} task(s) running on {len(groups):,} worker(s)")
    if expired:
        out.warn(
            f"{expired:,} lease(s) expired: the worker stopped renewing them and probably died; "
            "the server puts those tasks back in the queue"
        )
