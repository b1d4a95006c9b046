"""``eventix undo [ID]``: put back what a journaled command changed.

Each task of the entry is undone by one revision-checked step, so a task changed since the
command (by a worker or a person) is skipped and reported, never overwritten:

- deleted: re-created under its uid from its before-image (an insert: a task that exists
  again is left alone);
- changed: its before-image written back over the revision the command left;
- either, when it would make the task pending with a unique key that another pending task of
  its namespace holds now (one that is not the entry's: added since): left alone, as two
  pending tasks of one key would both run;
- added: deleted, if still at the revision the command left (a pending one is first reserved,
  as ``task purge`` does, so no worker claims it between the check and the delete).

The undo is itself a journal entry, so it can be undone in turn.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections import Counter
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli import bulk_run
from eventix_cli.cli import output as out
from eventix_cli.cli.bulk import Skip
from eventix_cli.cli.bulk_run import confirm_or_refuse, run_selected
from eventix_cli.cli.commands.task.purge import PURGE_HOLD, PURGE_HOLD_SECONDS
from eventix_cli.cli.journaling import NoJournalOption, journal_dir, journaled
from eventix_cli.cli.options import ConcurrencyOption, OutputOption, TimeoutOption, UrlOption, YesOption
from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.state import connect
from eventix_cli.cli.tables import cell_width, escape
from eventix_cli.config import require_writable
from eventix_cli.core.errors import CannotUndo, RevisionConflict, TaskNotFound, UsageError
from eventix_cli.core.statuses import PENDING_STATUSES
from eventix_cli.core.times import utcnow
from eventix_cli.journal.reader import Change, JournalEntry, entries, find_entry
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.config import Settings
    from eventix_cli.core.view import TaskView

EPILOG = """\
[bold]Examples[/bold]

  eventix history                 [dim]# find the entry[/dim]
  eventix undo --dry-run          [dim]# the last entry of this server[/dim]
  eventix undo 42 --yes
"""

#: what undoing each kind of change does, in words
UNDO_VERBS = {"delete": "re-create", "change": "write back", "add": "delete"}
#: the plan's word for a change whose earlier state was not recorded, and what it means
NOT_RECORDED = "cannot undo"
NOT_RECORDED_TEXT = "cannot be undone (earlier state not recorded)"
#: the dry run's word for a task undo would leave alone (changed since), with the reason
SKIP = "skip"


def undo_one(
    client: EventixClient, change: Change, entry: Entry | NoEntry = NO_ENTRY, own: Collection[str] = ()
) -> None:
    """Undo one task's change (see the module docstring); :class:`Skip` says why not.
    ``own``: the uids of the entry's tasks, which hold no unique key against each other."""
    if change.op == "delete":
        _recreate(client, change, entry, own)
    elif change.op == "change":
        _write_back(client, change, entry, own)
    else:
        _remove_added(client, change, entry)


#: why undo leaves a task alone, in the words of its report
NO_IMAGE = "its before-image was not recorded"
EXISTS = "exists (not deleted, or re-created since); left as it is"
DELETED_SINCE = "deleted since; left as it is"
NOT_FINISHED = "the command did not finish changing it; left as it is"
UPDATED_UNRECORDED = "it updated an existing task (same unique key) whose earlier state was not recorded"


def key_taken(holder: str) -> str:
    return f"its unique key is held by pending task {holder} now; left as it is"


#: the statuses of a pending task: the ones that hold a unique key (a task add updates it)
PENDING = tuple(str(status) for status in PENDING_STATUSES)

#: a unique key of a namespace: (namespace, unique key)
Key = tuple[str, str]


def pending_key(change: Change, current: TaskView | None) -> Key | None:
    """The unique key undo would make this task hold as a pending task, if it is not holding
    it already (pending, under that key, in that namespace): ``None`` when undo adds no holder."""
    image = change.image
    if change.op not in ("delete", "change") or image is None:
        return None
    if not image.get("unique_key") or str(image.get("status")) not in PENDING:
        return None
    key = (str(image.get("namespace")), str(image["unique_key"]))
    if (
        change.op == "change"
        and current is not None
        and str(current.status) in PENDING
        and (current.namespace, current.unique_key) == key
    ):
        return None  # it holds the key already: writing it back makes no second holder
    return key


