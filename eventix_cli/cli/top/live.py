"""Live refresh: each view fetches its data in a thread worker (never on the UI thread) and
shows it on the UI thread. A server that stops answering raises a banner; the view keeps its
last data, tries again on the next tick, and drops the banner when an answer comes. Errors are
one line in the status bar, never a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState, get_current_worker

from eventix_cli.core.errors import EventixCliError, TransportError, format_error
from eventix_cli.core.text import escape
from eventix_cli.core.times import utcnow

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from textual.app import ComposeResult

    from eventix_cli.cli.top.actions import PerTask
    from eventix_cli.cli.top.source import TopSource
    from eventix_cli.config import Settings

#: how statuses are coloured (Textual drops colours when NO_COLOR is set)
STATUS_STYLES = {"error": "red", "retry": "yellow", "done": "green", "processing": "blue"}


def status_text(status: str, shown: str | None = None) -> Text:
    """A status in its colour; ``shown``: the text shown instead (the status cut to fit)."""
    return Text(status if shown is None else shown, style=STATUS_STYLES.get(status, ""))


def one_line(exc: BaseException) -> str:
    """An error as one line for the status bar."""
    if isinstance(exc, EventixCliError):
        return escape(format_error(exc)[0])
    return escape(f"error: {exc} ({type(exc).__name__})")


class Host(Protocol):
    """What the views need of the app (cli/top/app.py): where data comes from, the settings,
    the actions, and how to open the other views."""

    source: TopSource
    settings: Settings
    per_task: PerTask

    def open_tasks(self, namespace: str) -> None: ...
    def open_task(self, uid: str) -> None: ...
    def open_running(self, namespace: str | None) -> None: ...


class LiveScreen(Screen[None]):
    """A view that refreshes itself: a title line, a banner (shown while the server does not
    answer), the body, and a one-line status bar.

    Subclasses give :meth:`body`, :meth:`fetch` (runs in a thread, may raise
    :class:`EventixCliError`) and :meth:`show` (runs on the UI thread with what fetch returned).
    """

    DEFAULT_CSS = """
    LiveScreen #title { height: 1; background: $primary-background; }
    LiveScreen #banner { height: 1; background: $error; color: $text; display: none; }
    LiveScreen #banner.shown { display: block; }
    LiveScreen #status { height: 1; dock: bottom; background: $panel; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.loading_data = False  # a fetch is in flight: a tick does not start another
        self.seen_at: str | None = None  # when the data shown was fetched

    @property
    def top(self) -> Host:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(self.title_text(), id="title", markup=False)
        yield Static("", id="banner", markup=False)
        yield from self.body()
        yield Static("", id="status", markup=False)

    def body(self) -> Iterable[Any]:
        raise NotImplementedError

    def title_text(self) -> str:
        raise NotImplementedError

    def fetch(self, mode: str) -> Any:
        raise NotImplementedError

    def show(self, mode: str, data: Any) -> None:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.reload("reset")

    def on_screen_resume(self) -> None:
        self.query_one("#title", Static).update(self.title_text())

    # -- loading

    def tick(self) -> None:
        """The live refresh: one fetch at a time (a slow server is not piled on)."""
        if not self.loading_data:
            self.reload("refresh")

    def reload(self, mode: str) -> None:
        """Fetch in a thread worker; a newer load cancels an older one, whose data is dropped."""
        self.loading_data = True
        self.run_worker(
            lambda: self._fetch_in_thread(mode),
            group="load",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def _fetch_in_thread(self, mode: str) -> None:
        worker = get_current_worker()
        try:
            data = self.fetch(mode)
        except EventixCliError as exc:
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, exc)
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._loaded, mode, data)

    def _loaded(self, mode: str, data: Any) -> None:
        if not self.is_attached:  # closed while the fetch ran
            return
        self.loading_data = False
        self.seen_at = f"{utcnow():%H:%M:%S}"
        self.query_one("#banner", Static).remove_class("shown")
        self.show(mode, data)

    def _failed(self, exc: EventixCliError) -> None:
        if not self.is_attached:
            return
        self.loading_data = False
        if isinstance(exc, TransportError):
            kept = f"showing the data of {self.seen_at} UTC" if self.seen_at else "no data yet"
            banner = self.query_one("#banner", Static)
            banner.update(f"server unreachable: {escape(exc.message)}; {kept}; trying again")
            banner.add_class("shown")
        else:
            self.say(one_line(exc))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A bug in a fetch or an action: one line, never a traceback on the screen."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.loading_data = False
            self.say(one_line(event.worker.error))
        elif event.state == WorkerState.CANCELLED and event.worker.group == "load":
            self.loading_data = False

    def say(self, line: str) -> None:
        """One line in the status bar."""
        self.query_one("#status", Static).update(line)


def refill(
    table: DataTable,
    rows: Iterable[tuple[str, list[Any]]],
    *,
    cursor_shift: int = 0,
    keep: bool = True,
    columns: Sequence[tuple[str, str, int]] | None = None,
) -> None:
    """Replace a table's rows keeping the cursor on the same row (by key, else by position
    moved by ``cursor_shift``) at the same place on the screen: the scroll moves with it, so
    nothing on the screen jumps. ``keep=False`` puts the cursor on the first row instead (a new
    selection). Rows the same as those shown, in the same order, leave the table alone:
    redrawing every cell is most of a refresh's CPU, and a quiet queue's rows rarely change.

    ``columns`` (label, key, width): the table's columns, of those fixed widths, put in place
    of the ones it has when they differ (a table keeps a column's widest cell's width across
    ``clear()``: a narrower screen would not narrow it)."""
    rows = list(rows)
    columns = list(columns) if columns is not None else None
    same_columns = columns is None or _columns_of(table) == columns
    if keep and not cursor_shift and same_columns and _shown(table, rows):
        return
    key = cursor_key(table) if keep else None
    old_index, old_scroll = (table.cursor_row, table.scroll_y) if keep else (0, 0)
    index = old_index + cursor_shift
    table.clear(columns=not same_columns)
    if not same_columns and columns is not None:
        for label, column_key, width in columns:
            table.add_column(label, key=column_key, width=width)
    keys = []
    for row_key, cells in rows:
        table.add_row(*cells, key=row_key)
        keys.append(row_key)
    if key in keys and not cursor_shift:
        index = keys.index(key)
    if keys:
        index = max(0, min(index, len(keys) - 1))
        table.move_cursor(row=index, scroll=False)
        table.scroll_to(y=max(0, old_scroll + index - old_index), animate=False, immediate=True)


def _columns_of(table: DataTable) -> list[tuple[str, str, int]]:
    """A table's columns as (label, key, width); an automatic width counts as none (-1)."""
    return [
        (column.label.plain, str(column.key.value), -1 if column.auto_width else column.width)
        for column in table.ordered_columns
    ]


def _shown(table: DataTable, rows: list[tuple[str, list[Any]]]) -> bool:
    """Whether ``rows`` are the table's rows, keys, order and cells."""
    if [key.value for key in table.rows] != [key for key, _ in rows]:
        return False
    return all(table.get_row(key) == cells for key, cells in rows)


def cursor_key(table: DataTable) -> str | None:
    """The key of the row under the cursor, or None for an empty table."""
    if not table.row_count:
        return None
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
