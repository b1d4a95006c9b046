"""Every key of ``eventix top``: one table, read by the views' bindings and by the help screen."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Key:
    key: str  # Textual's key names, comma-separated for alternatives
    action: str
    description: str
    shown: str  # how the help screen writes the key


#: keys that work in every view
GLOBAL = (
    Key("q", "app.quit", "quit (exit 0)", "q"),
    Key("ctrl+c", "app.quit", "quit", "Ctrl-C"),
    Key("question_mark", "help", "every key", "?"),
)
NAMESPACES = (
    Key("enter", "open", "open the namespace's tasks", "enter"),
    Key("w", "running", "running tasks, by worker", "w"),
)
TASKS = (
    Key("enter", "open", "every field of the task", "enter"),
    Key("0", "status('')", "all statuses", "0"),
    Key("1", "status('scheduled')", "scheduled", "1"),
    Key("2", "status('processing')", "processing", "2"),
    Key("3", "status('retry')", "retry", "3"),
    Key("4", "status('error')", "error", "4"),
    Key("5", "status('done')", "done", "5"),
    Key("tab", "next_status", "next status", "tab"),
    Key("slash", "filter", "filter (server side): task, unique key, uid, error", "/"),
    Key("escape", "back", "clear the filter, or back", "escape"),
    Key("space", "mark", "mark or unmark the row", "space"),
    Key("r", "act('retry')", "retry the marked tasks (or the one under the cursor)", "r"),
    Key("c", "act('cancel')", "cancel them (a processing one is ended as cancelled)", "c"),
    Key("ctrl+d", "act('delete')", "delete them (never a processing one)", "Ctrl-D"),
    Key("e", "edit", "edit a failed task's args and kwargs in $EDITOR, then retry it", "e"),
    Key("w", "running", "running tasks, by worker", "w"),
)
DETAIL = (Key("escape", "back", "back", "escape"),)
RUNNING = (Key("escape", "back", "back", "escape"),)
DIALOG = (
    Key("y", "confirm", "yes, do it", "y"),
    Key("n,escape", "decline", "no, change nothing", "n / escape"),
)

#: the app's own bindings reach no modal screen: the dialogs bind q themselves
QUIT = GLOBAL[:1]

#: the help screen's sections, in order
SECTIONS = (
    ("everywhere", GLOBAL),
    ("namespaces", NAMESPACES),
    ("tasks", TASKS),
    ("task", DETAIL),
    ("running", RUNNING),
    ("confirm dialog", DIALOG),
)


def bindings(keys: tuple[Key, ...], *, priority: bool = False) -> list[Binding]:
    """Textual bindings for a view's keys (shown in the footer)."""
    return [Binding(k.key, k.action, k.description, show=False, priority=priority) for k in keys]


def help_lines() -> list[str]:
    """The help screen's text: every key, by view."""
    lines: list[str] = []
    for title, keys in SECTIONS:
        lines.append(title)
        lines.extend(f"  {k.shown:<12} {k.description}" for k in keys)
        lines.append("")
    return lines[:-1]
