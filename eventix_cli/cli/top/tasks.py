"""The tasks view (``eventix top -n NS``): newest first, by status (``1``..``5``, ``tab``,
``0`` for all), filtered on the server (``/``), loaded a page at a time in a bounded window;
marks (``space``) and the actions ``r``, ``c`` and ``ctrl+d`` on the marked tasks or the one
under the cursor, each asked first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.widgets import DataTable, Input, Static

from eventix_cli.cli.bulk import Skip
from eventix_cli.cli.tables import CUT_FIRST, CUT_LAST, Column, cell_width, cut_cell, fit_columns
from eventix_cli.cli.task_rows import task_row
from eventix_cli.cli.top import keys
from eventix_cli.cli.top.actions import ACTIONS, check_writable, question, report, run_action
from eventix_cli.cli.top.dialogs import Confirm
from eventix_cli.cli.top.live import LiveScreen, cursor_key, one_line, refill, status_text
from eventix_cli.cli.top.window import TaskWindow
from eventix_cli.client.monitor import STATUS_ORDER
from eventix_cli.core.errors import EventixCliError, ReadOnlyError
from eventix_cli.core.text import escape
from eventix_cli.core.times import utcnow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

    from eventix_cli.cli.bulk import BulkResult
    from eventix_cli.cli.top.actions import TaskAction
    from eventix_cli.core.view import TaskView

EDGE = 3  # rows from the end of the loaded ones at which the next page is loaded
#: the fewest cells a uid is cut to when the screen is narrow (8 characters and an ellipsis:
#: enough to tell rows apart; enter shows it whole, and the row keys stay whole)
SHORTEST_UID = 9
#: the columns, fitted to the screen as listings are (tables.fit_columns): uids cut first,
#: task names and errors last; a column goes (highest ``drop`` first) only when nothing fits
#: even with every value at its shortest
COLUMNS = (
    Column("mark", "", min_width=1),
    Column("uid", "UID", cut=CUT_FIRST, shortest=SHORTEST_UID),
    Column("task", "TASK", cut=CUT_LAST),
    Column("status", "STATUS", shortest=len("processing")),  # never cut: what a row is read for
    Column("priority", "PRIO", drop=4),
    Column("eta", "ETA", drop=3, shortest=len("59m ago")),  # "in 5…" tells nothing
    Column("retries_left", "RETRIES LEFT", drop=7),
    Column("error", "ERROR", cut=CUT_LAST),
)
#: shown from this many columns up (the task view shows every field): at 80 columns the
#: rest then fits whole, task names and errors included
WIDE_ONLY, WIDE_SCREEN = frozenset({"retries_left"}), 100
#: cells on each side of a value (DataTable's cell padding): columns are twice that apart
CELL_PADDING = 1


def task_cells(task: TaskView, now: dt.datetime, marked: bool) -> list[str]:
    """A task's values, in the order of COLUMNS, as plain text."""
    row = task_row(task, now)
    return [
        "*" if marked else " ",
        row["uid"],
        escape(row["task"]),
        row["status"],
        str(row["priority"]),
        row["eta_relative"],
        row["retries_left"],
        escape(row["error_class"] or ""),
    ]


def fitted_rows(cells: list[list[str]], room: int) -> tuple[list[Column], list[int], list[list[Any]]]:
    """The columns shown in ``room`` cells, their widths and the rows' cells cut to them (a
    status keeps the colour of the whole one)."""
    widths = [
        max([cell_width(column.header), *(cell_width(row[i]) for row in cells)])
        for i, column in enumerate(COLUMNS)
    ]
    gap = 2 * CELL_PADDING
    # columns shown only on a wide screen go by the screen's width alone, never by the rows,
    # so that no column comes and goes as the rows change
    offered = [i for i, column in enumerate(COLUMNS) if room >= WIDE_SCREEN or column.key not in WIDE_ONLY]
    chosen, fitted = fit_columns(
        [COLUMNS[i] for i in offered], [widths[i] for i in offered], room - gap, gap=gap, drop_last=True
    )
    keep = [offered[i] for i in chosen]
    status = [column.key for column in COLUMNS].index("status")
    rows = []
    for row in cells:
        shown: list[Any] = []
        for i, width in zip(keep, fitted, strict=True):
            text = cut_cell(row[i], width)
            shown.append(status_text(row[i], text) if i == status else text)
        rows.append(shown)
    return [COLUMNS[i] for i in keep], fitted, rows


