"""``eventix trigger check|test``: validate trigger files and run them locally, with no server."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli import output as out
from eventix_cli.cli.commands.task.add import load_json_source
from eventix_cli.cli.options import NamespaceOption, OutputOption, PayloadOption
from eventix_cli.cli.output import Column, Output, dumps
from eventix_cli.core.errors import EventixCliError, ExitCode, UsageError
from eventix_cli.core.fields import check_logical_priority, stored_priority

if TYPE_CHECKING:
    from eventix_cli.triggers import TriggerSet

app = typer.Typer(
    name="trigger",
    help="Check trigger files; test locally which tasks an event creates.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    epilog=(
        "[bold]Examples[/bold]\n\n"
        "  eventix trigger check ./triggers\n"
        "  eventix trigger test ./triggers invoice_paid \\\n"
        "      --payload '{\"invoice_id\": 4711}'\n"
    ),
)

CHECK_EPILOG = """\
[bold]Examples[/bold]

  eventix trigger check ./triggers
  eventix trigger check ./triggers -o json | jq -r '.[].message'
"""

TEST_EPILOG = """\
[bold]Examples[/bold]

  eventix trigger test ./triggers TTransactionStatusChangeEvent \\
      --payload '{"status": "ANNOUNCED", "nr": 7}'
  eventix trigger test ./triggers invoice_paid --payload @event.json \\
      -n billing -o json | jq '.[].task.kwargs'

Exit codes: 0 every trigger created a task or ignored the event,
1 a trigger failed, 2 a trigger file has a problem or the payload is not
a JSON object.
"""

DirArgument = Annotated[str, typer.Argument(help="Directory of trigger files (*.yaml).", show_default=False)]


class TriggerConfigError(UsageError):
    """A trigger file is broken: bad YAML, a missing or wrong field, code that does not compile."""


class TriggerRunFailed(EventixCliError):
    """A trigger's code raised or returned no task for the event."""

    exit_code = ExitCode.FAILURE


def _load(directory: str) -> TriggerSet:
    # deferred: the triggers package brings pydantic and yaml, kept off `trigger --help` and
    # `server --help` (tests/test_startup.py)
    from eventix_cli.triggers import load_directory

    return load_directory(directory)


def _refuse(triggers: TriggerSet, directory: str) -> None:
    problems = triggers.problems
    if problems:
        more = len(problems) - 1
        hint = f"{more} more problem(s); run 'eventix trigger check {directory}'" if more else None
        raise TriggerConfigError(str(problems[0]), hint=hint)


def load_for_server(flag: str | None) -> TriggerSet | None:
    """The triggers ``eventix server`` loads (``--triggers``, else upstream's environment
    variable); a broken file stops start-up with one line naming the file and trigger."""
    # deferred: pydantic and yaml, as in _load
    from eventix_cli.triggers import ENV_TRIGGER_DIR

    directory = flag or os.environ.get(ENV_TRIGGER_DIR) or None
    if directory is None:
        return None
    triggers = _load(directory)
    _refuse(triggers, directory)
    for note in triggers.notes:
        out.warn(note)
    out.message(f"triggers: {len(triggers)} loaded from {directory}")
    return triggers


@app.command("check", epilog=CHECK_EPILOG)
def check(ctx: typer.Context, directory: DirArgument, output: OutputOption = None) -> None:
    """Validate every trigger file in DIR: the YAML, the fields, the code compiles and defines
    execute. One line per problem, naming the file and trigger; exit 2 on any."""
    settings = ctx.find_root().obj.settings(output=output)
    triggers = _load(directory)
    rows = [{"file": p.file, "trigger": p.trigger, "message": p.message} for p in triggers.problems]
    sink = Output(settings.output)
    if sink.format == "table":
        for problem in triggers.problems:
            out.line(str(problem))
    else:
        columns = [Column("file", "FILE"), Column("trigger", "TRIGGER"), Column("message", "PROBLEM")]
        sink.records(rows, columns, id_key="file")
    for note in triggers.notes:
        out.warn(note)
    if triggers.problems:
        raise TriggerConfigError(f"{len(triggers.problems)} problem(s) in {directory}")
    events = len(triggers.by_event)
    out.message(f"ok: {len(triggers)} trigger(s) for {events} event(s) in {len(triggers.files)} file(s)")


