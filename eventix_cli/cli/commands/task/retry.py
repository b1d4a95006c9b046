"""``eventix task retry``: reschedule failed tasks, by id or by filter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli import output as out
from eventix_cli.cli.bulk import BulkResult, Skip
from eventix_cli.cli.bulk_run import report_bulk, run_selected
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
    sample_and_count,
)
from eventix_cli.cli.commands.task.retrying import NOT_RETRIABLE, retried_document, write_retry
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
from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.state import connect
from eventix_cli.cli.tables import escape
from eventix_cli.config import require_writable
from eventix_cli.core.edits import FieldEdit, changed_fields, parse_edits
from eventix_cli.core.errors import ApiError, UsageError, WrongTaskStatus
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.times import parse_eta
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

  [dim]# fix an argument as the failed tasks are retried; --dry-run shows it[/dim]
  eventix task retry --task send_invoice --set kwargs.dry_run=false --yes
  eventix task retry 3f2a... --set 'args=[4711, "EUR"]' --set priority=5
  eventix task retry 3f2a... --edit
"""

EDITING = "Changing the task"


def retry_one(
    client: EventixClient,
    uid: str,
    eta: dt.datetime | None,
    force: bool,
    edits: Sequence[FieldEdit] = (),
    entry: Entry | NoEntry = NO_ENTRY,
) -> None:
    """Reschedule one task; with ``edits`` change its fields in the same write; with ``force``
    also requeue done or stuck processing ones. With a journal, the task is read first and its
    before-image recorded before it is changed."""
    if not edits:
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
                exc.message = f"status is {status}: {NOT_RETRIABLE}"
                raise
    before = client.get_task(uid).to_wire()
    after = retried_document(before, edits, eta, force)
    entry.before("change", [before])
    entry.after(uid, "change", write_retry(client, before, after).revision)


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
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help="Change a field as the task is retried (repeatable): kwargs.KEY=VALUE, args=JSON, "
            "kwargs=JSON, priority=N, eta=TIME; values as task add reads them.",
            show_default=False,
            rich_help_panel=EDITING,
        ),
    ] = None,
    edit: Annotated[
        bool,
        typer.Option(
            "--edit",
            help="One task: open its args and kwargs in $VISUAL/$EDITOR (else vi), retry with what is saved.",
            rich_help_panel=EDITING,
        ),
    ] = False,
    edit_file: Annotated[
        Path | None,
        typer.Option(
            "--edit-file",
            help="With one task: open this file (kept by an earlier --edit) instead of a fresh one.",
            show_default=False,
            rich_help_panel=EDITING,
        ),
    ] = None,
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

    --set and --edit change the task in the same revision-checked write that reschedules
    it: a task changed by someone else meanwhile is left alone (RevisionConflict).
    """
    # deferred: the task model brings pydantic, kept off `task retry --help` (tests/test_startup.py)
    from eventix_cli.core.task import TaskStatus

    when = parse_eta(eta) if eta else None
    edits = parse_edits(set_ or ())
    if when is not None and any(e.field == "eta" for e in edits):
        raise UsageError("give --eta or --set eta=..., not both")
    editing = edit or edit_file is not None
    if editing:
        if edits:
            raise UsageError("give --edit or --set, not both")
        if dry_run:
            raise UsageError("--edit shows the change in the editor: --dry-run does not apply")
        if not ids or len(ids) != 1 or ids[0] == "-":
            raise UsageError("--edit takes exactly one task id (not -: the editor needs the terminal)")
        if edit_file is not None and not edit_file.is_file():
            raise UsageError(f"--edit-file {edit_file}: no such file")
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
        action = lambda uid: retry_one(client, uid, when, force, edits, entry)  # noqa: E731
        if editing:
            _edit_one(client, read_ids(ids)[0], when, force, edit_file, settings.output, entry)  # type: ignore[arg-type]
            return
        if ids:
            uids = read_ids(ids)
            if not uids:
                raise UsageError("no task ids given")
            if dry_run and edits:
                before = [_read_or_reason(client, uid) for uid in uids]
                preview_edits(settings.output, before, len(uids), edits, when, force)
                return
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
                named="-" not in ids,
            )
            return
        query = build_query(settings, **filters)
        if not query.statuses:
            query = query.with_statuses(TaskStatus.error)
        blocked = {TaskStatus.done, TaskStatus.processing, TaskStatus.scheduled} & set(query.statuses)
        if blocked and not force:
            names = ", ".join(sorted(s.value for s in blocked))
            raise UsageError(f"tasks in {names} cannot be retried without --force")
        if dry_run and edits:
            count, sample = sample_and_count(client, query)
            docs = [task.to_wire() for task in sample]
            preview_edits(settings.output, docs, count, edits, when, force, query.describe())
            return
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


def _edit_one(
    client: EventixClient,
    uid: str,
    when: dt.datetime | None,
    force: bool,
    kept: Path | None,
    fmt: str | None,
    entry: Entry | NoEntry = NO_ENTRY,
) -> None:
    """``--edit``: the editor flow for one task, reported as a retry of one id is."""
    # deferred: subprocess and tempfile only for --edit
    from eventix_cli.cli.commands.task.editing import edit_and_retry

    result = BulkResult("retry")
    try:
        stored = edit_and_retry(client, uid, eta=when, force=force, kept=kept, entry=entry)
    except Skip as skip:
        result.skipped.append({"uid": uid, "reason": skip.reason})
    else:
        if stored is None:
            out.message("the arguments were saved unchanged: nothing was sent")
            return
        result.done.append(uid)
    report_bulk(fmt, result, verb="retried")


def _read_or_reason(client: EventixClient, uid: str) -> dict[str, Any]:
    """The task's document, or ``{"uid", "reason"}`` when it cannot be read (dry run)."""
    try:
        return client.get_task(uid).to_wire()
    except ApiError as exc:
        return {"uid": uid, "reason": exc.message}


