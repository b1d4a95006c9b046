"""``eventix history``: the journal of the changes made from this machine, newest first."""

from __future__ import annotations

from typing import Annotated

import typer

from eventix_cli.cli.journaling import journal_dir
from eventix_cli.cli.options import OutputOption
from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.state import state_of
from eventix_cli.core.errors import UsageError
from eventix_cli.core.times import parse_wire_time, relative
from eventix_cli.journal.reader import entries, find_entry

app = typer.Typer(
    name="history",
    help="The journal of changes made from here, newest first; `eventix undo ID` undoes one.",
    invoke_without_command=True,
    rich_markup_mode="rich",
    add_completion=False,
    epilog=(
        "[bold]Examples[/bold]\n\n"
        "  eventix history -l 5\n"
        "  eventix history show 42 -o json | jq '.tasks[].uid'\n"
    ),
)

COLUMNS = [
    Column("id", "ID", justify="right"),
    # relative in a table ("5m ago"): the exact time is in `history show` and -o json
    Column("time", "TIME", fmt=lambda t: relative(parse_wire_time(t)) if t else ""),
    Column("action", "ACTION"),
    Column("namespace", "NAMESPACE", fmt=lambda n: n or "(several)", drop=3),
    Column(
        "changed", "CHANGED", fmt=lambda ops: ", ".join(f"{n:,} {op}" for op, n in sorted(ops.items())) or "-"
    ),
    Column("undo", "UNDO", drop=2),  # yes, no, damaged, undone by N
    Column("command", "COMMAND", fmt=lambda argv: " ".join(argv), drop=1),
]


@app.callback()
def history(
    ctx: typer.Context,
    # --limit/-l as in `task list` (-n is --namespace everywhere)
    limit: Annotated[int, typer.Option("--limit", "-l", min=1, help="How many entries to show.")] = 20,
    output: OutputOption = None,
) -> None:
    """The journal of changes made from here, newest first; `eventix undo ID` undoes one.

    Each entry tells when, on which server and namespace, the command line (tokens masked)
    and how many tasks it deleted, changed and added. UNDO is no for an entry that changed
    nothing, whose before-images went over the journal's limit (journal_limit) or whose
    changes' earlier state was not recorded (a post that updated a task by its unique key);
    "undone by N" once entry N undid it, "damaged" for a file that does not read whole.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = state_of(ctx).settings(output=output)
    rows = []
    for found in entries(journal_dir()):
        rows.append(found.summary())
        if len(rows) >= limit:
            break
    Output(settings.output).records(rows, COLUMNS, id_key="id")


SHOW_EPILOG = """\
[bold]Examples[/bold]

  eventix history show 42
  [dim]# the uids a purge deleted[/dim]
  eventix history show 42 -o json | jq -r '.tasks[].uid'
"""


@app.command("show", epilog=SHOW_EPILOG)
def show(
    ctx: typer.Context,
    entry_id: Annotated[int, typer.Argument(metavar="ID", help="The entry, as `eventix history` lists it.")],
    output: OutputOption = None,
) -> None:
    """One entry in full: its command line, counts and the before-image of every task."""
    settings = state_of(ctx).settings(output=output)
    found = find_entry(journal_dir(), entry_id)
    if found is None:
        raise UsageError(f"no journal entry {entry_id}", hint="`eventix history` lists the entries")
    printer = Output(settings.output)
    if printer.format in ("json", "jsonl"):
        printer.document(found.to_json())
        return
    summary = found.summary()
    printer.document(
        {k: v for k, v in summary.items() if k != "command"} | {"command": " ".join(summary["command"])},
        id_key="id",
    )
    tasks = [
        {"uid": t["uid"], "op": t["op"], "revision": t["revision"], "done": t["confirmed"]}
        for t in found.to_json()["tasks"]
    ]
    if printer.format == "table" and tasks:
        printer.records(
            tasks,
            [
                Column("uid", "UID"),
                Column("op", "OP"),
                Column("revision", "REVISION"),
                Column("done", "DONE"),
            ],
        )
