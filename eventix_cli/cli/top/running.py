"""The running view (``w``): what ``eventix task running`` shows, grouped by worker, with the
expired leases flagged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import DataTable

from eventix_cli.cli.top import keys
from eventix_cli.cli.top.live import LiveScreen, refill
from eventix_cli.core.text import escape

if TYPE_CHECKING:
    from collections.abc import Iterable


class RunningView(LiveScreen):
    BINDINGS = keys.bindings(keys.RUNNING)

    def __init__(self, namespace: str | None) -> None:
        super().__init__()
        self.namespace = namespace  # None: every namespace

    def title_text(self) -> str:
        where = "all namespaces" if self.namespace is None else f"namespace {escape(self.namespace)}"
        return f"eventix top  running  {where}  (escape: back)"

    def body(self) -> Iterable[Any]:
        table: DataTable = DataTable(id="running", cursor_type="row")
        for label in ("WORKER", "TASK", "UID", "NAMESPACE", "RUNNING", "LEASE"):
            table.add_column(label, key=label.lower())
        yield table

    def fetch(self, mode: str) -> list[dict[str, Any]]:
        return self.top.source.running(self.namespace)

    def show(self, mode: str, groups: list[dict[str, Any]]) -> None:
        shown = []
        for group in groups:
            for i, row in enumerate(group["tasks"]):
                lease = Text(row["lease"], style="bold red") if row["lease_expired"] else row["lease"]
                cells = [
                    escape(row["worker_id"]) if i == 0 else "",
                    escape(row["task"]),
                    row["uid"],
                    escape(row["namespace"]),
                    row["running"],
                    lease,
                ]
                shown.append((row["uid"], cells))
        refill(self.query_one(DataTable), shown)
        expired = sum(g["expired"] for g in groups)
        running = sum(len(g["tasks"]) for g in groups)
        line = f"{running:,} task(s) running on {len(groups):,} worker(s)"
        if expired:
            line += f"; {expired:,} lease(s) EXPIRED: the worker probably died, the server puts them back"
        self.say(line + f"; updated {self.seen_at} UTC")

    def action_back(self) -> None:
        self.app.pop_screen()