def _check_key_free(change: Change, holders: Iterable[str], own: Collection[str]) -> None:
    """:class:`Skip` when a pending task holds the unique key undo would give this one
    (``holders``: the pending tasks holding that key now), unless it is a task of the entry
    (``own``): undo puts the entry's tasks back as they were together, whatever the order in
    which it gets to them."""
    others = [uid for uid in holders if uid != change.uid and uid not in own]
    if others:
        raise Skip(key_taken(min(others)))


def _key_holders(client: EventixClient, key: Key) -> list[str]:
    """The pending tasks holding this unique key now."""
    namespace, unique_key = key
    query = {"unique_key": unique_key, "status": {"$in": list(PENDING)}}
    return [task.uid for task in client.iter_tasks(namespace=namespace, filter=query)]


def _recreate(client: EventixClient, change: Change, entry: Entry | NoEntry, own: Collection[str]) -> None:
    if change.image is None:
        raise Skip(NO_IMAGE)
    key = pending_key(change, None)
    if key is not None:
        _check_key_free(change, _key_holders(client, key), own)
    try:  # no revision: an insert, which conflicts with a task under this uid
        stored = client.put_task({**change.image, "revision": None})
    except RevisionConflict:
        raise Skip(EXISTS) from None
    entry.after(stored.uid, "add", stored.revision)


def _check_write_back(change: Change) -> dict[str, Any]:
    """The before-image a changed task is written back from, if it can be (the journal alone
    tells); else :class:`Skip` with the reason."""
    if not change.confirmed:
        raise Skip(NOT_FINISHED)
    if change.image is None:
        raise Skip(UPDATED_UNRECORDED)
    return change.image


def _check_unchanged(change: Change, current: TaskView | None) -> TaskView:
    """The task as it is now (``None``: no task under its uid), if still at the revision the
    command left it at; else :class:`Skip` with the reason."""
    if current is None:
        raise Skip(DELETED_SINCE)
    if current.revision != change.revision:
        raise Skip(f"changed since (revision {current.revision}, left at {change.revision}); left as it is")
    return current


def _unchanged_since(client: EventixClient, change: Change) -> TaskView:
    """The task as it is now, if still at the revision the command left it at."""
    try:
        current = client.get_task(change.uid)
    except TaskNotFound:
        current = None
    return _check_unchanged(change, current)


def decide(
    change: Change,
    current: TaskView | None,
    holders: dict[Key, list[str]] | None = None,
    own: Collection[str] = (),
) -> str:
    """What undo would do to one task, given the task as it is now (``None``: no task under
    its uid), the pending tasks holding each unique key now (``holders``) and the uids of the
    entry's tasks (``own``), by the checks undo itself makes before it writes: the plan's
    verb, or :class:`Skip` with the reason undo would give. Reads and writes nothing."""
    holders = holders or {}
    if change.op == "delete":
        if change.image is None:
            raise Skip(NO_IMAGE)
        key = pending_key(change, current)
        if key is not None:
            _check_key_free(change, holders.get(key, []), own)
        if current is not None:
            raise Skip(EXISTS)  # undo's insert would conflict with it
    else:
        if change.op == "change":
            _check_write_back(change)
        current = _check_unchanged(change, current)
        key = pending_key(change, current)
        if key is not None:
            _check_key_free(change, holders.get(key, []), own)
    return UNDO_VERBS[change.op]


def _write_back(client: EventixClient, change: Change, entry: Entry | NoEntry, own: Collection[str]) -> None:
    image = _check_write_back(change)
    current = _unchanged_since(client, change)
    key = pending_key(change, current)
    if key is not None:
        _check_key_free(change, _key_holders(client, key), own)
    entry.before("change", [current.to_wire()])
    try:
        stored = client.put_task({**image, "revision": change.revision})
    except RevisionConflict:
        raise Skip("changed since; left as it is") from None
    entry.after(stored.uid, "change", stored.revision)


