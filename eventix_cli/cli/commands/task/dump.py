"""``eventix task dump`` and ``eventix task restore``: JSON Lines backups of tasks."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli import output
from eventix_cli.cli.bulk import Skip
from eventix_cli.cli.bulk_run import confirm_or_refuse, run_selected
from eventix_cli.cli.commands.task.common import (
    NewerThanOption,
    OlderThanOption,
    StatusOption,
    TaskNameOption,
    UniqueKeyFilterOption,
    build_query,
)
from eventix_cli.cli.commands.task.rendering import print_tasks
from eventix_cli.cli.files import open_output, plan_output
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
from eventix_cli.cli.output import Output
from eventix_cli.cli.state import connect
from eventix_cli.client.selection import count_matches, iter_matches
from eventix_cli.config import require_writable
from eventix_cli.core.errors import RevisionConflict, TaskNotFound, UsageError
from eventix_cli.core.jsonrules import loads
from eventix_cli.journal.writer import NO_ENTRY, Entry, NoEntry

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.task import Task
    from eventix_cli.core.view import TaskView

DUMP_EPILOG = """\
[bold]Examples[/bold]

  eventix task dump backup.jsonl -A
  eventix task dump --status error -n billing | gzip > errors.jsonl.gz
"""

RESTORE_EPILOG = """\
[bold]Examples[/bold]

  eventix task restore backup.jsonl --dry-run
  eventix task restore backup.jsonl --yes
  [dim]# into another namespace, replacing what is there[/dim]
  eventix task restore backup.jsonl --namespace staging --overwrite --yes

  [dim]# a directory of task files, as upstream's `eventixcli dump` writes[/dim]
  eventix task restore ./eventix-dump/ --dry-run
"""


def dump(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(metavar="[FILE|-]", help="Where to write; - is stdout.")] = "-",
    status: StatusOption = None,
    task: TaskNameOption = None,
    unique_key: UniqueKeyFilterOption = None,
    older_than: OlderThanOption = None,
    newer_than: NewerThanOption = None,
    all_namespaces: AllNamespacesOption = False,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
) -> None:
    """Write matching tasks as JSON Lines, one full task document per line.

    Takes the filters of `task list`. A regular file is written to a temporary name in the
    same folder and renamed when complete (its mode kept), so an interrupted dump never leaves
    a partial file behind; a symlink is followed to the file it names; a FIFO or a device
    (/dev/stdout, /dev/null) is written directly.
    """
    settings, client = connect(ctx, url=url, timeout=timeout, namespace=namespace)

    query = build_query(
        settings,
        all_namespaces=all_namespaces,
        status=status,
        task=task,
        unique_key=unique_key,
        older_than=older_than,
        newer_than=newer_than,
    )

    if target != "-":
        plan_output(target)  # a destination that cannot be written stops here, before any request
    started = time.perf_counter()
    with client:
        total = None if query.has_client_filter else count_matches(client, query)
        if target == "-":
            written = _write_lines(sys.stdout, iter_matches(client, query), total)
        else:
            with open_output(target) as handle:
                written = _write_lines(handle, iter_matches(client, query), total)
    seconds = time.perf_counter() - started
    where = "stdout" if target == "-" else target
    output.message(f"dumped {written:,} task(s) to {where} in {seconds:.2f}s")


def _write_lines(handle: IO[str], tasks: Iterator[TaskView], total: int | None) -> int:
    count = 0
    with output.progress("dumping", total) as advance:
        for task in tasks:
            handle.write(json.dumps(task.to_wire(), ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
            advance(1)
    handle.flush()
    return count


# -- restore --------------------------------------------------------------------------------


def _documents(source: Path | IO[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, document)`` from a JSONL file/stream or a directory of per-task JSON files."""
    if isinstance(source, Path) and source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix == ".json" and p.is_file())
        if not files:
            raise UsageError(f"{source} holds no .json files")
        for file in files:
            try:
                doc = loads(file.read_text(encoding="utf-8"), str(file))
            except (OSError, ValueError) as exc:
                raise UsageError(f"{file}: not a JSON task document: {exc}") from None
            yield str(file), doc
        return
    handle = source.open(encoding="utf-8") if isinstance(source, Path) else source
    try:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            name = handle.name if isinstance(handle.name, str) else "stdin"
            try:
                doc = loads(line, f"{name}:{number}")
            except ValueError as exc:
                raise UsageError(f"{name}:{number}: invalid JSON: {exc}") from None
            yield f"{name}:{number}", doc
    finally:
        if isinstance(source, Path):
            handle.close()


def _validated(source: Path | IO[str], namespace: str | None) -> Iterator[Task]:
    # deferred: pydantic only to restore, kept off `task dump` and --help (tests/test_startup.py)
    from pydantic import ValidationError

    from eventix_cli.core.jsonrules import uid_refusal, unstorable_reason
    from eventix_cli.core.task import Task

    seen: dict[str, str] = {}  # uid -> where: two documents for one uid would race
    for where, doc in _documents(source):
        if not isinstance(doc, dict):
            raise UsageError(f"{where}: expected a JSON object, got {type(doc).__name__}")
        reason = unstorable_reason(doc)
        if reason is not None:  # no server stores it: refused here, before anything is sent
            raise UsageError(f"{where}: not a storable task document: it holds {reason}")
        try:
            task = Task.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise UsageError(f"{where}: not a task document: {field}: {first['msg']}") from None
        reason = uid_refusal(task.uid)
        if reason is not None:  # put back under it, the task could never be reached again
            raise UsageError(f"{where}: not a storable task document: its {reason}")
        earlier = seen.setdefault(task.uid, where)
        if earlier != where:
            raise UsageError(
                f"{where}: uid {task.uid} is already at {earlier}: a restore takes each task once"
            )
        if namespace is not None:
            task.namespace = namespace
        yield task


