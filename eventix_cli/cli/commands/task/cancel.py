"""``eventix task cancel``: remove tasks that have not run yet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.cli import output as out
from eventix_cli.cli.bulk_run import confirm_or_refuse, run_selected
from eventix_cli.cli.commands.task.common import (
    UNIQUE_KEY_PREFERENCE,
    DryRunOption,
    NewerThanOption,
    OlderThanOption,
    StatusOption,
    TaskNameOption,
    build_query,
    no_task_for_unique_key,
    read_ids,
    run_by_filter,
    sample_and_count,
    tasks_by_unique_key,
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
from eventix_cli.client.selection import first_matches
from eventix_cli.config import Settings, require_writable
from eventix_cli.core.errors import RevisionConflict, UsageError, WrongTaskStatus
from eventix_cli.core.query import GLOB_CHARS, TaskQuery
from eventix_cli.core.statuses import PENDING_STATUSES, TaskStatus
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.view import TaskView

EPILOG = """\
[bold]Examples[/bold]

  eventix task cancel 3f2a9c0e8d7b4a1f9e6d5c4b3a291807
  eventix task cancel --unique-key 'report:2026-11' -n billing

  [dim]# everything still queued for one task function[/dim]
  eventix task cancel --task rebuild_index --yes
"""


def cancel_one(client: EventixClient, uid: str, force: bool, entry: Entry | NoEntry = NO_ENTRY) -> None:
    """Delete a task that has not run yet; end a processing one (only with ``force``). Each
    change is recorded in ``entry`` with the task's before-image first."""
    # deferred: the outcome module brings the pydantic task model (kept off `task cancel --help`)
    from eventix_cli.core.outcome import TASK_CANCELLED

    task = client.get_task(uid)
    if task.status == TaskStatus.processing and force:
        task = end_running(client, task, entry=entry)
    if task.status in PENDING_STATUSES:
        entry.before("delete", [task.to_wire()])
        client.delete_task(uid)
        entry.after(uid, "delete")
        return
    if task.status == TaskStatus.error and task.error and task.error.error_class == TASK_CANCELLED:
        return
    if task.status == TaskStatus.processing:
        reason = f"is processing on worker {task.worker_id or '?'}; --force ends it as cancelled"
    else:
        reason = f"has already run (status {task.status.value}); `eventix task purge` deletes finished tasks"
    raise WrongTaskStatus(
        f"task {uid} {reason}",
        status_code=422,
        server_error_class="WrongTaskStatus",
        payload={"uid": uid, "status": task.status.value},
    )


def end_running(
    client: EventixClient, task: TaskView, attempts: int = 5, *, entry: Entry | NoEntry = NO_ENTRY
) -> TaskView:
    """End a processing task as ``error``/``TaskCancelled`` with a revision-checked write.

    Not a delete: the server would re-insert a deleted task when its worker writes back. This
    write changes the revision, so the worker's write-back meets a conflict, sees the claim
    is gone and discards its outcome. Returns the task as it is now (finished or pending when
    the worker was quicker).
    """
    from eventix_cli.core.outcome import apply_cancel  # deferred: pydantic, as above

    for _ in range(attempts):
        if task.status != TaskStatus.processing:
            return task
        entry.before("change", [task.to_wire()])
        cancelled = task.to_task()
        apply_cancel(cancelled, by="eventix task cancel --force")
        try:
            ended = client.put_task(cancelled.to_wire())
        except RevisionConflict:
            task = client.get_task(cancelled.uid)
        else:
            entry.after(ended.uid, "change", ended.revision)
            return ended
    return task


def cancel(
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
    unique_key: Annotated[
        str | None,
        typer.Option(
            "--unique-key",
            "-k",
            help="Cancel the pending task with this unique key (exact), "
            "or with a glob such as 'report:*' every match.",
            show_default=False,
        ),
    ] = None,
    status: StatusOption = None,
    task: TaskNameOption = None,
    older_than: OlderThanOption = None,
    newer_than: NewerThanOption = None,
    all_namespaces: AllNamespacesOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also end processing tasks: stored as error TaskCancelled, their result discarded.",
        ),
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
    """Remove tasks that have not run yet (scheduled or retry).

    A processing task is refused with the reason unless --force, which ends it at once as
    error (TaskCancelled, no retry; its worker discards the result when it finishes; the
    task's code is not interrupted); finished tasks are left to `task purge`. Ids on the
    command line are cancelled at once; ids from stdin and filters are confirmed first
    (--yes when not on a terminal). Without ids a filter is required (every pending task:
    --status scheduled,retry).
    """
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    filters = {
        "status": status,
        "task": task,
        "older_than": older_than,
        "newer_than": newer_than,
        "all_namespaces": all_namespaces,
    }
    if ids and (any(filters.values()) or unique_key):
        raise UsageError("give task ids, --unique-key or filter options, not several")
    if not dry_run:
        require_writable(settings, "cancel tasks")
    namespace_acted = None if all_namespaces else settings.namespace
    journal = journaled(
        ctx, settings, "cancel", no_journal=no_journal, dry_run=dry_run, namespace=namespace_acted
    )
    with journal as entry, client:
        action = partial(cancel_one, client, force=force, entry=entry)
        if ids:
            cancel_by_ids(settings, ids, action, yes=yes, dry_run=dry_run, concurrency=concurrency)
        elif unique_key and not (GLOB_CHARS & set(unique_key)) and not any(filters.values()):
            cancel_by_unique_key(client, settings, unique_key, action, force=force, dry_run=dry_run)
        elif (
            unique_key
            and not any(filters.values())
            and not dry_run
            and _only_finished(client, settings, unique_key, force)
        ):
            cancel_finished_by_glob(client, settings, unique_key, action, force=force)
        else:
            run_by_filter(
                client=client,
                settings=settings,
                query=cancellable_query(build_query(settings, unique_key=unique_key, **filters), force),
                action_name="cancel",
                verb="cancelled",
                ask="Cancel",
                action=action,
                concurrency=concurrency,
                yes=yes,
                dry_run=dry_run,
                entry=entry,
            )


