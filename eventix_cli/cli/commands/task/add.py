"""``eventix task add``: enqueue a task."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from eventix_cli.core.view import TaskView

from eventix_cli.cli import output
from eventix_cli.cli.journaling import NoJournalOption, journaled
from eventix_cli.cli.options import NamespaceOption, OutputOption, TimeoutOption, UrlOption
from eventix_cli.cli.output import Output
from eventix_cli.cli.state import connect
from eventix_cli.config import require_writable
from eventix_cli.core.errors import UsageError
from eventix_cli.core.fields import check_logical_priority, new_task_document, stored_priority
from eventix_cli.core.jsonrules import loads, parse_value, unstorable_reason
from eventix_cli.core.times import parse_eta
from eventix_cli.journal.writer import record_posted

EPILOG = """\
[bold]Examples[/bold]

  eventix task add send_invoice --kwarg invoice_id=4711 \\
      --kwarg dry_run=false --priority 5
  eventix task add rebuild_report --kwargs @params.json \\
      --unique-key report:2026-11 --eta +10m --wait

  [dim]# many at once: one JSON object per line, uids printed in input order[/dim]
  eventix task add --from tasks.jsonl
  echo '{"task": "send_invoice", "kwargs": {"invoice_id": 4711}}' \\
      | eventix task add --from -
"""

ARGS = "Task arguments"
SCHEDULING = "Scheduling"


def load_json_source(text: str, what: str) -> Any:
    """Inline JSON, ``@file.json`` or ``-`` (stdin)."""
    source = "stdin" if text == "-" else text
    if text == "-":
        raw = sys.stdin.read()
    elif text.startswith("@"):
        path = Path(text[1:]).expanduser()
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
        source = str(path)
    else:
        raw = text

    try:
        return loads(raw, what)
    except ValueError as exc:
        shown = raw if len(raw) < 60 else raw[:57] + "..."
        raise UsageError(
            f"{what}: invalid JSON in {source if source != text else repr(shown)}: {exc}"
        ) from None


def build_arguments(
    arg: list[str] | None, kwarg: list[str] | None, args_json: str | None, kwargs_json: str | None
) -> tuple[list[Any], dict[str, Any]]:
    if args_json is not None and kwargs_json == "-" and args_json == "-":
        raise UsageError("only one of --args and --kwargs can read stdin")
    args: list[Any] = []
    if args_json is not None:
        loaded = load_json_source(args_json, "--args")
        if not isinstance(loaded, list):
            raise UsageError(f"--args must be a JSON array, got {type(loaded).__name__}")
        args.extend(loaded)
    args.extend(parse_value(v) for v in arg or ())
    kwargs: dict[str, Any] = {}
    if kwargs_json is not None:
        loaded = load_json_source(kwargs_json, "--kwargs")
        if not isinstance(loaded, dict):
            raise UsageError(f"--kwargs must be a JSON object, got {type(loaded).__name__}")
        kwargs.update(loaded)
    for item in kwarg or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--kwarg {item!r}: expected KEY=VALUE")
        kwargs[key.strip()] = parse_value(value)
    return args, kwargs


def add(
    ctx: typer.Context,
    task_name: Annotated[
        str | None,
        typer.Argument(
            metavar="TASK",
            help="Name of the registered task function (not with --from).",
            show_default=False,
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Enqueue many: a file (or - for stdin) of JSON lines, each with task and optionally "
            "args, kwargs, eta, priority, unique_key, namespace, retry, max_retries.",
            show_default=False,
            rich_help_panel="Batch",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            max=64,
            help="With --from: requests in flight.",
            rich_help_panel="Batch",
        ),
    ] = 8,
    arg: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            help="A positional argument (repeatable); JSON if it parses, else a string.",
            rich_help_panel=ARGS,
            show_default=False,
        ),
    ] = None,
    kwarg: Annotated[
        list[str] | None,
        typer.Option(
            "--kwarg",
            help="A keyword argument KEY=VALUE (repeatable); VALUE as for --arg.",
            rich_help_panel=ARGS,
            show_default=False,
        ),
    ] = None,
    args_json: Annotated[
        str | None,
        typer.Option(
            "--args",
            help="Positional arguments as a JSON array, @file.json, or - for stdin.",
            rich_help_panel=ARGS,
            show_default=False,
        ),
    ] = None,
    kwargs_json: Annotated[
        str | None,
        typer.Option(
            "--kwargs",
            help="Keyword arguments as a JSON object, @file.json, or - for stdin.",
            rich_help_panel=ARGS,
            show_default=False,
        ),
    ] = None,
    eta: Annotated[
        str | None,
        typer.Option(
            "--eta",
            help="Not before: ISO 8601 (naive is UTC), or +10m from now.",
            rich_help_panel=SCHEDULING,
            show_default=False,
        ),
    ] = None,
    priority: Annotated[
        int,
        typer.Option(
            "--priority", "-P", help="Logical priority: higher runs first.", rich_help_panel=SCHEDULING
        ),
    ] = 0,
    unique_key: Annotated[
        str | None,
        typer.Option(
            "--unique-key",
            "-k",
            help="Idempotency key: a pending task with the same key is updated instead of a new one added.",
            rich_help_panel=SCHEDULING,
            show_default=False,
        ),
    ] = None,
    no_retry: Annotated[
        bool, typer.Option("--no-retry", help="Do not retry when the task fails.", rich_help_panel=SCHEDULING)
    ] = False,
    max_retries: Annotated[
        int | None,
        typer.Option(
            "--max-retries",
            min=0,
            help="Retry at most this often (default: forever).",
            rich_help_panel=SCHEDULING,
            show_default=False,
        ),
    ] = None,
    retry_delay: Annotated[
        int | None,
        typer.Option(
            "--retry-delay",
            min=1,
            help="Seconds before the first retry (doubles on each failure; default 15).",
            rich_help_panel=SCHEDULING,
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until the task is done or has failed (exit 1).")
    ] = False,
    until_final: Annotated[
        bool,
        typer.Option("--until-final", help="With --wait: wait through retries until done or error."),
    ] = False,
    no_journal: NoJournalOption = False,
    wait_timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=0.0,
            help="With --wait: give up after this many seconds (exit 124).",
            show_default=False,
        ),
    ] = None,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Enqueue a task and print its uid (-o json: the stored task).

    Bad JSON, times or durations are reported with the offending value and nothing is sent.
    With --unique-key, a scheduled or retrying task with the same key in the namespace is
    updated (earlier eta and higher priority win, arguments are replaced) and its uid printed.

    With --from, every line is checked before anything is sent (exit 2 naming the line), the
    tasks are posted concurrently, their uids printed in input order and a summary written to
    stderr; -n is the namespace of lines without one.
    """
    if from_ is not None:
        given = {
            "TASK": task_name is not None,
            "--arg": bool(arg),
            "--kwarg": bool(kwarg),
            "--args": args_json is not None,
            "--kwargs": kwargs_json is not None,
            "--eta": eta is not None,
            "--priority": priority != 0,
            "--unique-key": unique_key is not None,
            "--no-retry": no_retry,
            "--max-retries": max_retries is not None,
            "--retry-delay": retry_delay is not None,
            "--wait": wait,
        }
        clash = [name for name, present in given.items() if present]
        if clash:
            raise UsageError(f"--from takes every field from its lines; {clash[0]} cannot be given with it")
        _add_from(
            ctx, from_, concurrency, no_journal, namespace=namespace, url=url, timeout=timeout, output=output
        )
        return
    if task_name is None:
        raise UsageError("give the TASK to enqueue, or --from FILE for many")

    if no_retry and max_retries is not None:
        raise UsageError("--no-retry and --max-retries contradict each other: give one of them")
    check_logical_priority(priority)
    args, kwargs = build_arguments(arg, kwarg, args_json, kwargs_json)
    when = parse_eta(eta) if eta is not None else None
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    require_writable(settings, "add a task")
    fields: dict[str, Any] = {
        "task": task_name,
        "namespace": settings.namespace,
        "args": args,
        "kwargs": kwargs,
        "priority": stored_priority(priority),
        "unique_key": unique_key,
        "retry": not no_retry,
        "max_retries": max_retries,
        "operator": f"eventix-cli:{_user()}",
    }
    if when is not None:
        fields["eta"] = when
    if retry_delay is not None:
        fields["error_eta_inc"] = retry_delay
    document = new_task_document(fields)
    refuse_unstorable(document, args_json=args_json, kwargs_json=kwargs_json)
    with (
        journaled(ctx, settings, "add", no_journal=no_journal, namespace=settings.namespace) as entry,
        client,
    ):
        stored = client.post_task(document)
        record_posted(entry, document["uid"], stored.uid, stored.revision)
        _say_if_updated(document, stored)
        printer = Output(settings.output)
        if not wait:
            _print_added(printer, stored)
            return
        # deferred: task.waiting only for --wait, kept off `task add TASK` (tests/test_startup.py)
        from eventix_cli.cli.commands.task.waiting import wait_for

        wait_for(client, [stored.uid], settings.output, timeout=wait_timeout, until_final=until_final)


