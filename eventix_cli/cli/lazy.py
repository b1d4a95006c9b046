"""Command groups whose subcommands are imported and converted only when they are used.

Typer converts every command of a group (signature inspection, one click parameter per
option) when the group is built, and the group's module imports every command module first:
for ``eventix task`` that was ~30 ms of each task command's start-up spent on the eight it
does not run. A lazy group names its subcommands in a table and loads one when it is asked
for it; help, which lists them all, loads them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command

from eventix_cli.cli.helptext import PlainUsageCommand, polish

#: name -> (module, function, name of the module's epilog string or None)
Table = Mapping[str, tuple[str, str, str | None]]


def command_from_function(
    name: str, func: Any, epilog: str | None, cls: type[TyperCommand] = PlainUsageCommand
) -> Any:
    """The click command typer makes of ``func``, as ``@app.command(name, epilog=..., cls=...)``
    would, with its help made to read well at 80 columns (:func:`eventix_cli.cli.helptext.polish`).
    ``cls`` is a :class:`~eventix_cli.cli.helptext.PlainUsageCommand` or a subclass of it."""
    holder = typer.Typer(rich_markup_mode="rich", add_completion=False)
    holder.command(name, epilog=epilog, cls=cls)(func)
    command = get_command(holder)
    command.name = name
    return polish(command)


def command_from_typer(name: str, app: typer.Typer) -> Any:
    """The click group typer makes of the sub-app ``app``, its commands made as
    :class:`~eventix_cli.cli.helptext.PlainUsageCommand` and its help polished."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):  # typer's default: store what cls= would have
            info.cls = PlainUsageCommand
    if len(app.registered_commands) == 1 and not app.registered_callback:
        # typer turns a one-command sub-app into that command; `eventix event post` needs the group
        app.callback()(_no_options)
    command = get_command(app)
    command.name = name
    return polish(command)


def add_suggestion(exc: typer.TyperException, args: Sequence[str], names: Sequence[str]) -> None:
    """Add "Did you mean ...?" to a no-such-command error, from every name the group can load
    (typer suggests only among the commands already converted). Typer raises it as its usage
    error, which it exports only as its base class, ``typer.TyperException``."""
    if not args or "No such command" not in exc.message or "Did you mean" in exc.message:
        return
    matches = get_close_matches(args[0], list(names))
    if matches:
        exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, matches))}?"


class LazyGroup(TyperGroup):
    """A typer group loading the commands of :attr:`table` on first use."""

    table: ClassVar[Table] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.table if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.table:
            return found
        module_name, func_name, epilog_name = self.table[cmd_name]
        module = importlib.import_module(module_name)
        epilog = getattr(module, epilog_name) if epilog_name else None
        command = command_from_function(cmd_name, getattr(module, func_name), epilog)
        self.commands[cmd_name] = command
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:
            if self.suggest_commands:
                add_suggestion(exc, args, self.list_commands(ctx))
            raise


def lazy_typer(table: Table, **kwargs: Any) -> typer.Typer:
    """A typer app (``kwargs`` as for ``typer.Typer``) whose commands are those of ``table``, in
    its order, each loaded on first use."""
    app = typer.Typer(cls=type("LazyGroup", (LazyGroup,), {"table": dict(table)}), **kwargs)
    app.callback()(_no_options)  # a group even before any command is loaded
    return app


def _no_options() -> None:
    return None
