"""Option aliases shared by every command, so each flag reads and behaves the same everywhere.

Environment variables are resolved by :mod:`eventix_cli.settings` (flag > env > profile >
default), not by Typer, so the help text names them but the options carry no ``envvar``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from eventix_cli.output import OutputFormat

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
        help="Seconds to wait for each server response (env: EVENTIX_TIMEOUT; default: 10).",
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
        help="Namespace (env: EVENTIX_NAMESPACE; default: default).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        help="Output format (env: EVENTIX_OUTPUT; default: table).",
        show_default=False,
        case_sensitive=False,
    ),
]