def refuse_unstorable(document: dict[str, Any], **given: str | None) -> None:
    """A UsageError (nothing sent) for a task no server stores, naming the arguments' option
    and the limit: the same rule the servers apply to the whole document."""
    reason = unstorable_reason(document)
    if reason is None:
        return
    flags = "/".join(f"--{name.removesuffix('_json')}" for name, value in given.items() if value is not None)
    where = f"the task's arguments ({flags})" if flags else "the task's arguments"
    raise UsageError(f"{where} cannot be stored: the task document holds {reason}")


def _add_from(ctx: typer.Context, source: str, concurrency: int, no_journal: bool, **connection: Any) -> None:
    settings, client = connect(ctx, **connection)
    require_writable(settings, "add tasks")
    # deferred: the batch module (and cli.bulk) only for --from, kept off `task add TASK`
    # (tests/test_startup.py)
    from eventix_cli.cli.commands.task.batch import enqueue, load

    lines = load(source, namespace=settings.namespace, operator=f"eventix-cli:{_user()}")
    if not lines:
        output.message("nothing to add: the input has no task lines")
        return
    with (
        journaled(ctx, settings, "add", no_journal=no_journal, namespace=settings.namespace) as entry,
        client,
    ):
        enqueue(client, lines, settings.output, concurrency=concurrency, entry=entry)


def _say_if_updated(sent: dict[str, Any], stored: TaskView) -> None:
    """A notice on stderr when the server updated a pending task with the same unique key
    instead of adding the one sent. Both servers store a new task under the uid it is posted
    with; another uid comes back only when an existing task was updated."""
    if stored.uid != sent["uid"]:
        output.message(
            f"updated pending task {stored.uid} with unique key {sent['unique_key']!r} instead of adding one"
        )


def _print_added(printer: Output, stored: TaskView) -> None:
    if printer.format in ("table", "ids"):
        output.line(stored.uid)
    else:
        printer.document(stored.to_wire())


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
