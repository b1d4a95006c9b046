"""``eventix task purge``: delete every task matching a filter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from eventix_cli.commands.options import NamespaceOption, OutputOption, TimeoutOption, UrlOption
from eventix_cli.commands.task.common import (
    AllNamespacesOption,
    ConcurrencyOption,
    DryRunOption,
    NewerThanOption,
    OlderThanOption,
    StatusOption,
    TaskNameOption,
    UniqueKeyFilterOption,
    YesOption,
    connect,
)
from eventix_cli.errors import UsageError

if TYPE_CHECKING:
    from eventix_cli.client import EventixClient

EPILOG = """\
[bold]Examples[/bold]

  [dim]# from cron: done tasks older than 7 days[/dim]
  eventix task purge --status done --older-than 7d --yes

  eventix task purge --status error --task legacy_import --dry-run
"""


def purge_one(client: EventixClient, doc: dict[str, Any]) -> None:
    """Delete a listed task unless it is processing; a pending one is re-read first, since a
    worker may have claimed it since it was listed."""
    from eventix_cli.bulk import Skip
    from eventix_cli.errors import TaskNotFound

    uid = doc["uid"]
    if doc.get("status") not in ("done", "error"):
        current = client.get_task(uid)
        if current.status.value == "processing":
            raise Skip("is processing now; processing tasks are never purged")
    try:
        client.delete_task(uid)
    except TaskNotFound:
        raise Skip("already gone") from None


def purge(
    ctx: typer.Context,
    status: StatusOption = None,
    task: TaskNameOption = None,
    unique_key: UniqueKeyFilterOption = None,
    older_than: OlderThanOption = None,
    newer_than: NewerThanOption = None,
    all_namespaces: AllNamespacesOption = False,
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    concurrency: ConcurrencyOption = 8,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Delete every task matching the filter in the namespace (-A: every namespace).

    Processing tasks are never purged. At least one filter is required. --dry-run prints
    the count, a sample of 5 and the exact filter; otherwise it asks first (--yes when not
    on a terminal). Only matching tasks are touched, so running it again is harmless.
    """
    from eventix_cli.commands.task.common import (
        build_query,
        require_writable,
        run_by_filter,
    )
    from eventix_cli.statuses import TaskStatus

    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    query = build_query(
        settings,
        all_namespaces=all_namespaces,
        status=status,
        task=task,
        unique_key=unique_key,
        older_than=older_than,
        newer_than=newer_than,
    )
    if query.is_empty:
        raise UsageError(
            "refusing to purge without a filter",
            hint="name what to delete, e.g. --status done --older-than 7d "
            "(every status: -s scheduled,retry,error,done)",
        )
    if TaskStatus.processing in query.statuses:
        raise UsageError("processing tasks are never purged; cancel them with `eventix task cancel --force`")
    if not dry_run:
        require_writable(settings, "purge tasks")
    from dataclasses import replace

    query = replace(query, exclude_statuses=(TaskStatus.processing,))
    with client:
        # plain documents, not models: purge needs only the uid and status of each task
        run_by_filter(
            client=client,
            settings=settings,
            query=query,
            action_name="purge",
            verb="purged",
            ask="Delete",
            action=lambda doc: purge_one(client, doc),
            concurrency=concurrency,
            yes=yes,
            dry_run=dry_run,
            items=query.iter_documents(client),
            key=lambda doc: doc["uid"],
            count_first=False,
        )
