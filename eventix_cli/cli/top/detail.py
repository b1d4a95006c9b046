"""The task view: every field, args and kwargs as indented JSON, the error (class, message,
traceback), the result, and the times both absolute and relative; scrollable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.containers import VerticalScroll
from textual.widgets import Static

from eventix_cli.cli.output import dumps
from eventix_cli.cli.top import keys
from eventix_cli.cli.top.live import LiveScreen
from eventix_cli.core.fields import TIME_FIELDS
from eventix_cli.core.text import escape
from eventix_cli.core.times import format_wire_time, relative, utcnow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

    from eventix_cli.core.view import TaskView

BLOCKS = ("args", "kwargs", "result")  # shown as indented JSON below the fields


def detail_lines(task: TaskView, now: dt.datetime) -> list[str]:
    """The whole task as lines (task data escaped; newlines kept in the traceback)."""
    doc = task.to_wire()
    lines = []
    for name, value in doc.items():
        if name in BLOCKS:
            continue
        if name in TIME_FIELDS and value is not None:
            when = getattr(task, name)
            shown = f"{format_wire_time(when)}  ({relative(when, now)})"
        else:
            shown = escape(value if isinstance(value, str) else dumps(value))
        lines.append(f"{name:<16} {shown}")
    error = task.error
    if error is not None:
        lines += ["", "error", f"  class    {escape(str(error.error_class))}"]
        lines.append(f"  message  {escape(str(error.error_message or ''))}")
        if error.traceback_text:
            lines += ["  traceback", *("    " + escape(x) for x in error.traceback_text.splitlines())]
    for name in BLOCKS:
        lines += ["", name, *("  " + escape(x) for x in dumps(doc.get(name), indent=2).splitlines())]
    return lines


class TaskDetail(LiveScreen):
    BINDINGS = keys.bindings(keys.DETAIL)
    AUTO_FOCUS = "#scroll"  # arrows and page keys scroll a long traceback

    def __init__(self, uid: str) -> None:
        super().__init__()
        self.uid = uid

    def title_text(self) -> str:
        return f"eventix top  task {self.uid}  (escape: back)"

    def body(self) -> Iterable[Any]:
        with VerticalScroll(id="scroll"):
            yield Static("loading ...", id="fields", markup=False)

    def fetch(self, mode: str) -> TaskView:
        return self.top.source.task(self.uid)

    def show(self, mode: str, data: TaskView) -> None:
        self.query_one("#fields", Static).update("\n".join(detail_lines(data, utcnow())))
        self.say(f"updated {self.seen_at} UTC")

    def action_back(self) -> None:
        self.app.pop_screen()