def _remove_added(client: EventixClient, change: Change, entry: Entry | NoEntry) -> None:
    current = _unchanged_since(client, change)
    entry.before("delete", [current.to_wire()])
    if current.status.value not in ("done", "error"):
        held = current.to_task()  # reserved first: no worker claims it between check and delete
        held.worker_id = PURGE_HOLD
        held.worker_expires = utcnow() + dt.timedelta(seconds=PURGE_HOLD_SECONDS)
        try:
            client.put_task(held.to_wire())
        except RevisionConflict:
            raise Skip("changed since; left as it is") from None
    try:
        client.delete_task(change.uid)
    except TaskNotFound:
        raise Skip("deleted since") from None
    entry.after(change.uid, "delete")


def choose_entry(settings: Settings, entry_id: int | None) -> JournalEntry | None:
    """The entry to undo: the one named, else the newest made against this server. An entry
    whose header does not read (its server unknown) is refused, never passed over for an
    older one."""
    directory = journal_dir()
    if entry_id is not None:
        found = find_entry(directory, entry_id)
        if found is None:
            raise UsageError(f"no journal entry {entry_id}", hint="`eventix history` lists the entries")
        if not found.header_read:
            raise damaged(found)
        if found.url != settings.url:
            raise UsageError(
                f"journal entry {entry_id} changed tasks on {found.url}, not on {settings.url}",
                hint=f"pass --url {found.url} to undo it there",
            )
        return found
    for found in entries(directory):
        if not found.header_read:
            raise damaged(
                found, hint="name the entry to undo: eventix undo ID (`eventix history` lists them)"
            )
        if found.url == settings.url:
            return found
    return None


def damaged(found: JournalEntry, hint: str | None = None) -> CannotUndo:
    """The refusal of a damaged entry: what is wrong and how much of it could be read."""
    readable = f"; {found.images:,} before-image(s) of {len(found.changes):,} change(s) could be read"
    return CannotUndo(
        f"journal entry {found.id} is damaged: {found.damage}" + (readable if found.header_read else ""),
        hint=hint
        or (
            "--partial undoes what could be read (a task whose line was lost is left as it is)"
            if found.header_read
            else "`eventix history show ID` shows what could be read of it"
        ),
    )


def plan_step(change: Change) -> str:
    """What undo will do to one task, as the plan words it."""
    return UNDO_VERBS[change.op] if change.recorded else NOT_RECORDED


def plan_counts(changes: list[Change]) -> Counter[str]:
    return Counter(plan_step(c) for c in changes)


def plan_text(counts: Counter[str]) -> str:
    """The plan in words: "re-create 3, write back 1 task(s)", "nothing to do", how many
    tasks would be skipped (a dry run reads them) and how many changes cannot be undone."""
    steps = ", ".join(f"{verb} {counts[verb]:,}" for verb in UNDO_VERBS.values() if counts[verb])
    text = f"{steps} task(s)" if steps else "nothing to do"
    if counts[SKIP]:
        text += f"; {counts[SKIP]:,} skipped"
    if counts[NOT_RECORDED]:
        text += f"; {counts[NOT_RECORDED]:,} {NOT_RECORDED_TEXT}"
    return text


