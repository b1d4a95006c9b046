"""``eventix task``: everything an operator does to tasks."""

from __future__ import annotations

from eventix_cli.cli.lazy import lazy_typer

# name -> (module, function, epilog): a command's module is imported only when it runs (or
# for help), so `eventix task list` does not import and convert the others
SUBCOMMANDS = {
    "list": ("eventix_cli.cli.commands.task.listing", "list_tasks", "EPILOG"),
    "show": ("eventix_cli.cli.commands.task.show", "show", "EPILOG"),
    "running": ("eventix_cli.cli.commands.task.running", "running", "EPILOG"),
    "add": ("eventix_cli.cli.commands.task.add", "add", "EPILOG"),
    "retry": ("eventix_cli.cli.commands.task.retry", "retry", "EPILOG"),
    "cancel": ("eventix_cli.cli.commands.task.cancel", "cancel", "EPILOG"),
    "purge": ("eventix_cli.cli.commands.task.purge", "purge", "EPILOG"),
    "wait": ("eventix_cli.cli.commands.task.wait", "wait", "EPILOG"),
    "dump": ("eventix_cli.cli.commands.task.dump", "dump", "DUMP_EPILOG"),
    "restore": ("eventix_cli.cli.commands.task.dump", "restore", "RESTORE_EPILOG"),
}

app = lazy_typer(
    SUBCOMMANDS,
    name="task",
    help="Enqueue, inspect, retry, cancel, purge, wait for, dump and restore tasks.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    epilog=(
        "[bold]Examples[/bold]\n\n"
        "  eventix task list --status error\n"
        "  eventix task list --status error --all -o ids | eventix task retry -\n"
        "  eventix task running -A\n"
    ),
)
