"""``eventix task``: everything an operator does to tasks."""

from __future__ import annotations

import typer

from eventix_cli.commands.task import add, cancel, dump, listing, purge, retry, running, show, wait

app = typer.Typer(
    name="task",
    help="Enqueue, inspect, retry, cancel, purge, wait for, dump and restore tasks.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    epilog=(
        "[bold]Examples[/bold]\n\n"
        "  eventix task list --status error\n"
        "  eventix task list --status error --all -o ids | eventix task retry -\n"
        "  eventix task running -A\n"
    ),
)

app.command("list", epilog=listing.EPILOG)(listing.list_tasks)
app.command("show", epilog=show.EPILOG)(show.show)
app.command("running", epilog=running.EPILOG)(running.running)
app.command("add", epilog=add.EPILOG)(add.add)
app.command("retry", epilog=retry.EPILOG)(retry.retry)
app.command("cancel", epilog=cancel.EPILOG)(cancel.cancel)
app.command("purge", epilog=purge.EPILOG)(purge.purge)
app.command("wait", epilog=wait.EPILOG)(wait.wait)
app.command("dump", epilog=dump.DUMP_EPILOG)(dump.dump)
app.command("restore", epilog=dump.RESTORE_EPILOG)(dump.restore)