def preview_edits(
    fmt: str | None,
    documents: Sequence[dict[str, Any]],
    count: int,
    edits: Sequence[FieldEdit],
    eta: dt.datetime | None,
    force: bool,
    query: dict[str, Any] | None = None,
) -> None:
    """``--dry-run`` with ``--set``: per task (every id given, or a sample of the filter's
    matches) what each field would become, or why the task would not be retried."""
    rows: list[dict[str, Any]] = []
    for doc in documents:
        if "reason" in doc:
            rows.append({"uid": doc["uid"], "changes": [], "reason": doc["reason"]})
            continue
        try:
            after = retried_document(doc, edits, eta, force)
        except (Skip, WrongTaskStatus) as exc:
            reason = exc.reason if isinstance(exc, Skip) else exc.message
            rows.append({"uid": doc["uid"], "changes": [], "reason": reason})
            continue
        rows.append({"uid": doc["uid"], "changes": changed_fields(doc, after, edits), "reason": None})
    printer = Output(fmt)
    if printer.format == "json":
        report = {"dry_run": True, "action": "retry", "count": count, "set": [e.path for e in edits]}
        printer.document(report | ({"query": query} if query is not None else {}) | {"tasks": rows})
        return
    if printer.format in ("jsonl", "csv", "ids"):  # one record per change (ids: each uid once)
        records = [
            {"uid": row["uid"], "field": c["field"], "before": c["before"], "after": c["after"]}
            for row in rows
            for c in row["changes"] or [{"field": None, "before": None, "after": None}]
        ]
        if printer.format == "ids":
            records = [{"uid": row["uid"]} for row in rows if row["reason"] is None]
        printer.records(records, [Column(k, k) for k in ("uid", "field", "before", "after")])
        out.message(f"dry run: would retry {count:,} task(s); nothing was changed")
        return
    out.line(f"would retry {count:,} task(s), setting {', '.join(e.path for e in edits)}")
    if query is not None:
        out.line(f"filter sent: {out.dumps(query['filter'])}")
        out.line(f"changes in a sample of {len(rows)}:")
    for row in rows:
        if row["reason"] is not None:
            out.line(escape(f"{row['uid']}  not retried: {row['reason']}"))
        for change in row["changes"]:
            before, after = out.dumps(change["before"]), out.dumps(change["after"])
            out.line(escape(f"{row['uid']}  {change['field']}: {before} -> {after}"))
        if row["reason"] is None and not row["changes"]:
            out.line(escape(f"{row['uid']}  unchanged (already as set)"))
    out.message("dry run: nothing was changed")
