"""The root Typer app: global options, sub-apps, the error handler and ``main()``.

Command modules are thin: they parse options, call the client (or start the worker or
server) and hand results to :mod:`eventix_cli.cli.output`. Heavy libraries (httpx, pydantic,
rich tables, fastapi) are imported inside command bodies so that ``eventix --help`` stays fast
(tests/test_startup.py pins which modules each start-up loads).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from eventix_cli import __version__
from eventix_cli.cli import output, streams
from eventix_cli.cli.completion import enable_if_completing
from eventix_cli.cli.helptext import PlainUsageCommand, polish_params
from eventix_cli.cli.lazy import add_suggestion, command_from_function, command_from_typer
from eventix_cli.cli.state import COMMAND_LINE, AppState
from eventix_cli.config import ENV_DEBUG
from eventix_cli.core.errors import EventixCliError, ExitCode, format_error, from_unexpected

HELP = (
    "[bold]eventix[/bold]: operate Eventix task queues from the shell, cron and CI.\n\n"
    "Enqueue, inspect, retry, cancel and purge tasks by namespace or unique key, run workers, "
    "and script all of it: every command prints [bold]-o json|jsonl|csv|ids[/bold] for pipelines "
    "and exits with a documented code."
)

EPILOG = """\
[bold]Examples[/bold]

  [dim]# is the server up?[/dim]
  eventix ping --url http://127.0.0.1:8000

  [dim]# settings: flags, then EVENTIX_* variables, then the profile in config.toml[/dim]
  EVENTIX_URL=https://eventix.example.com eventix --profile prod ping

Exit codes: 0 ok, 1 failure, 2 bad input, 3 unreachable, 4 rejected (4xx),
5 server error (5xx), 124 timed out, 130 interrupted, 141 stdout reader gone.
"""


def _debug_enabled(ctx: typer.Context | None) -> bool:
    state = ctx.find_object(AppState) if ctx is not None else None
    if state is not None:
        return state.debug
    return os.environ.get(ENV_DEBUG, "").lower() in ("1", "true", "yes", "on")


class EventixGroup(TyperGroup):
    """The root group: loads subcommands lazily, and turns every error into one line on stderr
    and a documented exit code."""

    _listing = False  # set while the root help lists commands: placeholders suffice then
    _loaded: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        polish_params(self)  # the root's own options; each subcommand is polished when loaded

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in COMMANDS:
            return found
        if self._listing:
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][2])
        loaded = self.__dict__.setdefault("_loaded", {})
        if cmd_name not in loaded:
            loaded[cmd_name] = load_command(cmd_name)
        return loaded[cmd_name]

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        ctx.meta[COMMAND_LINE] = ["eventix", *args]  # what the journal records (token masked)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:  # typer's usage error: "No such command ..."
            add_suggestion(exc, args, list(COMMANDS))
            raise

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EventixCliError as exc:
            _report(ctx, exc, exc)
        except KeyboardInterrupt:
            output.message("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise
        except BrokenPipeError:
            _broken_pipe()
        except Exception as exc:  # noqa: BLE001 - the one top-level handler: a line, not a traceback
            _report(ctx, exc, _as_cli_error(exc))

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        streams.configure()
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as exc:
            if exc.format_message().strip():
                _usage_error(exc)
            # else a group run with no arguments (no_args_is_help): typer has printed its help
            # to stdout already, and its usage error has no message to add
            sys.exit(exc.exit_code)
        except typer.Abort:
            output.message("aborted")
            sys.exit(int(ExitCode.FAILURE))
        code = rv if isinstance(rv, int) else 0
        try:
            sys.stdout.flush()  # data still buffered goes out here, where its failure is handled
        except BrokenPipeError:
            code = streams.EXIT_BROKEN_PIPE
        except OSError as exc:
            if code == 0:  # not reported yet
                with contextlib.suppress(OSError):
                    output.error_lines(format_error(from_unexpected(exc, "cannot write output")))
                code = int(ExitCode.FAILURE)
        if code:
            streams.silence_stdout()  # what could not be written is dropped, not retried at exit
        sys.exit(code)


def _broken_pipe() -> NoReturn:
    """The reader of stdout went away (``| head -1``): end quietly, as Unix tools do."""
    streams.silence_stdout()
    raise typer.Exit(streams.EXIT_BROKEN_PIPE)


def _report(ctx: typer.Context, exc: BaseException, error: EventixCliError) -> NoReturn:
    """One line (and a hint) on stderr, the traceback only with --debug; exit with the error's code."""
    if _debug_enabled(ctx):
        output.message("".join(traceback.format_exception(exc)).rstrip())
    with contextlib.suppress(BrokenPipeError):  # stderr gone as well: the exit code is what is left
        output.error_lines(format_error(error))
    raise typer.Exit(int(error.exit_code)) from None


