"""``eventix task purge``: delete every task matching a filter."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import typer

from eventix_cli.cli.bulk import Skip
from eventix_cli.cli.commands.task.common import (
    DryRunOption,
    NewerThanOption,
    OlderThanOption,
    StatusOption,
    TaskNameOption,
    UniqueKeyFilterOption,
    build_query,
    run_by_filter,
)
from eventix_cli.cli.journaling import NoJournalOption, journaled
from eventix_cli.cli.options import (
    AllNamespacesOption,
    ConcurrencyOption,
    NamespaceOption,
    OutputOption,
    TimeoutOption,
    UrlOption,
    YesOption,
)
from eventix_cli.cli.state import connect
from eventix_cli.client.selection import iter_matching_documents
from eventix_cli.config import require_writable
from eventix_cli.core.errors import InvalidResponse, RevisionConflict, TaskNotFound, UsageError
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.times import utcnow
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry, chunks_recorded

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient

EPILOG = """\
[bold]Examples[/bold]

  [dim]# from cron: done tasks older than 7 days[/dim]
  eventix task purge --status done --older-than 7d --yes

  eventix task purge --status error --task legacy_import --dry-run
"""


#: The worker id a purge sets on a pending task before deleting it, and for how long (seconds).
PURGE_HOLD = "eventix-purge"
PURGE_HOLD_SECONDS = 60


def purge_one(client: EventixClient, doc: dict[str, Any], entry: Entry | NoEntry = NO_ENTRY) -> None:
    """Delete a listed task, never one that a worker is running: a pending one is first
    reserved (see :func:`_reserve`), so no worker can claim it between the check and the delete.
    The listed document is its before-image: recorded in ``entry`` before this is called
    (:func:`~eventix_cli.journal.writer.chunks_recorded`, a chunk at a time)."""
    uid = doc["uid"]
    if doc.get("status") not in ("done", "error"):
        _reserve(client, doc)
    try:
        client.delete_task(uid)
    except TaskNotFound:
        raise Skip("already gone") from None
    entry.after(uid, "delete")


def _reserve(client: EventixClient, doc: dict[str, Any]) -> None:
    """Make a pending task unclaimable with one revision-checked write: claims take only tasks
    without a worker id, so it gets :data:`PURGE_HOLD` (and a short lease: should the purge die
    before its delete, the server's cleanup puts the task back). A task claimed since it was
    listed fails the revision check; it is re-read and left alone when processing."""
    # deferred: pydantic only for a real purge, kept off --dry-run and --help (tests/test_startup.py)
    from pydantic import ValidationError

    from eventix_cli.core.task import Task

    try:
        task = Task.model_validate(doc)
    except ValidationError as exc:  # the listing is read raw, for speed: checked here
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "document"
        raise InvalidResponse(
            f"the server listed a document that is not an Eventix task ({field}: {first['msg']})",
            status_code=200,
        ) from None
    for _ in range(3):
        if task.status.value == "processing" or task.worker_id not in (None, PURGE_HOLD):
            raise Skip("is processing now; processing tasks are never purged")
        task.worker_id = PURGE_HOLD
        task.worker_expires = utcnow() + dt.timedelta(seconds=PURGE_HOLD_SECONDS)
        try:
            client.put_task(task.to_wire())
            return
        except RevisionConflict:
            try:
                task = client.get_task(doc["uid"]).to_task()
            except TaskNotFound:
                raise Skip("already gone") from None
    raise Skip("changed by others while being purged; left alone")


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
    no_journal: NoJournalOption = False,
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

    query = replace(query, exclude_statuses=(TaskStatus.processing,))
    journal = journaled(
        ctx, settings, "purge", no_journal=no_journal, dry_run=dry_run, namespace=query.namespace
    )
    with journal as entry, client:
        # plain documents, not models: purge needs only the uid and status of each task
        run_by_filter(
            client=client,
            settings=settings,
            query=query,
            action_name="purge",
            verb="purged",
            ask="Delete",
            action=lambda doc: purge_one(client, doc, entry),
            concurrency=concurrency,
            yes=yes,
            dry_run=dry_run,
            items=chunks_recorded(entry, "delete", iter_matching_documents(client, query)),
            key=lambda doc: doc["uid"],
            count_first=False,
            entry=entry,
        )
