"""``eventix namespace list``."""

from __future__ import annotations

import typer

from eventix_cli.cli.options import OutputOption, TimeoutOption, UrlOption
from eventix_cli.cli.output import Column, Output
from eventix_cli.cli.state import connect

app = typer.Typer(
    name="namespace",
    help="Namespaces: the isolation units of tasks and workers.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    add_completion=False,
    epilog=(
        "[bold]Examples[/bold]\n\n"
        "  eventix namespace list\n"
        "  eventix namespace list -o ids --url http://127.0.0.1:8000\n"
    ),
)


EPILOG = """\
[bold]Examples[/bold]

  eventix namespace list
  for ns in $(eventix namespace list -o ids); do eventix stats -n "$ns"; done
"""


@app.command("list", epilog=EPILOG)
def list_namespaces(
    ctx: typer.Context,
    url: UrlOption = None,
    timeout: TimeoutOption = None,
    output: OutputOption = None,
) -> None:
    """List the namespaces that hold tasks (-o json: a plain array of names)."""
    settings, client = connect(ctx, url=url, timeout=timeout, output=output)
    with client:
        names = client.namespaces()
    out = Output(settings.output)
    if out.format == "json":
        out.document(names)  # type: ignore[arg-type]
    else:
        out.records(({"namespace": n} for n in names), [Column("namespace", "NAMESPACE")], id_key="namespace")
