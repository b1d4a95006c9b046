"""Help screens that read well at 80 columns.

Applied to every command when it is loaded: docstring paragraphs are re-flowed (their
source line breaks are not meant for the screen), option values get a short metavar that says
what goes there (``SECONDS``, ``FILE``, ``N``), a number's range moves from the metavar column
into the description, and an argument shows no type next to its name: so the description
column keeps room for whole words such as environment variable names. Epilogs keep the
indentation of their examples (each example line fits 80 columns, a longer one continues on
a line ending in `` \\``; tests/cli/test_help_screens.py checks every command). Commands are
made as :class:`PlainUsageCommand`, whose usage line shows arguments as ``TASK`` rather than
typer's ``{TASK}``.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperCommand

# option name -> metavar, where the type alone would say too little or too much
_NAMED = {
    "--output": "FORMAT",
    "--profile": "NAME",
    "--from": "FILE",
    "--db": "FILE",
    "--health-file": "FILE",
    "--schedules": "FILE",
    "--token": "TOKEN",
    "--host": "ADDRESS",
    "--metrics-host": "ADDRESS",
    "--tasks": "MODULE",
    "--worker-id": "ID",
    "--arg": "VALUE",
    "--kwarg": "KEY=VALUE",
    "--args": "JSON",
    "--kwargs": "JSON",
    "--payload": "JSON",
    "--eta": "TIME",
    "--unique-key": "KEY",
    "--status": "STATUS",
    "--older-than": "AGE",
    "--newer-than": "AGE",
    "--log-level": "LEVEL",
    "--log-format": "FORMAT",
    "--request-timeout": "SECONDS",
    "--timeout": "SECONDS",
    "--interval": "SECONDS",
    "--url": "URL",
    "--namespace": "NAME",
    "--task": "NAME",
    "--columns": "LIST",
    "--sort": "FIELDS",
    "--by": "FIELD",
}
_BY_TYPE = {
    "int": "N",
    "int range": "N",
    "integer": "N",
    "integer range": "N",
    "float": "SECONDS",
    "float range": "SECONDS",
    "path": "PATH",
}


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


class _TypeShownPlainly:
    """A parameter's type as click uses it (every attribute is the wrapped type's, so values
    convert and are refused the same way), shown plainly in help: not an instance of click's
    number range classes, so typer's help prints no ``[x>=0.01]`` next to the metavar (the
    range goes into the description), and, for an argument, no ``<str>`` next to its name."""

    def __init__(self, wrapped: Any, *, metavar: str | None = None) -> None:
        self._wrapped = wrapped
        self._metavar = metavar

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)

    def __call__(self, value: Any, param: Any = None, ctx: Any = None) -> Any:
        return self._wrapped(value, param, ctx)

    def get_metavar(self, param: Any, ctx: Any) -> str | None:
        return self._metavar if self._metavar is not None else self._wrapped.get_metavar(param=param, ctx=ctx)


def _is_range(kind: Any) -> bool:
    return all(hasattr(kind, name) for name in ("min", "max", "min_open", "max_open", "clamp"))


def _range_words(kind: Any) -> str:
    low = None if kind.min is None else f"{kind.min:g}"
    high = None if kind.max is None else f"{kind.max:g}"
    if low is not None and high is not None:
        return f"{low}..{high}"  # one word: a wrapped line never splits it
    if low is not None:
        return f"more than {low}" if kind.min_open else f"at least {low}"
    return f"less than {high}" if kind.max_open else f"at most {high}"


def _range_in_description(param: Any) -> None:
    if _is_range(param.type) and not isinstance(param.type, _TypeShownPlainly):
        words = _range_words(param.type)
        param.help = f"{(param.help or '').rstrip()} [{words}]".strip()
        param.type = _TypeShownPlainly(param.type)


def _keep_epilog_indentation(epilog: str | None) -> str | None:
    """Click and typer dedent an epilog (``inspect.cleandoc``): every line but the first loses
    the indentation all of them share, which took the examples' indentation away. A leading
    empty line makes the heading one of those lines; cleandoc drops the empty line itself."""
    if not epilog or epilog.startswith("\n"):
        return epilog
    return "\n" + epilog


def polish_params(command: Any) -> None:
    """Metavars and ranges of ``command``'s own parameters (not its subcommands')."""
    for param in command.params:
        if param.param_type_name == "option":
            _short_option_metavar(param)
            _range_in_description(param)
        elif param.type.name in ("text", "str") and not isinstance(param.type, _TypeShownPlainly):
            param.type = _TypeShownPlainly(param.type, metavar="")


def polish(command: Any) -> Any:
    """Apply the rules above to a (typer/click) command and its subcommands, in place."""
    command.help = reflow(command.help)
    command.epilog = _keep_epilog_indentation(command.epilog)
    polish_params(command)
    for sub in getattr(command, "commands", {}).values():
        polish(sub)
    return command