def undo(
    ctx: typer.Context,
    entry_id: Annotated[
        int | None,
        typer.Argument(
            metavar="[ID]",
            help="The journal entry (`eventix history`); default: the last one.",
            show_default=False,
        ),
    ] = None,
    yes: YesOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be undone, task by task; change nothing.")
    ] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Undo a damaged entry as far as it could be read (tasks of lost lines stay as they are).",
        ),
    ] = False,
    concurrency: ConcurrencyOption = 8,
    no_journal: NoJournalOption = False,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Undo a journaled change: deleted tasks re-created, changed ones written back, added
    ones deleted.

    A task changed since the command ran is skipped and reported, never overwritten. It says
    what it will do and asks first (--yes when not on a terminal); --dry-run shows the plan
    and changes nothing. The undo is journaled too: undo it to redo. An entry undone already
    is said to be first (its tasks, back as they were, are then skipped). A damaged entry (a
    line unreadable) is refused unless --partial; the dry run shows what could be read.
    """
    settings, client = connect(ctx, url=url, timeout=timeout, output=output)
    if not dry_run:
        require_writable(settings, "undo changes")
    found = choose_entry(settings, entry_id)
    if found is None:
        out.message(f"nothing to undo: the journal has no entry for {settings.url}")
        return
    if found.overflowed:
        raise UsageError(
            f"journal entry {found.id} cannot be undone: its before-images went over the journal's limit",
            hint="restore from a `eventix task dump` taken before the change, if there is one",
        )
    if found.damage is not None:
        if not (partial or dry_run):
            raise damaged(found)
        out.warn(damaged(found).message + ": undoing what could be read")
    if found.undone_by is not None:
        out.warn(
            f"entry {found.id} was undone already (by entry {found.undone_by}): what that undo put "
            f"back is skipped, as it is no longer as entry {found.id} left it; "
            f"`eventix undo {found.undone_by}` redoes it"
        )
    changes = found.to_undo()
    counts = plan_counts(changes)
    described = (
        f"entry {found.id} ({found.action}, {found.header.get('time', '?')[:19].replace('T', ' ')} UTC)"
    )
    if dry_run:
        with client:
            plan = dry_run_plan(client, changes)
        _dry_run(settings.output, found, plan, described)
        return
    if not changes:
        out.message(f"nothing to undo: {described} changed no task")
        return
    if counts[NOT_RECORDED] == len(changes):
        raise CannotUndo(
            f"nothing undone: {described}: {counts[NOT_RECORDED]:,} change(s) {NOT_RECORDED_TEXT}",
            hint="the before-images were in its unreadable lines"
            if found.damage
            else "a task add or event post with a unique key updated a pending task without recording it",
        )
    with client:
        if not yes and bulk_run.interactive():  # asked with the plan as the dry run reads it (one read)
            counts = Counter(item["undo"] for item in dry_run_plan(client, changes))
        confirm_or_refuse(f"Undo {described}: {plan_text(counts)}?", yes=yes)
        journal = journaled(
            ctx,
            settings,
            "undo",
            no_journal=no_journal,
            namespace=found.header.get("namespace"),
            undoes=found.id,
        )
        own = frozenset(change.uid for change in changes)
        with journal as entry:
            run_selected(
                verb="undone",
                action_name="undo",
                uids=changes,
                total=len(changes),
                action=lambda change: undo_one(client, change, entry, own),
                key=lambda change: change.uid,
                concurrency=concurrency,
                fmt=settings.output,
                # not the same command again: that would undo this undo (the newest entry now)
                again=f"`eventix undo {found.id}`",
            )


#: unique keys asked for in one listing request of a dry run (a ``$in`` list, as uids are)
READ_CHUNK = 200


def tasks_now(client: EventixClient, uids: list[str]) -> dict[str, TaskView]:
    """The tasks under these uids as they are now, in any namespace (a uid missing: no task)."""
    return {task.uid: task for page in client.pages_by_uid(uids) for task in page.tasks}


def key_holders_now(client: EventixClient, keys: set[Key]) -> dict[Key, list[str]]:
    """The pending tasks holding each of these unique keys now, by namespace and key."""
    by_namespace: dict[str, list[str]] = {}
    for namespace, unique_key in sorted(keys):
        by_namespace.setdefault(namespace, []).append(unique_key)
    holders: dict[Key, list[str]] = {}
    for namespace, unique_keys in by_namespace.items():
        for start in range(0, len(unique_keys), READ_CHUNK):
            query = {
                "unique_key": {"$in": unique_keys[start : start + READ_CHUNK]},
                "status": {"$in": list(PENDING)},
            }
            for task in client.iter_tasks(namespace=namespace, filter=query):
                holders.setdefault((namespace, task.unique_key), []).append(task.uid)
    return holders


def dry_run_plan(client: EventixClient, changes: list[Change]) -> list[dict[str, Any]]:
    """What undo would do to each task, decided as undo decides it on the tasks (and the
    holders of their unique keys) as they are now (read, nothing written): its verb, ``skip``
    with undo's reason, or ``cannot undo``."""
    current = tasks_now(client, [c.uid for c in changes if c.recorded])
    keys = {pending_key(c, current.get(c.uid)) for c in changes if c.recorded}
    holders = key_holders_now(client, {key for key in keys if key is not None})
    own = {change.uid for change in changes}
    plan: list[dict[str, Any]] = []
    for change in changes:
        step, reason = NOT_RECORDED, None
        if change.recorded:
            try:
                step = decide(change, current.get(change.uid), holders, own)
            except Skip as skip:
                step, reason = SKIP, skip.reason
        plan.append({"uid": change.uid, "undo": step, "revision": change.revision, "reason": reason})
    return plan


