"""The namespaces view (``eventix top -A``): one row per namespace with counts per status, the
age of the oldest due task, done and failed in the last minute, and a sparkline of the done
per minute seen since the view opened."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import DataTable

from eventix_cli.cli.top import keys
from eventix_cli.cli.top.live import STATUS_STYLES, LiveScreen, cursor_key, refill
from eventix_cli.client.monitor import STATUS_ORDER
from eventix_cli.core.text import escape
from eventix_cli.core.times import format_duration, utcnow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable

BARS = "▁▂▃▄▅▆▇█"
MINUTES_KEPT = 30


def sparkline(values: Iterable[int]) -> str:
    """One bar per value, scaled to the largest (all zero: the lowest bar)."""
    values = list(values)
    top = max(values, default=0)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, v * (len(BARS) - 1) // top)] for v in values)


class MinuteHistory:
    """The done-per-minute of one namespace, one value per minute seen (the latest reading of
    that minute), at most ``MINUTES_KEPT``."""

    def __init__(self) -> None:
        self.minutes: deque[tuple[dt.datetime, int]] = deque(maxlen=MINUTES_KEPT)

    def record(self, now: dt.datetime, value: int) -> None:
        minute = now.replace(second=0, microsecond=0)
        if self.minutes and self.minutes[-1][0] == minute:
            self.minutes[-1] = (minute, value)
        else:
            self.minutes.append((minute, value))

    def line(self) -> str:
        return sparkline(v for _, v in self.minutes)


def _count(value: Any) -> str:
    return "" if value is None else f"{value:,}"


class NamespacesView(LiveScreen):
    BINDINGS = keys.bindings(keys.NAMESPACES)

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, MinuteHistory] = {}

    def title_text(self) -> str:
        return "eventix top  all namespaces  (? for keys, q to quit)"

    def body(self) -> Iterable[Any]:
        table: DataTable = DataTable(id="namespaces", cursor_type="row")
        table.add_column("NAMESPACE", key="namespace")
        for status in STATUS_ORDER:
            table.add_column(status.upper(), key=status)
        for label, key in (
            ("TOTAL", "total"),
            ("OLDEST DUE", "oldest_due"),
            ("DONE/MIN", "done"),
            ("FAILED/MIN", "failed"),
            ("DONE PER MINUTE", "trend"),
        ):
            table.add_column(label, key=f"col_{key}")
        yield table

    def fetch(self, mode: str) -> tuple[dt.datetime, list[dict[str, Any]]]:
        now = utcnow()
        return now, self.top.source.namespaces(now)

    def show(self, mode: str, data: tuple[dt.datetime, list[dict[str, Any]]]) -> None:
        now, rows = data
        for row in rows:
            self.history.setdefault(row["namespace"], MinuteHistory()).record(
                now, row.get("done_last_minute") or 0
            )
        refill(self.query_one(DataTable), [(row["namespace"], self._cells(row)) for row in rows])
        self.say(f"{len(rows):,} namespace(s); updated {self.seen_at} UTC")

    def _cells(self, row: dict[str, Any]) -> list[Any]:
        oldest = row.get("oldest_due_seconds")
        return [
            escape(row["namespace"]),
            *(_styled(status, _count(row.get(status))) for status in STATUS_ORDER),
            _count(row.get("total")),
            "" if oldest is None else format_duration(oldest),
            _count(row.get("done_last_minute")),
            _count(row.get("failed_last_minute")),
            self.history[row["namespace"]].line(),
        ]

    def action_open(self) -> None:
        namespace = cursor_key(self.query_one(DataTable))
        if namespace is not None:
            self.top.open_tasks(namespace)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_running(self) -> None:
        self.top.open_running(None)


def _styled(status: str, text: str) -> Text | str:
    return Text(text, style=STATUS_STYLES.get(status, "")) if text not in ("", "0") else text
