"""What a newcomer reads matches the commands: every command has an example in the README, the
exit codes it documents are the ones `eventix --help` names, and help texts say what is true."""

from __future__ import annotations

import re

import pytest

from eventix_cli.cli.app import COMMANDS, load_command
from tests.support.servers import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def _commands() -> list[str]:
    paths = []
    for name in COMMANDS:
        command = load_command(name)
        subs = command.list_commands(None) if hasattr(command, "list_commands") else None
        paths.extend(f"{name} {sub}" for sub in subs or []) if subs else paths.append(name)
    return paths


def _readme_exit_codes() -> list[str]:
    section = README[README.index("## Exit codes") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)


@pytest.mark.parametrize("path", _commands())
def test_every_command_has_an_example_in_the_readme(path) -> None:
    example = re.compile(rf"^\$ (?:\S+=\S+ )*eventix {re.escape(path)}(?: |$)", flags=re.MULTILINE)
    assert example.search(README), f"README.md has no `$ eventix {path} ...` example"


def test_root_help_names_every_exit_code_of_the_readme(cli) -> None:
    codes = _readme_exit_codes()
    assert {"0", "2", "124", "130", "141"} <= set(codes)
    result = cli("--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    named = result.stdout[result.stdout.index("Exit codes") :]
    missing = [code for code in codes if not re.search(rf"\b{code}\b", named)]
    assert missing == [], named


def test_schedule_file_help_shows_its_toml_tables(cli) -> None:
    # square brackets are markup in rich help: the table names must be escaped to be shown
    result = cli("schedule", "list", "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "[schedules.NAME] tables" in result.stdout
    assert "upstream [[schedule]] entries" in result.stdout


def test_request_timeout_help_describes_the_whole_request_deadline(cli) -> None:
    result = cli("task", "list", "--help", env={"COLUMNS": "200"})
    line = next(line for line in result.stdout.splitlines() if "--request-timeout" in line)
    assert "each server response" not in line
    assert "whole request" in line


def _groups() -> list[str]:
    return [name for name in COMMANDS if hasattr(load_command(name), "list_commands")]


@pytest.mark.parametrize("group", _groups())
def test_every_command_group_help_ends_with_examples(cli, group) -> None:
    result = cli(group, "--help", env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "Examples" in result.stdout, result.stdout
    tail = result.stdout[result.stdout.index("Examples") :]
    examples = [line for line in tail.splitlines() if line.strip().startswith(f"eventix {group} ")]
    assert len(examples) >= 2, result.stdout
    # shell completion is `eventix completion SHELL`, not typer's options on a group
    assert "--install-completion" not in result.stdout
    assert "--show-completion" not in result.stdout
