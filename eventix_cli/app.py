"""The root Typer app: global options, sub-apps, the error handler and ``main()``.

Command modules are thin: they parse options, call the client (or start the worker or
server) and hand results to :mod:`eventix_cli.output`. Heavy libraries (httpx, pydantic,
rich tables, fastapi) are imported inside command bodies so that ``eventix --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from eventix_cli import __version__, output
from eventix_cli.errors import EventixCliError, ExitCode, format_error
from eventix_cli.settings import ENV_DEBUG
from eventix_cli.state import AppState

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

  [dim]# settings come from flags, EVENTIX_* variables, then the profile in config.toml[/dim]
  EVENTIX_URL=https://eventix.example.com eventix --profile prod ping

Exit codes: 0 ok, 1 failure, 2 bad input, 3 unreachable, 4 rejected (4xx),
5 server error (5xx), 124 timed out, 130 interrupted.
"""


def _debug_enabled(ctx: typer.Context | None) -> bool:
    state = ctx.find_object(AppState) if ctx is not None else None
    if state is not None:
        return state.debug
    return os.environ.get(ENV_DEBUG, "").lower() in ("1", "true", "yes", "on")


class EventixGroup(TyperGroup):
    """The root group: turns every error into one line on stderr and a documented exit code."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EventixCliError as exc:
            if _debug_enabled(ctx):
                import traceback

                output.message("".join(traceback.format_exception(exc)).rstrip())
            output.error_lines(format_error(exc))
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            output.message("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as exc:
            _usage_error(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            output.message("aborted")
            sys.exit(int(ExitCode.FAILURE))
        sys.exit(rv if isinstance(rv, int) else 0)


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
        from eventix_cli.logging import setup_logging

        setup_logging("DEBUG")


def _register() -> None:
    from eventix_cli.commands import config, event, namespace, ping, server, stats, task, top, tour, worker

    app.add_typer(task.app, name="task")
    app.command("stats", epilog=stats.EPILOG)(stats.stats)
    app.command("top", epilog=top.EPILOG)(top.top)
    app.add_typer(namespace.app, name="namespace")
    app.add_typer(event.app, name="event")
    app.command("worker", epilog=worker.EPILOG)(worker.worker)
    app.command("ping", epilog=ping.EPILOG)(ping.ping)
    app.add_typer(config.app, name="config")
    tour.register(app)
    app.command("server", epilog=server.EPILOG)(server.server)


_register()


def main() -> None:
    """Console-script entry point."""
    app(prog_name="eventix")
