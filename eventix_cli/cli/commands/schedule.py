"""``eventix schedule list``: the schedules of a file, each with its next run times."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from eventix_cli.cli.options import NamespaceOption, OutputOption
from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.schedule_files import load_or_refuse
from eventix_cli.core.times import utcnow
from eventix_cli.schedules.model import slot_text
from eventix_cli.schedules.slots import next_slots

if TYPE_CHECKING:
    from eventix_cli.schedules import Schedule

app = typer.Typer(
    name="schedule",
    help="Recurring schedules: list each with its next run times.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    epilog=(
        "[bold]Examples[/bold]\n\n"
        "  eventix schedule list schedules.toml\n"
        "  eventix schedule list schedules.toml --count 5 -o json\n"
    ),
)

EPILOG = """\
[bold]Examples[/bold]

  eventix schedule list schedules.toml
  eventix schedule list schedules.toml --count 5 -o json \\
      | jq '.[] | {name, next_runs}'
"""

FileArgument = Annotated[
    Path,
    typer.Argument(
        help="Schedules file: TOML (\\[schedules.NAME] tables, upstream \\[\\[schedule]] entries), "
        "or the same structure in YAML or JSON.",
        show_default=False,
    ),
]


def _local(slot: Any, schedule: Schedule) -> str:
    value = slot.astimezone(schedule.tz)
    text = value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    return text + ("Z" if schedule.timezone == "UTC" else value.isoformat()[-6:])


@app.command("list", epilog=EPILOG)
def list_schedules(
    ctx: typer.Context,
    file: FileArgument,
    count: Annotated[
        int, typer.Option("--count", min=1, max=100, help="Run times to show per schedule.")
    ] = 3,
    namespace: NamespaceOption = None,
    output: OutputOption = None,
) -> None:
    """List the schedules of FILE with their next run times (in each schedule's time zone;
    -o json gives them in UTC). Nothing is sent to a server."""
    settings = ctx.find_root().obj.settings(output=output, namespace=namespace)
    schedules = load_or_refuse(file)
    now = utcnow()
    rows = []
    for s in schedules:
        runs = next_slots(s, now, count)
        rows.append(
            {
                "name": s.name,
                "task": s.task,
                "namespace": s.namespace or settings.namespace,
                "when": s.when,
                "catch_up": s.catch_up,
                "priority": s.priority,
                "next": [_local(r, s) for r in runs],
                "_raw": {
                    "name": s.name,
                    "task": s.task,
                    "namespace": s.namespace or settings.namespace,
                    "cron": s.cron,
                    "every": s.every,
                    "timezone": s.timezone,
                    "args": list(s.args),
                    "kwargs": s.kwargs,
                    "priority": s.priority,
                    "catch_up": s.catch_up,
                    "unique_key_prefix": s.key_prefix,
                    "next_runs": [slot_text(r) for r in runs],
                },
            }
        )
    columns = [
        Column("name", "NAME"),
        Column("task", "TASK"),
        Column("namespace", "NAMESPACE"),
        Column("when", "WHEN"),
        Column("catch_up", "CATCH UP", idle_drop=True),
        Column("next", "NEXT RUNS", fmt=", ".join),
    ]
    # a table too wide for the terminal becomes one block per schedule, each run on its line
    Output(settings.output, blocks=True).records(rows, columns, raw=lambda row: row["_raw"], id_key="name")
