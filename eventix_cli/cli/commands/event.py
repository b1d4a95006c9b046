"""``eventix event post``: post an event, see which tasks its triggers created."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from eventix_cli.cli import output as out
from eventix_cli.cli.commands.task.add import load_json_source
from eventix_cli.cli.commands.task.rendering import print_tasks
from eventix_cli.cli.journaling import NoJournalOption, journaled
from eventix_cli.cli.options import (
    NamespaceOption,
    OutputOption,
    PayloadOption,
    TimeoutOption,
    UrlOption,
)
from eventix_cli.cli.state import connect
from eventix_cli.config import require_writable
from eventix_cli.core.errors import TriggersFailed, UsageError
from eventix_cli.core.fields import check_logical_priority, stored_priority
from eventix_cli.core.times import floor_ms, utcnow

if TYPE_CHECKING:
    from eventix_cli.core.view import TaskView

app = typer.Typer(
    name="event",
    help="Post events to test trigger configurations.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    epilog=(
        "[bold]Examples[/bold]\n\n"
        "  eventix event post invoice_paid --payload '{\"invoice_id\": 4711}'\n"
        "  eventix event post nightly --priority 5 -n billing -o json\n"
    ),
)


EPILOG = """\
[bold]Examples[/bold]

  eventix event post invoice_paid --payload '{"invoice_id": 4711}'
  eventix event post nightly --priority 5 -n billing -o json | jq -r '.[].uid'
"""


@app.command("post", epilog=EPILOG)
def post(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The event name triggers listen for.")],
    payload: PayloadOption = None,
    priority: Annotated[
        int,
        typer.Option(
            "--priority", "-P", help="Logical priority of the tasks triggers create: higher runs first."
        ),
    ] = 0,
    no_journal: NoJournalOption = False,
    namespace: NamespaceOption = None,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """Post an event and print the tasks the server's triggers created for it."""
    # deferred: the task model brings pydantic, kept off `event post --help` (tests/test_startup.py)
    from eventix_cli.core.task import Event

    if not name.strip():
        raise UsageError("the event name must not be empty: triggers listen for a name")
    body = load_json_source(payload, "--payload") if payload is not None else {}
    if not isinstance(body, dict):
        raise UsageError(f"--payload must be a JSON object, got {type(body).__name__}")
    settings, client = connect(ctx, url=url, timeout=timeout, output=output, namespace=namespace)
    require_writable(settings, "post an event")
    with (
        journaled(ctx, settings, "event", no_journal=no_journal, namespace=settings.namespace) as entry,
        client,
    ):
        posted_at = utcnow()
        tasks = client.post_event(
            # logical, as everywhere in the CLI: the server stores (and sorts) the negated value
            Event(
                name=name,
                namespace=settings.namespace,
                payload=body,
                priority=stored_priority(check_logical_priority(priority)),
            )
        )
        for created in tasks:
            entry.after(created.uid, "add" if _added_by(created, posted_at) else "change", created.revision)
    shown = print_tasks(settings.output, tasks)
    failed = getattr(tasks, "failed_triggers", None)
    if shown or failed:
        out.message(f"event {name} posted; {shown} task(s) created")
    else:  # upstream's server names no failed trigger (it only logs them): nothing more to say
        out.message(f"event {name} posted; no trigger created a task")
    if failed:
        raise triggers_failed(failed)


def triggers_failed(failed: list[tuple[str, str]]) -> TriggersFailed:
    """The error for the triggers that failed on the server (exit 1): one named in the line,
    several under it."""
    if len(failed) == 1:
        trigger, reason = failed[0]
        return TriggersFailed(f"trigger {trigger} failed on the server: {reason}", hint=SERVER_LOG_HINT)
    return TriggersFailed(
        f"{len(failed)} triggers failed on the server",
        details=tuple(f"{trigger}: {reason}" for trigger, reason in failed),
        hint=SERVER_LOG_HINT,
    )


SERVER_LOG_HINT = "the server's log has the traceback"


def _added_by(task: TaskView, posted_at: dt.datetime) -> bool:
    """Did the event add this task, or did a trigger's unique key update a pending one? The
    answer names no difference. Only a task with a unique key can be an update, and an updated
    task keeps its ``created_time``: one created before the event was posted (to the
    millisecond, as the servers store times) is recorded as changed, which undo leaves alone and
    names, never as added, which undo would delete. A server clock behind ours errs the same
    safe way: a task it added looks older and is left alone too."""
    if not task.unique_key:
        return True
    return task.created_time is not None and task.created_time >= floor_ms(posted_at)
