"""Only the ``eventix task`` commands use ``cli/commands/task/common.py``: what every command
shares (settings and a client from the context, the shared options) lives at the cli level."""

from __future__ import annotations

import ast
from pathlib import Path

import eventix_cli

PACKAGE = Path(eventix_cli.__file__).parent
TASK_COMMANDS = PACKAGE / "cli" / "commands" / "task"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_no_module_outside_the_task_commands_imports_their_helpers() -> None:
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if TASK_COMMANDS not in path.parents
        and "eventix_cli.cli.commands.task.common" in _imported_modules(path)
    )
    assert users == []