#: how a trigger's result looks on a colour terminal (SGR codes)
RESULT_COLOURS = {"created": "32", "ignored": "2", "failed": "31"}


def _outcome_row(outcome: Any) -> dict[str, Any]:
    task = outcome.task or {}
    detail = outcome.reason if outcome.result != "created" else _dumps(task.get("kwargs") or {})
    return {
        "trigger": outcome.trigger,
        "result": outcome.result,
        "task": task.get("task"),
        "namespace": task.get("namespace"),
        "priority": -task["priority"] if isinstance(task.get("priority"), int) else None,
        "unique_key": task.get("unique_key"),
        "detail": detail,
        "_raw": {
            "trigger": outcome.trigger,
            "file": outcome.file,
            "result": outcome.result,
            "task": outcome.task,
            "reason": outcome.reason,
        },
    }


def _dumps(value: Any) -> str:
    return dumps(value)


@app.command("test", epilog=TEST_EPILOG)
def try_event(
    ctx: typer.Context,
    directory: DirArgument,
    event_name: Annotated[str, typer.Argument(help="The event's name.", show_default=False)],
    payload: PayloadOption = None,
    priority: Annotated[
        int,
        typer.Option(
            "--priority",
            "-P",
            help="The event's logical priority, given to the tasks it creates: higher runs first "
            "(as for event post).",
        ),
    ] = 0,
    namespace: NamespaceOption = None,
    output: OutputOption = None,
) -> None:
    """Run the triggers in DIR for one event, locally, with no server, and show the tasks it
    would create (or that a trigger ignored the event, or failed, and why).

    The same code and rules as `eventix server --triggers DIR`; only unique-key merging with
    tasks already on a server is not simulated. For unit-testing event rules in CI.
    """
    # deferred: pydantic and yaml, as in _load
    from eventix_cli.core.task import Event
    from eventix_cli.triggers import make_event, run_event

    body = load_json_source(payload, "--payload") if payload is not None else {}
    if not isinstance(body, dict):
        raise UsageError(f"--payload must be a JSON object, got {type(body).__name__}")
    state = ctx.find_root().obj
    settings = state.settings(output=output, namespace=namespace)
    if not state.debug:
        # a failure's reason is in the output; its traceback only with --debug
        logging.getLogger("eventix_cli.triggers").setLevel(logging.CRITICAL)
    triggers = _load(directory)
    _refuse(triggers, directory)

    # logical, as `event post --priority`: the server stores (and sorts) the negated value
    event = Event(
        name=event_name,
        namespace=settings.namespace,
        payload=body,
        priority=stored_priority(check_logical_priority(priority)),
    )
    outcomes = run_event(triggers, make_event(event.model_dump(mode="json")), lambda doc: doc)
    # on a narrow terminal what is the same for every trigger goes first; a table that would
    # still cut a value becomes one block per trigger
    columns = [
        Column("trigger", "TRIGGER"),
        Column("result", "RESULT", colours=RESULT_COLOURS),
        Column("task", "TASK"),
        Column("namespace", "NAMESPACE", idle_drop=True),
        Column("priority", "PRIORITY", justify="right", idle_drop=True),
        Column("unique_key", "UNIQUE KEY", idle_drop=True),
        Column("detail", "KWARGS / REASON"),
    ]
    Output(settings.output, blocks=True).records(
        (_outcome_row(o) for o in outcomes), columns, raw=lambda row: row["_raw"], id_key="trigger"
    )
    if not outcomes:
        out.message(f"no trigger listens for event {event_name}")
        return
    created = sum(o.result == "created" for o in outcomes)
    failed = [o for o in outcomes if o.result == "failed"]
    out.message(
        f"event {event_name}: {created} task(s) created, "
        f"{sum(o.result == 'ignored' for o in outcomes)} ignored, {len(failed)} failed"
    )
    if failed:
        raise TriggerRunFailed(f"trigger {failed[0].trigger} failed: {failed[0].reason}")