#: the tasks read to report a glob whose tasks have all run
GLOB_REPORT_LIMIT = 100


def cancellable_statuses(force: bool) -> set[TaskStatus]:
    """The statuses cancel acts on: pending ones, and processing with ``--force``."""
    return set(PENDING_STATUSES) | ({TaskStatus.processing} if force else set())


def cancel_by_ids(
    settings: Settings,
    ids: Sequence[str],
    action: Callable[[str], None],
    *,
    yes: bool,
    dry_run: bool,
    concurrency: int,
) -> None:
    """Ids on the command line are cancelled at once; ids read from stdin are confirmed first."""
    uids = read_ids(ids)
    if not uids:
        raise UsageError("no task ids given")
    if dry_run:
        out.message(f"dry run: would cancel {len(uids):,} task(s) by id; nothing was changed")
        return
    if "-" in ids:
        confirm_or_refuse(f"Cancel {len(uids):,} task(s) read from stdin?", yes=yes)
    run_selected(
        verb="cancelled",
        action_name="cancel",
        uids=uids,
        total=len(uids),
        action=action,
        concurrency=concurrency,
        fmt=settings.output,
        named="-" not in ids,
    )


def cancel_by_unique_key(
    client: EventixClient,
    settings: Settings,
    unique_key: str,
    action: Callable[[str], None],
    *,
    force: bool,
    dry_run: bool,
) -> None:
    """Cancel the tasks with this exact unique key that can be cancelled. When there is none,
    the most relevant task is tried, so the report says what is there and why nothing was
    done (as by id)."""
    found = tasks_by_unique_key(client, settings.namespace, unique_key)
    if not found:
        raise no_task_for_unique_key(settings.namespace, unique_key)
    allowed = cancellable_statuses(force)
    targets = [t for t in found if t.status in allowed] or found[:1]
    if dry_run:
        out.message(_dry_run_by_unique_key(targets, allowed, unique_key))
        return
    run_selected(
        verb="cancelled",
        action_name="cancel",
        uids=[t.uid for t in targets],
        total=len(targets),
        action=action,
        concurrency=1,
        fmt=settings.output,
    )


def _only_finished(client: EventixClient, settings: Settings, unique_key: str, force: bool) -> bool:
    """Does the glob match tasks, none of which cancel may act on?"""
    query = build_query(settings, unique_key=unique_key)
    count, _ = sample_and_count(client, cancellable_query(query, force), size=1)
    return count == 0 and bool(first_matches(client, query, 1, "_id")[0])


def cancel_finished_by_glob(
    client: EventixClient, settings: Settings, unique_key: str, action: Callable[[str], None], *, force: bool
) -> None:
    """A glob whose keys' tasks have all run: each key's most relevant task is tried, as an
    exact key does, so the report names each task and why nothing was done (exit 1), in the
    words a cancel by id or by exact key uses."""
    found, _ = first_matches(client, build_query(settings, unique_key=unique_key), GLOB_REPORT_LIMIT, "_id")
    per_key: dict[str | None, TaskView] = {}
    for task in sorted(found, key=lambda t: UNIQUE_KEY_PREFERENCE.index(t.status.value)):
        per_key.setdefault(task.unique_key, task)
    run_selected(
        verb="cancelled",
        action_name="cancel",
        uids=[t.uid for t in per_key.values()],
        total=len(per_key),
        action=action,
        concurrency=1,
        fmt=settings.output,
    )


def _dry_run_by_unique_key(targets: Sequence[TaskView], allowed: set[TaskStatus], unique_key: str) -> str:
    first = targets[0]
    if first.status not in allowed:
        return (
            f"dry run: nothing to cancel: task {first.uid} with unique key "
            f"{unique_key!r} is {first.status.value}; nothing was changed"
        )
    described = ", ".join(f"{t.uid} ({t.status.value})" for t in targets)
    return f"dry run: would cancel task {described}; nothing was changed"


def cancellable_query(query: TaskQuery, force: bool) -> TaskQuery:
    """The filter's query limited to the statuses cancel acts on; a usage error for an empty
    filter or for statuses cancel does not touch."""
    if query.is_empty:
        raise UsageError(
            "refusing to cancel without ids or a filter",
            hint="name what to cancel, e.g. --task NAME; every pending task: --status scheduled,retry",
        )
    allowed = cancellable_statuses(force)
    if not query.statuses:
        query = query.with_statuses(*sorted(allowed, key=list(TaskStatus).index))
    refused = set(query.statuses) - allowed
    if refused:
        names = ", ".join(sorted(s.value for s in refused))
        hint = (
            "--force also cancels processing tasks"
            if TaskStatus.processing in refused
            else "finished tasks are deleted with `eventix task purge`"
        )
        raise UsageError(f"cannot cancel tasks in {names}", hint=hint)
    return query
