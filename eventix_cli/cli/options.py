"""Option aliases shared by every command, so each flag reads and behaves the same everywhere.

Environment variables are resolved by :mod:`eventix_cli.config` (flag > env > profile >
default), not by Typer, so the help text names them but the options carry no ``envvar``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from eventix_cli.cli.completion import complete_namespaces
from eventix_cli.config import OutputFormat
from eventix_cli.core.errors import UsageError

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Server base URL (env: EVENTIX_URL; default: http://127.0.0.1:8000).",
        show_default=False,
        rich_help_panel="Connection",
    ),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--request-timeout",
        help="Deadline in seconds for the whole request, retries included "
        "(env: EVENTIX_TIMEOUT; default: 10).",
        show_default=False,
        min=0.001,
        rich_help_panel="Connection",
    ),
]


NamespaceOption = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        "-n",
        autocompletion=complete_namespaces,
        help="Namespace (env: EVENTIX_NAMESPACE; default: default).",
        show_default=False,
    ),
]


def _output_option(formats: str) -> Any:
    return typer.Option(
        "--output",
        "-o",
        help=f"Output format: {formats} (env: EVENTIX_OUTPUT; default: table).",
        show_default=False,
        case_sensitive=False,
    )


OutputOption = Annotated[OutputFormat | None, _output_option("table, json, jsonl, csv or ids")]
#: -o of a command whose output holds no task uids: it refuses ids (output.refuse_ids)
ReportOutputOption = Annotated[OutputFormat | None, _output_option("table, json, jsonl or csv")]

PayloadOption = Annotated[
    str | None,
    typer.Option(
        "--payload", help="Event payload: a JSON object, @file.json, or - for stdin.", show_default=False
    ),
]

#: the log level variable of upstream's worker, read by every long-running process of ours
ENV_LOG_LEVEL = "EVENTIX_WORKER_LOG_LEVEL"

LogLevelOption = Annotated[
    str | None,
    typer.Option(
        "--log-level",
        help="DEBUG, INFO, WARNING, ERROR (env: EVENTIX_WORKER_LOG_LEVEL; default INFO).",
        show_default=False,
    ),
]

LogFormatOption = Annotated[str, typer.Option("--log-format", help="text, or json for log shippers.")]


def log_options(log_level: str | None, log_format: str) -> int:
    """The numeric level of --log-level (or EVENTIX_WORKER_LOG_LEVEL); UsageError for a bad
    level or --log-format."""
    # deferred: keeps the logging package off the start-up of commands without these options
    from eventix_cli.logging import parse_level

    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format {log_format!r}: use text or json")
    try:
        return parse_level(log_level or os.environ.get(ENV_LOG_LEVEL) or "INFO")
    except ValueError as exc:
        raise UsageError(str(exc)) from None


#: the help panel of the options that select tasks
FILTERS = "Filters"

# the options of the commands that change many tasks at once
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Do it without asking (needed when not on a terminal).")
]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, max=64, help="Requests in flight at once.")
]

AllNamespacesOption = Annotated[
    bool,
    typer.Option("--all-namespaces", "-A", help="Every namespace, not just one.", rich_help_panel=FILTERS),
]
NoHeadersOption = Annotated[
    bool, typer.Option("--no-headers", help="Leave out the header row of table and csv output.")
]
ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Only these columns of table and csv output, in this order (comma list, e.g. uid,task,status).",
        show_default=False,
    ),
]
