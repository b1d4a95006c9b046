"""A refresh that brings the rows already shown leaves the table alone: redrawing every cell
is most of a refresh's CPU (benchmarks/top.py, idle cost), and a quiet queue's rows rarely
change. A row that did change is shown."""

from __future__ import annotations

from textual.widgets import DataTable

from eventix_cli.cli.top.app import TopApp
from eventix_cli.config import load_settings
from tests.cli.top import fixed_data
from tests.cli.top.fixed_data import NAMESPACE, FixedSource
from tests.cli.top.pilot import run, settled, table_rows, until


def test_unchanged_rows_are_not_redrawn_and_changed_ones_are(monkeypatch) -> None:
    settings = load_settings(overrides={"url": "http://127.0.0.1:9", "namespace": NAMESPACE})
    app = TopApp(FixedSource(), settings, namespace=NAMESPACE, interval=3600, per_task={})  # type: ignore[arg-type]

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: settled(pilot), "the tasks")
            table = pilot.app.screen.query_one(DataTable)
            cleared = []
            monkeypatch.setattr(
                table, "clear", lambda *a, **k: cleared.append(1) or DataTable.clear(table, *a, **k)
            )
            before = table_rows(pilot)

            pilot.app.screen.reload("refresh")
            await until(pilot, lambda: settled(pilot), "the refresh")
            assert cleared == []
            assert table_rows(pilot) == before

            changed = fixed_data._task(4, "renamed", "retry", max_retries=2)
            monkeypatch.setattr(fixed_data, "TASKS", [*fixed_data.TASKS[:3], changed, *fixed_data.TASKS[4:]])
            pilot.app.screen.reload("refresh")
            await until(pilot, lambda: "renamed" in table_rows(pilot)[3][2], "the changed row")
            await pilot.press("q")

    run(scenario)