class TasksTable(DataTable):
    """The tasks table: says when its size changed (a resized terminal, the filter box shown
    or hidden), after the layout, so that its rows are fitted to the new size."""

    class Resized(Message):
        pass

    def on_resize(self) -> None:
        self.post_message(self.Resized())


class TasksView(LiveScreen):
    BINDINGS = keys.bindings(keys.TASKS)
    AUTO_FOCUS = "#tasks"  # the table, not the (hidden) filter box
    DEFAULT_CSS = """
    TasksView #filter { display: none; }
    TasksView #filter.shown { display: block; }
    TasksView #tasks { height: 1fr; }
    TasksView #counts { height: 1; }
    """

    def __init__(self, namespace: str, *, stacked: bool = False) -> None:
        super().__init__()
        self.namespace = namespace
        self.stacked = stacked  # opened from the namespaces view: escape goes back to it
        self.status: str | None = None
        self.text: str | None = None
        self.window = TaskWindow()
        self.marks: dict[str, TaskView] = {}
        self.counts: dict[str, Any] = {}

    def title_text(self) -> str:
        shown = f"status {self.status or 'all'}"
        if self.text:
            shown += f"  filter {escape(self.text)!r}"
        return f"eventix top  namespace {escape(self.namespace)}  {shown}  (? for keys, q to quit)"

    def body(self) -> Iterable[Any]:
        yield Input(
            placeholder="filter: task, unique key, uid or error (enter applies, escape clears)", id="filter"
        )
        table = TasksTable(id="tasks", cursor_type="row", cell_padding=CELL_PADDING)
        for column in COLUMNS:
            table.add_column(column.header, key=column.key)
        yield table
        yield Static("", id="counts", markup=False)

    # -- loading

    def fetch(self, mode: str) -> tuple[int, Any, dict[str, Any] | None] | None:
        window = self.window
        if mode == "reset":
            wanted: tuple[int, int] | None = (0, window.page_size)
        elif mode == "refresh":
            wanted = window.reload_request()
        elif mode == "next":
            wanted = window.next_request()
        else:
            wanted = window.previous_request()
        if wanted is None:
            return None
        skip, limit = wanted
        page = self.top.source.page(
            namespace=self.namespace, status=self.status, text=self.text, skip=skip, limit=limit
        )
        counts = self.top.source.counts(self.namespace, utcnow()) if mode in ("reset", "refresh") else None
        return skip, page, counts

    def show(self, mode: str, data: tuple[int, Any, dict[str, Any] | None] | None) -> None:
        if data is None:
            return
        skip, page, counts = data
        shift = 0
        if mode == "reset":
            self.window.reset(page)
        elif mode == "refresh":
            self.window.replace(page)
        elif mode == "next":
            shift = -self.window.append(page)
        else:
            shift = self.window.prepend(page, skip)
        if counts is not None:
            self.counts = counts
        self.redraw(cursor_shift=shift, keep=mode != "reset")
        self.show_counts()

    def redraw(self, *, cursor_shift: int = 0, keep: bool = True) -> None:
        """The loaded tasks into the table, fitted to its width (an 80-column terminal shows
        ERROR without scrolling sideways); the rows keyed by whole uids."""
        now = utcnow()
        tasks = self.window.tasks
        table = self.query_one(DataTable)
        cells = [task_cells(t, now, t.uid in self.marks) for t in tasks]
        columns, widths, rows = fitted_rows(cells, self.room(table, len(tasks)))
        refill(
            table,
            [(t.uid, row) for t, row in zip(tasks, rows, strict=True)],
            columns=[(c.header, c.key, width) for c, width in zip(columns, widths, strict=True)],
            cursor_shift=cursor_shift,
            keep=keep,
        )

    def room(self, table: DataTable, rows: int) -> int:
        """The cells the table's columns may take: its width, less the vertical scrollbar's
        when the rows and the header are more than its height shows (or before the layout,
        when the screen's width is all there is to go by)."""
        scrollbar = table.styles.scrollbar_size_vertical
        if not table.size.width:
            return self.size.width - scrollbar
        overflows = rows + (table.header_height if table.show_header else 0) > table.size.height
        return table.size.width - (scrollbar if overflows else 0)

    def on_tasks_table_resized(self) -> None:
        if self.window.tasks:
            self.redraw()

    def show_counts(self) -> None:
        parts = [f"{status} {self.counts.get(status, 0):,}" for status in STATUS_ORDER]
        window = self.window
        rows = (
            f"rows {window.skip + 1:,}-{window.skip + len(window.tasks):,} of {window.total:,}"
            if window.tasks
            else "no tasks match"
        )
        marked = f"  |  {len(self.marks):,} marked" if self.marks else ""
        self.query_one("#counts", Static).update("  ".join(parts) + f"  |  {rows}{marked}")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Scrolling near either end of the loaded rows loads the page beyond it. The cursor is
        read from the table, not the event: a redraw posts highlights of rows it passed."""
        if self.loading_data:
            return
        table = event.data_table
        if table.cursor_row >= table.row_count - EDGE and self.window.next_request():
            self.reload("next")
        elif table.cursor_row < EDGE and self.window.previous_request():
            self.reload("previous")

    # -- selection

    def action_status(self, status: str) -> None:
        self.status = status or None
        self.query_one("#title", Static).update(self.title_text())
        self.reload("reset")

    def action_next_status(self) -> None:
        cycle = ("", *STATUS_ORDER)
        self.action_status(cycle[(cycle.index(self.status or "") + 1) % len(cycle)])

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = self.text or ""
        box.add_class("shown")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply_filter(event.value.strip() or None)

    def _apply_filter(self, text: str | None) -> None:
        self.query_one("#filter", Input).remove_class("shown")
        self.query_one(DataTable).focus()
        self.text = text
        self.query_one("#title", Static).update(self.title_text())
        self.reload("reset")

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("shown") or self.text:
            self._apply_filter(None)
        elif self.stacked:
            self.app.pop_screen()

    # -- rows

    def task_under_cursor(self) -> TaskView | None:
        uid = cursor_key(self.query_one(DataTable))
        return next((t for t in self.window.tasks if t.uid == uid), None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        task = self.task_under_cursor()
        if task is not None:
            self.top.open_task(task.uid)

    def action_mark(self) -> None:
        task = self.task_under_cursor()
        if task is None:
            return
        if self.marks.pop(task.uid, None) is None:
            self.marks[task.uid] = task
        table = self.query_one(DataTable)
        table.update_cell(task.uid, "mark", "*" if task.uid in self.marks else " ")
        table.action_cursor_down()
        self.show_counts()

    def action_running(self) -> None:
        self.top.open_running(self.namespace)

    # -- actions

    def action_edit(self) -> None:
        """``e``: the editor flow of ``task retry --edit`` on the task under the cursor, with the
        view suspended while the editor has the terminal; journaled as the other actions."""
        try:
            check_writable(self.top.settings, ACTIONS["retry"])
        except ReadOnlyError as exc:
            self.say(one_line(exc))
            return
        task = self.task_under_cursor()
        if task is None:
            self.say("nothing to edit: no task under the cursor")
            return
        if task.status.value not in ("error", "retry"):
            self.say(
                f"only a failed task (error, retry) is edited and retried; this one is {task.status.value}"
            )
            return
        try:
            with self.app.suspend(), self.top.per_task["edit"]() as edit:
                edited = edit(task)
        except Skip as skip:
            self.say(f"{task.uid}: {skip.reason}")
        except EventixCliError as exc:
            self.say(one_line(exc))
        else:
            self.say(
                f"{task.uid}: edited and retried"
                if edited
                else "the arguments were saved unchanged: nothing was sent"
            )
        self.reload("refresh")

    def action_act(self, name: str) -> None:
        action = ACTIONS[name]
        try:
            check_writable(self.top.settings, action)
        except ReadOnlyError as exc:
            self.say(one_line(exc))
            return
        targets = list(self.marks.values())
        if not targets:
            task = self.task_under_cursor()
            targets = [task] if task is not None else []
        if not targets:
            self.say(f"nothing to {name}: no task under the cursor")
            return
        self.app.push_screen(
            Confirm(question(action, targets)), lambda yes: self._answered(action, targets, yes)
        )

    def _answered(self, action: TaskAction, targets: list[TaskView], yes: bool | None) -> None:
        if not yes:
            self.say("nothing was changed (not confirmed)")
            return
        self.say(f"{action.name}: {len(targets):,} task(s) ...")
        self.run_worker(
            lambda: self._act_in_thread(action, targets), group="action", thread=True, exit_on_error=False
        )

    def _act_in_thread(self, action: TaskAction, targets: list[TaskView]) -> None:
        try:
            result = run_action(action, self.top.per_task, targets)
        except EventixCliError as exc:  # the journal could not be written: nothing was sent
            self.app.call_from_thread(self.say, f"{action.name}: nothing was changed: {exc.message}")
            return
        self.app.call_from_thread(self._acted, action, result)

    def _acted(self, action: TaskAction, result: BulkResult) -> None:
        self.marks.clear()
        self.say(report(action, result))
        self.reload("refresh")
