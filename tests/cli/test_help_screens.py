"""Every command's ``--help`` at 80 columns: examples that copy whole, descriptions with room,
metavars that say what goes there, and one meaning per short flag across the command tree."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from rich.text import Text
from typer.main import get_command
from typer.testing import CliRunner

from eventix_cli.cli.app import app

#: the narrowest description column an option may get at 80 columns
MIN_DESCRIPTION_WIDTH = 36


def _walk(command: Any, path: tuple[str, ...], ctx: typer.Context) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if hasattr(command, "list_commands"):  # a group
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                yield from _walk(sub, (*path, name), typer.Context(sub, parent=ctx, info_name=name))


def _commands() -> list[tuple[tuple[str, ...], Any]]:
    root = get_command(app)
    return list(_walk(root, (), typer.Context(root, info_name="eventix")))


COMMANDS = _commands()
PATHS = [" ".join(path) or "(root)" for path, _ in COMMANDS]


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, prog_name="eventix")
    assert result.exit_code == 0, result.output
    return result.stdout


def _epilog_lines(rendered: str) -> list[str]:
    """The rendered lines from the "Examples" heading to the end."""
    lines = rendered.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "Examples"), len(lines))
    return [line.rstrip() for line in lines[start + 1 :]]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=PATHS)
def test_examples_copy_whole_at_80_columns(path, command) -> None:
    """Each rendered line is a whole line of the source, at its own indentation (+1 of the
    margin): prose at the margin, examples two spaces in, continuations (after a line ending
    in a backslash) further in."""
    rendered = _help(path)
    source_lines = Text.from_markup(command.epilog or "").plain.splitlines()
    indents = {line.strip(): len(line) - len(line.lstrip()) for line in source_lines if line.strip()}
    continued = False
    for line in source_lines:
        indent = len(line) - len(line.lstrip())
        if line.strip() and indent:
            assert indent > 2 if continued else indent == 2, f"one indentation for examples: {line!r}"
        continued = line.endswith(" \\")
    for line in _epilog_lines(rendered):
        if not line.strip():
            continue
        assert line.strip() in indents, f"wrapped in the middle: {line!r}\n{rendered}"
        assert len(line) - len(line.lstrip()) == indents[line.strip()] + 1, f"indentation lost: {line!r}"


def _description_width(rendered: str) -> int:
    """The narrowest description column of the option panels: 80 minus the deepest indent of a
    continuation line (a wrapped description starts under the column it continues)."""
    deepest = 0
    for line in rendered.splitlines():
        if line.startswith("│") and line.rstrip().endswith("│"):
            inner = line[1:-1]
            text = inner.lstrip()
            if text and not text.startswith(("-", "*", "[")) and inner[:1] == " ":
                deepest = max(deepest, len(inner) - len(text) + 1)
    return 80 - deepest - 2 if deepest else 80


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=PATHS)
def test_option_descriptions_get_room(path, command) -> None:
    rendered = _help(path)
    width = _description_width(rendered)
    assert width >= MIN_DESCRIPTION_WIDTH, f"descriptions squeezed to {width} columns:\n{rendered}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=PATHS)
def test_metavars_say_what_goes_there(path, command) -> None:
    rendered = _help(path)
    assert "<str>" not in rendered, rendered
    assert not re.search(r"\bTEXT\b", rendered), rendered


def test_root_names_the_profile_metavar() -> None:
    assert re.search(r"--profile\s+-p\s+NAME", _help(()))


def test_one_meaning_per_short_flag() -> None:
    meanings: dict[str, set[str]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for path, command in COMMANDS:
        for param in command.params:
            if param.param_type_name != "option":
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            for short in (o for o in param.opts if not o.startswith("--")):
                meanings[short].add(longs[0] if longs else short)
                where[short].append(f"{' '.join(path) or '(root)'}: {longs}")
    clashes = {s: sorted(m) for s, m in meanings.items() if len(m) > 1}
    assert not clashes, {s: where[s] for s in clashes}


def test_no_arguments_prints_usage() -> None:
    result = CliRunner().invoke(app, [], env={"COLUMNS": "80"}, prog_name="eventix")
    assert "Usage: eventix" in result.stdout
    assert result.stderr == ""  # not "error:  (UsageError)" with an empty message
    assert result.exit_code == 2  # no command is a usage error, as click has it


def _output_help(path: tuple[str, ...]) -> str:
    rendered = _help(path)
    start = rendered.index("--output")
    return " ".join(line.strip("│ ") for line in rendered[start:].splitlines()[:3])


@pytest.mark.parametrize("path", [("stats",), ("ping",), ("top",), ("config", "show")])
def test_output_help_lists_only_accepted_formats(cli, path) -> None:
    extra = ("--once", "--url", "http://127.0.0.1:9") if path == ("top",) else ()
    if path in (("stats",), ("ping",)):
        extra = ("--url", "http://127.0.0.1:9")
    refused = cli(*path, "-o", "ids", *extra)
    assert refused.exit_code == 2
    assert "ids" not in _output_help(path)
    assert "ids" in _output_help(("task", "list"))


def test_restore_help_mentions_no_filter() -> None:
    rendered = _help(("task", "restore"))
    assert "filter" not in rendered.lower(), rendered