#: where a reason goes on when it wraps: under the task's uid
REASON_INDENT = 14
#: the fewest columns a reason is wrapped into beside the uid; with fewer it starts below it
REASON_ROOM = 20


def _wrap(text: str, width: int, first: str, indent: int) -> list[str]:
    """``text`` after ``first`` on its first line, wrapped at words into ``width`` columns, the
    lines after the first indented by ``indent``. A word is never broken (a uid stays whole)."""
    width = max(width, indent + REASON_ROOM)  # a terminal narrower than that wraps it itself
    if len(first) + REASON_ROOM > width:
        return [
            first.rstrip(),
            *textwrap.wrap(
                text,
                width,
                initial_indent=" " * indent,
                subsequent_indent=" " * indent,
                break_on_hyphens=False,
                break_long_words=False,
            ),
        ]
    lines = textwrap.wrap(
        text,
        width,
        initial_indent=" " * len(first),
        subsequent_indent=" " * indent,
        break_on_hyphens=False,
        break_long_words=False,
    )
    return [first + lines[0][len(first) :], *lines[1:]]


def heading_lines(heading: str, plan: str, width: int | None) -> list[str]:
    """The dry run's first line (``heading`` and the plan), or, wider than ``width``, the plan
    on the lines below it."""
    text = f"{heading} {plan}"
    if width is None or cell_width(text) <= width:
        return [text]
    return [
        heading,
        *textwrap.wrap(
            plan,
            max(width, REASON_ROOM),
            initial_indent="  ",
            subsequent_indent="  ",
            break_on_hyphens=False,
            break_long_words=False,
        ),
    ]


def plan_lines(item: dict[str, Any], width: int | None) -> list[str]:
    """One task of the dry run: what undo would do, its uid and the reason of a skip, on one
    line; on a terminal narrower than that (``width``) the reason wraps under the uid."""
    text = f"  {item['undo']:<10}  {escape(str(item['uid']))}"
    if not item["reason"]:
        return [text]
    reason = escape(str(item["reason"]))
    if width is None or cell_width(f"{text}: {reason}") <= width:
        return [f"{text}: {reason}"]
    return _wrap(reason, width, f"{text}: ", REASON_INDENT)


def _dry_run(fmt: str | None, found: JournalEntry, plan: list[dict[str, Any]], described: str) -> None:
    printer = Output(fmt)
    counts = Counter(item["undo"] for item in plan)
    if printer.format == "json":
        printer.document({"dry_run": True, "entry": found.summary(), "plan": plan, "counts": dict(counts)})
    elif printer.format == "table":
        width = printer.table_width()  # None in a pipe: never cut nor wrapped
        for text in heading_lines(f"would undo {described}:", plan_text(counts), width):
            out.line(text)
        for item in plan[:5]:
            for text in plan_lines(item, width):
                out.line(text)
        if len(plan) > 5:
            out.line(f"  ... and {len(plan) - 5:,} more (-o json lists them all)")
    else:
        printer.records(plan, [Column(k, k) for k in ("uid", "undo", "revision", "reason")])
    out.message("dry run: nothing was changed")
