"""What the command line assumes of typer beyond its public API, checked so that a typer
release that breaks an assumption fails here first (pyproject.toml pins the range)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from typing import Annotated

import pytest
import typer

from eventix_cli.cli.completion import COMPLETE_VAR, SHELLS, script
from eventix_cli.cli.helptext import PlainUsageCommand
from eventix_cli.cli.lazy import command_from_function
from tests.support.servers import REPO_ROOT


def _pinned_typer_range() -> tuple[tuple[int, ...], tuple[int, ...]]:
    text = (REPO_ROOT / "pyproject.toml").read_text()
    low, high = re.search(r'"typer>=([\d.]+),<([\d.]+)"', text).groups()  # type: ignore[union-attr]
    return tuple(map(int, low.split("."))), tuple(map(int, high.split(".")))


def test_the_installed_typer_is_in_the_pinned_range() -> None:
    low, high = _pinned_typer_range()
    installed = tuple(int(part) for part in version("typer").split(".")[:2])
    assert low <= installed < high, (version("typer"), low, high)


def test_usage_errors_are_typer_exceptions() -> None:
    """app.py and lazy.py catch typer's usage error ("No such command") as its public base."""
    assert issubclass(typer.BadParameter, typer.TyperException)
    assert typer.BadParameter("x").exit_code == 2


@pytest.mark.parametrize("shell", SHELLS)
def test_the_private_completion_script_speaks_the_completion_protocol(shell) -> None:
    text = script(shell)
    assert f"{COMPLETE_VAR}=complete_{shell}" in text
    assert "eventix" in text


def test_completion_answers_in_typers_format_only_after_completion_init() -> None:
    """Without typer's completion classes (registered by the private completion_init), click's
    own bash class would answer "plain,task" instead of "task"."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_")},
        COMPLETE_VAR: "complete_bash",
        "COMP_WORDS": "eventix ta",
        "COMP_CWORD": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "eventix_cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["task"]


def test_usage_lines_name_arguments_plainly() -> None:
    """typer writes a required argument as {name}; PlainUsageCommand (through typer's public
    cls=) writes NAME, and an optional one as [NAME]."""

    def command(name: str, extra: Annotated[str, typer.Argument()] = "") -> None:
        """Demo."""

    built = command_from_function("demo", command, None)
    assert isinstance(built, PlainUsageCommand)
    with typer.Context(built, info_name="demo") as ctx:
        assert built.get_usage(ctx) == "Usage: demo [OPTIONS] NAME [EXTRA]"
