"""``eventix completion SHELL``: print the completion script."""

from __future__ import annotations

from typing import Annotated

import typer

from eventix_cli.cli import output
from eventix_cli.cli.completion import SHELLS, complete_shells, script
from eventix_cli.core.errors import UsageError

EPILOG = """\
[bold]Examples[/bold]

  eventix completion bash > ~/.local/share/bash-completion/completions/eventix
  eventix completion fish > ~/.config/fish/completions/eventix.fish
"""


def completion(
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish.", autocompletion=complete_shells)],
) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Commands and options complete from the app; namespaces and task ids are looked up on the
    server with a 0.5 s timeout, so a slow server never blocks typing. The same scripts are in
    the repository's completions/ folder.
    """
    if shell not in SHELLS:
        raise UsageError(f"unsupported shell {shell!r}: use one of {', '.join(SHELLS)}")
    output.stream_text(script(shell))