def _as_cli_error(exc: Exception) -> EventixCliError:
    """An exception no command turned into an EventixCliError, as one (see errors.from_unexpected)."""
    if isinstance(exc, OSError) and _raised_by_output(exc):
        return from_unexpected(exc, "cannot write output")
    return from_unexpected(exc)


def _raised_by_output(exc: BaseException) -> bool:
    """Did the error come from writing (output.py is the one module that writes to stdout)?"""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename == output.__file__


def _usage_error(exc: typer.TyperException) -> None:
    """A usage error in one line plus a hint, instead of a boxed panel."""
    text = " ".join(exc.format_message().split())
    output.message(f"error: {text} (UsageError)")
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        output.message(f"hint: see '{ctx.command_path} --help'")


app = typer.Typer(
    name="eventix",
    cls=EventixGroup,
    help=HELP,
    epilog=EPILOG,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version_callback(value: bool) -> None:
    if value:
        output.line(f"eventix-cli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", help="Show the version and exit.", callback=_version_callback, is_eager=True
        ),
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            help="Profile of the config file to use (env: EVENTIX_PROFILE).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Log HTTP requests and show tracebacks (env: EVENTIX_DEBUG)."),
    ] = False,
) -> None:
    debug = debug or _debug_enabled(None)
    ctx.obj = AppState(profile=profile, debug=debug)
    if debug:
        # deferred: keeps the logging package off every command's start-up (tests/test_startup.py)
        from eventix_cli.logging import setup_logging

        setup_logging("DEBUG")


# name -> (module, attribute, one-line help). Loaded only when the command runs (or its own
# help is shown): `eventix --help` and every command skip importing and converting the others.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "task": (
        "eventix_cli.cli.commands.task",
        "app",
        "Enqueue, inspect, retry, cancel, purge, wait for, dump and restore tasks.",
    ),
    "stats": (
        "eventix_cli.cli.commands.stats",
        "stats",
        "Counts of tasks per namespace and status, and the oldest due task.",
    ),
    "check": (
        "eventix_cli.cli.commands.check",
        "check",
        "Check a queue's health against limits; exit codes as monitoring plugins.",
    ),
    "top": (
        "eventix_cli.cli.commands.top",
        "top",
        "A live view of the queues: counts, rates, waiting time, latest errors.",
    ),
    "worker": (
        "eventix_cli.cli.commands.worker",
        "worker",
        "Run the tasks of a namespace with upstream semantics.",
    ),
    "namespace": (
        "eventix_cli.cli.commands.namespace",
        "app",
        "Namespaces: the isolation units of tasks and workers.",
    ),
    "event": ("eventix_cli.cli.commands.event", "app", "Post events to test trigger configurations."),
    "trigger": (
        "eventix_cli.cli.commands.trigger",
        "app",
        "Check trigger files; test locally which tasks an event creates.",
    ),
    "schedule": (
        "eventix_cli.cli.commands.schedule",
        "app",
        "Recurring schedules: list each with its next run times.",
    ),
    "scheduler": (
        "eventix_cli.cli.commands.scheduler",
        "scheduler",
        "Enqueue the due slots of a schedules file as tasks.",
    ),
    "server": (
        "eventix_cli.cli.commands.server",
        "app",
        "Run the embedded Eventix server (the API on SQLite); back up its database.",
    ),
    "exporter": (
        "eventix_cli.cli.commands.exporter",
        "exporter",
        "Serve queue figures at /metrics for Prometheus.",
    ),
    "history": (
        "eventix_cli.cli.commands.history",
        "app",
        "The journal of changes made from here: what, when, where; undoable ones.",
    ),
    "undo": (
        "eventix_cli.cli.commands.undo",
        "undo",
        "Undo a journaled change: re-create, write back or delete the tasks it touched.",
    ),
    "ping": ("eventix_cli.cli.commands.ping", "ping", "Check that the server answers /healthz and /version."),
    "config": (
        "eventix_cli.cli.commands.config",
        "app",
        "Profiles: where to connect, which namespace, a token, read-only mode.",
    ),
    "tour": (
        "eventix_cli.cli.commands.tour",
        "tour",
        "A guided tour on a throwaway server, in a few seconds.",
    ),
    "completion": (
        "eventix_cli.cli.commands.completion",
        "completion",
        "Print the shell completion script for bash, zsh or fish.",
    ),
}


def load_command(name: str) -> Any:
    """The click command behind ``name`` (a Typer sub-app, or a function with an EPILOG)."""
    module_name, attr, _ = COMMANDS[name]
    module = importlib.import_module(module_name)
    target = getattr(module, attr)
    if isinstance(target, typer.Typer):
        return command_from_typer(name, target)
    # a module may name its own command class (``check``: errors exit 3, as monitors expect)
    cls = getattr(module, "COMMAND_CLASS", PlainUsageCommand)
    return command_from_function(name, target, getattr(module, "EPILOG", None), cls)


def main() -> None:
    """Console-script entry point."""
    streams.hold_closed_descriptors()
    enable_if_completing()
    app(prog_name="eventix")