def restore_one(
    client: EventixClient, task: Task, overwrite: bool, entry: Entry | NoEntry = NO_ENTRY
) -> None:
    """Put a task back under its uid; an existing one is skipped unless ``overwrite`` (then its
    before-image goes to ``entry`` first)."""
    doc = task.model_copy()
    doc.revision = None  # PUT with no revision inserts, and conflicts with an existing task
    if overwrite:
        with contextlib.suppress(TaskNotFound):
            existing = client.get_task(task.uid)
            entry.before("change", [existing.to_wire()])
            doc.revision = existing.revision
    try:
        stored = client.put_task(doc.to_wire())
    except RevisionConflict:
        if not overwrite:
            raise Skip("exists (--overwrite replaces it)") from None
        raise
    entry.after(stored.uid, "add" if doc.revision is None else "change", stored.revision)


RestoreDryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Check the input, ask the server which tasks exist, and show what the run would do; "
        "change nothing.",
    ),
]


def restore(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="[FILE|DIR|-]",
            help="JSON Lines file, - for stdin, or a directory of "
            "per-task .json files (as upstream's `eventixcli dump` writes).",
        ),
    ] = "-",
    namespace: Annotated[
        str | None,
        typer.Option(
            "--namespace",
            "-n",
            help="Put every task into this namespace instead of its own.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace tasks that already exist.")] = False,
    yes: YesOption = False,
    dry_run: RestoreDryRunOption = False,
    concurrency: ConcurrencyOption = 8,
    no_journal: NoJournalOption = False,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Put tasks from a dump back under their uids.

    Existing tasks are skipped unless --overwrite, so running it twice is harmless. The
    whole input is checked before anything is sent: a bad line stops it with nothing written.
    It says what it will do and asks first (--yes when not on a terminal); --dry-run shows
    the count, the namespaces and a sample, and changes nothing.
    """
    settings, client = connect(ctx, url=url, timeout=timeout, output=output)
    if not dry_run:
        require_writable(settings, "restore tasks")
    with _rereadable(source) as readable:
        survey = _survey(_validated(readable(), namespace))  # check everything first
        where = _namespaces_text(survey.spaces)
        mode = "replacing existing tasks" if overwrite else "existing tasks are skipped"
        if dry_run:
            with client:
                existing = count_existing(client, survey.uids)
            _restore_dry_run(settings.output, survey, existing, overwrite)
            return
        if survey.count:
            confirm_or_refuse(f"Restore {survey.count:,} task(s) into {where} ({mode})?", yes=yes)
        with journaled(ctx, settings, "restore", no_journal=no_journal, namespace=namespace) as entry, client:
            run_selected(
                verb="restored",
                action_name="restore",
                uids=_validated(readable(), namespace),
                total=survey.count,
                action=lambda task: restore_one(client, task, overwrite, entry),
                key=lambda task: task.uid,
                concurrency=concurrency,
                fmt=settings.output,
            )


@dataclass
class Survey:
    """What a restore's input holds: how many tasks, per namespace, their uids, the first five."""

    count: int = 0
    spaces: Counter[str] = field(default_factory=Counter)
    uids: list[str] = field(default_factory=list)
    sample: list[Task] = field(default_factory=list)


def _survey(tasks: Iterable[Task]) -> Survey:
    survey = Survey()
    for task in tasks:
        survey.count += 1
        survey.spaces[task.namespace] += 1
        survey.uids.append(task.uid)
        if len(survey.sample) < 5:
            survey.sample.append(task)
    return survey


def count_existing(client: EventixClient, uids: Sequence[str]) -> int:
    """How many of ``uids`` the server holds, in any namespace: the tasks a restore finds in
    its way (its PUT under the uid conflicts with them whatever their namespace)."""
    return sum(len(page.ids) for page in client.pages_by_uid(uids))


def _namespaces_text(spaces: Counter[str]) -> str:
    names = sorted(spaces)
    if len(names) == 1:
        return f"namespace {names[0]}"
    shown = ", ".join(f"{n} ({spaces[n]:,})" for n in names[:5])
    more = f" and {len(names) - 5:,} more" if len(names) > 5 else ""
    return f"{len(names):,} namespaces: {shown}{more}"


def _restore_dry_run(fmt: str | None, survey: Survey, existing: int, overwrite: bool) -> None:
    new = survey.count - existing
    count = survey.count if overwrite else new
    where = _namespaces_text(survey.spaces)
    mode = "replacing existing tasks" if overwrite else "existing tasks are skipped"
    if existing:
        mode += f": {existing:,} of the input"
    what = f"would restore {count:,} task(s) into {where} ({mode})"
    out = Output(fmt)
    if out.format == "json":
        out.document(
            {
                "dry_run": True,
                "action": "restore",
                "count": count,
                "new": new,
                "existing": existing,
                "overwrite": overwrite,
                "namespaces": dict(sorted(survey.spaces.items())),
                "sample": [t.to_wire() for t in survey.sample],
            }
        )
    elif out.format == "table":
        output.line(what)
        if survey.sample:
            output.line(f"sample of {len(survey.sample)} from the input:")
            print_tasks(fmt, survey.sample)
    else:
        print_tasks(fmt, survey.sample)
        output.message(what)
    output.message("dry run: nothing was changed")


@contextlib.contextmanager
def _rereadable(name: str) -> Iterator[Callable[[], Path | IO[str]]]:
    """The input, openable twice (a check pass, then the send pass); stdin is spooled to a file."""
    if name == "-":
        with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
            shutil.copyfileobj(sys.stdin, spool)

            def rewound() -> IO[str]:
                spool.seek(0)
                return spool

            yield rewound
        return
    path = Path(name).expanduser()
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    yield lambda: path
