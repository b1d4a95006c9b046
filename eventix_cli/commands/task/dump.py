"""``eventix task dump`` and ``eventix task restore``: JSON Lines backups of tasks."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.commands.options import NamespaceOption, OutputOption, TimeoutOption, UrlOption
from eventix_cli.commands.task.common import (
    AllNamespacesOption,
    ConcurrencyOption,
    NewerThanOption,
    OlderThanOption,
    StatusOption,
    TaskNameOption,
    UniqueKeyFilterOption,
    connect,
)
from eventix_cli.errors import UsageError

if TYPE_CHECKING:
    from eventix_cli.client import EventixClient
    from eventix_cli.models import Task

DUMP_EPILOG = """\
[bold]Examples[/bold]

  eventix task dump backup.jsonl -A
  eventix task dump --status error -n billing | gzip > errors.jsonl.gz
"""

RESTORE_EPILOG = """\
[bold]Examples[/bold]

  eventix task restore backup.jsonl
  [dim]# into another namespace, replacing what is there; also reads `eventixcli dump` directories[/dim]
  eventix task restore ./eventix-dump/ --namespace staging --overwrite
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

    Takes the filters of `task list`. A file is written to a temporary name and renamed
    when complete, so an interrupted dump never leaves a partial file behind.
    """
    import time

    from eventix_cli import output as out

    settings, client = connect(ctx, url=url, timeout=timeout, namespace=namespace)
    from eventix_cli.commands.task.common import build_query

    query = build_query(
        settings,
        all_namespaces=all_namespaces,
        status=status,
        task=task,
        unique_key=unique_key,
        older_than=older_than,
        newer_than=newer_than,
    )
    started = time.perf_counter()
    with client:
        total = None if query.has_client_filter else query.count(client)
        if target == "-":
            written = _write_lines(sys.stdout, query.iter_all(client), total)
        else:
            path = Path(target).expanduser()
            if path.is_dir():
                raise UsageError(f"{path} is a directory; give a file name")
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    written = _write_lines(handle, query.iter_all(client), total)
                os.replace(tmp_name, path)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
    seconds = time.perf_counter() - started
    where = "stdout" if target == "-" else target
    out.message(f"dumped {written:,} task(s) to {where} in {seconds:.2f}s")


def _write_lines(handle: IO[str], tasks: Iterator[Task], total: int | None) -> int:
    from eventix_cli import output as out

    count = 0
    with out.progress("dumping", total) as advance:
        for task in tasks:
            handle.write(json.dumps(task.to_wire(), ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
            advance(1)
    handle.flush()
    return count


# -- restore --------------------------------------------------------------------------------


def _documents(source: Path | IO[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, document)`` from a JSONL file/stream or a directory of per-task JSON files."""
    from eventix_cli.jsoninput import loads

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
    from pydantic import ValidationError

    from eventix_cli.models import Task

    for where, doc in _documents(source):
        if not isinstance(doc, dict):
            raise UsageError(f"{where}: expected a JSON object, got {type(doc).__name__}")
        try:
            task = Task.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise UsageError(f"{where}: not a task document: {field}: {first['msg']}") from None
        if namespace is not None:
            task.namespace = namespace
        yield task


def restore_one(client: EventixClient, task: Task, overwrite: bool) -> None:
    """Put a task back under its uid; an existing one is skipped unless ``overwrite``."""
    from eventix_cli.bulk import Skip
    from eventix_cli.errors import RevisionConflict, TaskNotFound

    doc = task.model_copy()
    if overwrite:
        try:
            doc.revision = client.get_task(task.uid).revision
        except TaskNotFound:
            doc.revision = None
    else:
        doc.revision = None  # PUT with no revision inserts, and conflicts with an existing task
    try:
        client.put_task(doc)
    except RevisionConflict:
        if not overwrite:
            raise Skip("exists (--overwrite replaces it)") from None
        raise


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
    concurrency: ConcurrencyOption = 8,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Put tasks from a dump back under their uids.

    Existing tasks are skipped unless --overwrite, so running it twice is harmless. The
    whole input is checked before anything is sent: a bad line stops it with nothing written.
    """
    from eventix_cli.commands.task.common import require_writable, run_selected

    settings, client = connect(ctx, url=url, timeout=timeout, output=output)
    require_writable(settings, "restore tasks")
    with _rereadable(source) as readable:
        total = sum(1 for _ in _validated(readable(), namespace))  # check everything first
        with client:
            run_selected(
                verb="restored",
                action_name="restore",
                uids=_validated(readable(), namespace),
                total=total,
                action=lambda task: restore_one(client, task, overwrite),
                key=lambda task: task.uid,
                concurrency=concurrency,
                fmt=settings.output,
            )


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
