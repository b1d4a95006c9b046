"""``eventix task retry``: reschedule failed tasks, by id or by filter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.cli import output as out
from eventix_cli.cli.bulk import Skip
from eventix_cli.cli.bulk_run import run_selected
from eventix_cli.cli.commands.task.common import (
    DryRunOption,
    NewerThanOption,
    OlderThanOption,
    StatusOption,
    TaskNameOption,
    UniqueKeyFilterOption,
    build_query,
    read_ids,
    run_by_filter,
)
from eventix_cli.cli.completion import complete_task_ids
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
from eventix_cli.config import require_writable
from eventix_cli.core.errors import UsageError, WrongTaskStatus
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.times import parse_eta, utcnow
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry

if TYPE_CHECKING:
    import datetime as dt

    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.view import TaskView

EPILOG = """\
[bold]Examples[/bold]

  [dim]# retry every error of one task from the last hour[/dim]
  eventix task retry --status error --task send_invoice --newer-than 1h --yes

  eventix task list --status error --all -o ids | eventix task retry -
"""


def retry_one(
    client: EventixClient, uid: str, eta: dt.datetime | None, force: bool, entry: Entry | NoEntry = NO_ENTRY
) -> None:
    """Reschedule one task; with ``force`` also requeue done or stuck processing ones. With a
    journal, the task is read first and its before-image recorded before it is changed."""
    try:
        if entry.enabled:
            image = client.get_task(uid)
            entry.before("change", [image.to_wire()])
            rescheduled = client.reschedule(uid, eta)
            entry.after(uid, "change", _revision_left(client, image, rescheduled))
        else:
            client.reschedule(uid, eta)
        return
    except WrongTaskStatus as exc:
        status = exc.payload.get("status") if isinstance(exc.payload, dict) else None
        if status == TaskStatus.scheduled.value:
            raise Skip("already scheduled") from None
        if not force:
            exc.message = (
                f"status is {status}: only error and retry tasks can be retried (--force requeues others)"
            )
            raise
    current = client.get_task(uid)  # --force: a revision-checked write, so a concurrent change wins
    if current.status == TaskStatus.scheduled:
        raise Skip("already scheduled")
    entry.before("change", [current.to_wire()])
    task = current.to_task()
    task.status = TaskStatus.scheduled
    task.worker_id = None
    task.worker_expires = None
    task.eta = eta or utcnow()
    requeued = client.put_task(task.to_wire())
    entry.after(uid, "change", requeued.revision)


def _revision_left(client: EventixClient, image: TaskView, answer: TaskView) -> str | None:
    """The revision the reschedule left, for undo's check. Upstream's server answers with the
    revision the task had before (the stored one is the next), so then it is read back, and
    taken only when the task is still as the reschedule left it; ``None`` (undo skips the
    task: not known) when it changed meanwhile."""
    if answer.revision != image.revision:
        return answer.revision
    now = client.get_task(answer.uid)
    as_left = (now.status, now.worker_id) == (answer.status, answer.worker_id) and _same_ms(
        now.eta, answer.eta
    )
    return now.revision if as_left else None


def _same_ms(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    """Equal to the millisecond: a MongoDB-backed server stores times in milliseconds."""
    if a is None or b is None:
        return a is b
    return abs((a - b).total_seconds()) < 0.001


def retry(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[ID...]",
            autocompletion=complete_task_ids,
            help="Task uids, or - to read them from stdin. Without ids: the filter.",
            show_default=False,
        ),
    ] = None,
    status: StatusOption = None,
    task: TaskNameOption = None,
    unique_key: UniqueKeyFilterOption = None,
    older_than: OlderThanOption = None,
    newer_than: NewerThanOption = None,
    all_namespaces: AllNamespacesOption = False,
    eta: Annotated[
        str | None,
        typer.Option(
            "--eta", help="Run again at this time (ISO 8601 or +10m) instead of now.", show_default=False
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Also requeue done and processing tasks (a revision-checked write)."),
    ] = False,
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    concurrency: ConcurrencyOption = 8,
    no_journal: NoJournalOption = False,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Reschedule tasks that failed (status error or retry) to run again.

    By id, it tells which ids could not be retried and why. By filter (the filter options
    of `task list`; default --status error) it shows what it will do and asks first
    (--yes when not on a terminal). Exit 1 when any task could not be retried.
    """
    # deferred: the task model brings pydantic, kept off `task retry --help` (tests/test_startup.py)
    from eventix_cli.core.task import TaskStatus

    when = parse_eta(eta) if eta else None
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    filters = {
        "status": status,
        "task": task,
        "unique_key": unique_key,
        "older_than": older_than,
        "newer_than": newer_than,
        "all_namespaces": all_namespaces,
    }
    if ids and any(filters.values()):
        raise UsageError("give task ids or filter options, not both")
    if not dry_run:
        require_writable(settings, "retry tasks")
    if force:
        out.warn("--force requeues done and processing tasks too: a task a worker is running may run twice")
    namespace_acted = None if all_namespaces else settings.namespace
    journal = journaled(
        ctx, settings, "retry", no_journal=no_journal, dry_run=dry_run, namespace=namespace_acted
    )
    with journal as entry, client:
        action = lambda uid: retry_one(client, uid, when, force, entry)  # noqa: E731
        if ids:
            uids = read_ids(ids)
            if not uids:
                raise UsageError("no task ids given")
            if dry_run:
                out.message(f"dry run: would retry {len(uids):,} task(s) by id; nothing was changed")
                return
            run_selected(
                verb="retried",
                action_name="retry",
                uids=uids,
                total=len(uids),
                action=action,
                concurrency=concurrency,
                fmt=settings.output,
            )
            return
        query = build_query(settings, **filters)
        if not query.statuses:
            query = query.with_statuses(TaskStatus.error)
        blocked = {TaskStatus.done, TaskStatus.processing, TaskStatus.scheduled} & set(query.statuses)
        if blocked and not force:
            names = ", ".join(sorted(s.value for s in blocked))
            raise UsageError(f"tasks in {names} cannot be retried without --force")
        run_by_filter(
            client=client,
            settings=settings,
            query=query,
            action_name="retry",
            verb="retried",
            ask="Retry",
            action=action,
            concurrency=concurrency,
            yes=yes,
            dry_run=dry_run,
            entry=entry,
        )
