"""Help screens that read well at 80 columns.

Applied to every command when it is loaded: docstring paragraphs are re-flowed (their
source line breaks are not meant for the screen) and option values get a short metavar
(``SECONDS``, ``FORMAT``, ``N``) so that the help column keeps enough width for whole words
such as environment variable names. Commands are made as :class:`PlainUsageCommand`, whose
usage line shows arguments as ``TASK`` rather than typer's ``{TASK}``.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperCommand

# option name -> metavar, where the type alone would say too little or too much
_NAMED = {
    "--output": "FORMAT",
    "--request-timeout": "SECONDS",
    "--timeout": "SECONDS",
    "--interval": "SECONDS",
    "--url": "URL",
    "--namespace": "NAME",
    "--task": "NAME",
    "--columns": "LIST",
    "--sort": "FIELDS",
}
_BY_TYPE = {"int": "N", "int range": "N", "float": "NUMBER", "float range": "NUMBER"}


def reflow(text: str | None) -> str | None:
    """Join the lines of each paragraph; keep paragraphs apart."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def plain_metavar(argument: Any) -> str:
    """How the usage line names an argument: ``TASK``, ``[ID...]`` when it is optional."""
    name = (argument.metavar or argument.name or "").upper()
    return name if argument.required else f"[{name.strip('[]')}]"


class PlainUsageCommand(TyperCommand):
    """A typer command whose usage line names its arguments plainly (:func:`plain_metavar`).

    Built through typer's public ``cls=`` of ``Typer.command``; the usage line is click's
    ``collect_usage_pieces`` (options, then each argument), with the arguments' pieces ours.
    """

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(plain_metavar(param))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def _short_option_metavar(param: Any) -> None:
    if param.is_flag or param.metavar:
        return
    long_names = [o for o in param.opts if o.startswith("--")]
    named = next((_NAMED[o] for o in long_names if o in _NAMED), None)
    if named is None:
        choices = getattr(param.type, "choices", None)
        named = "|".join(str(c) for c in choices) if choices else None
        if named is not None and len(named) > 12:
            named = "FORMAT" if "--output" in long_names else "CHOICE"
    if named is None:
        named = _BY_TYPE.get(param.type.name, "TEXT")
    param.metavar = named


def polish(command: Any) -> Any:
    """Apply the rules above to a (typer/click) command and its subcommands, in place."""
    command.help = reflow(command.help)
    for param in command.params:
        if param.param_type_name == "option":
            _short_option_metavar(param)
    for sub in getattr(command, "commands", {}).values():
        polish(sub)
    return command
