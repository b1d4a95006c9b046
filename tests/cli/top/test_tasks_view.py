"""The tasks view of ``eventix top`` (headless Pilot) against both servers: rows newest first
with the counts bar, status keys, the server-side filter, marks, the task view and back."""

from __future__ import annotations

import datetime as dt

import pytest

from eventix_cli.cli.top.live import STATUS_STYLES
from eventix_cli.core.task import Task
from tests.cli.top.pilot import run, running_top, settled, table_rows, text_of, until

pytestmark = pytest.mark.contract

BASE = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
ERROR = {
    "error_class": "ValueError",
    "error_message": "bad invoice 42",
    "error_status_code": 500,
    "error_traceback": [
        "Traceback (most recent call last):\n",
        '  File "job.py", line 3\n',
        "ValueError: bad\n",
    ],
    "error_payload": {},
}


def store(client, namespace: str, minute: int, **fields) -> str:
    fields.setdefault("task", "job")
    task = Task(namespace=namespace, created_time=BASE + dt.timedelta(minutes=minute), **fields)
    return client.post_task(task.to_wire()).uid


def uids(pilot) -> list[str]:
    return [row[1] for row in table_rows(pilot)]


def test_rows_newest_first_with_counts_and_coloured_statuses(client, server, namespace) -> None:
    first = store(client, namespace, 0)
    second = store(client, namespace, 1, status="error", result=ERROR, task="send_invoice")
    third = store(client, namespace, 2, status="done")

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            assert uids(pilot) == [third, second, first]
            row = table_rows(pilot)[1]
            assert row[2:4] == ["send_invoice", "error"]
            assert row[-1] == "ValueError"
            counts = text_of(pilot, "#counts")
            assert "scheduled 1" in counts
            assert "error 1" in counts
            assert "done 1" in counts
            assert "rows 1-3 of 3" in counts
            screen = pilot.app.screen  # the counts bar is on screen, not under the status bar
            counts_region = screen.query_one("#counts").region
            assert counts_region.height == 1
            assert not counts_region.overlaps(screen.query_one("#status").region)
            table = pilot.app.screen.query_one("DataTable")
            assert table.get_row_at(1)[3].style == STATUS_STYLES["error"] == "red"
            await pilot.press("q")
        assert pilot.app.return_code == 0

    run(scenario)


def test_status_keys_and_tab_switch_the_status_shown(client, server, namespace) -> None:
    by_status = {
        s: store(client, namespace, i, status=s)
        for i, s in enumerate(["scheduled", "retry", "error", "done"])
    }

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            for key, status in (("1", "scheduled"), ("3", "retry"), ("4", "error"), ("5", "done")):
                await pilot.press(key)
                await until(pilot, lambda s=status: uids(pilot) == [by_status[s]], f"the {status} tasks")
                assert f"status {status}" in text_of(pilot, "#title")
            await pilot.press("2")
            await until(pilot, lambda: settled(pilot) and not uids(pilot), "no processing task")
            assert "no tasks match" in text_of(pilot, "#counts")
            await pilot.press("0")
            await until(pilot, lambda: len(uids(pilot)) == 4, "every status")
            await pilot.press("tab")
            await until(pilot, lambda: uids(pilot) == [by_status["scheduled"]], "tab: the next status")

    run(scenario)


def test_filter_is_matched_on_the_server_and_puts_the_cursor_on_the_first_row(
    client, server, namespace
) -> None:
    wanted = store(client, namespace, 0, task="Send_Invoice")
    for minute in range(1, 106):  # beyond the first page: found by the server, not among loaded rows
        store(client, namespace, minute, task="other")
    by_error = store(client, namespace, 6, status="error", result={**ERROR, "error_message": "invoice lost"})

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            assert wanted not in uids(pilot)
            assert len(uids(pilot)) == 100
            await pilot.press("down")
            await pilot.press("slash")
            await pilot.press(*"INVOICE")
            await pilot.press("enter")
            await until(pilot, lambda: settled(pilot) and uids(pilot) == [by_error, wanted], "the matches")
            table = pilot.app.screen.query_one("DataTable")
            assert table.cursor_row == 0
            assert table.has_focus
            assert "filter 'INVOICE'" in text_of(pilot, "#title")
            await pilot.press("escape")
            await until(
                pilot,
                lambda: (
                    settled(pilot) and len(uids(pilot)) == 100 and "filter" not in text_of(pilot, "#title")
                ),
                "the filter cleared",
            )
            await pilot.press("q")
        assert pilot.app.return_code == 0

    run(scenario)


def test_enter_shows_every_field_and_escape_goes_back(client, server, namespace) -> None:
    uid = store(
        client, namespace, 0, status="error", result=ERROR, args=[1, "a"], kwargs={"invoice": {"id": 42}}
    )

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            await pilot.press("enter")
            await until(pilot, lambda: settled(pilot) and pilot.app.screen.uid == uid, "the task view")
            text = text_of(pilot, "#fields")
            assert f"uid              {uid}" in text
            assert "created_time     2030-01-01T00:00:00" in text
            assert "d)" in text
            assert '  {\n    "invoice": {\n      "id": 42\n    }\n  }' in text
            assert "class    ValueError" in text
            assert "message  bad invoice 42" in text
            assert '    File "job.py", line 3' in text
            await pilot.press("escape")
            await until(pilot, lambda: type(pilot.app.screen).__name__ == "TasksView", "back to the tasks")
            await pilot.press("enter")
            await until(pilot, lambda: type(pilot.app.screen).__name__ == "TaskDetail", "the task view again")
            await pilot.press("q")
        assert pilot.app.return_code == 0

    run(scenario)


def test_back_at_80_columns_after_a_wide_screen_every_column_shows_again(client, server, namespace) -> None:
    failed = store(client, namespace, 0, status="error", result=ERROR, task="send_invoice")

    async def scenario() -> None:
        async with running_top(server.url, namespace, size=(80, 24)) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            table = pilot.app.screen.query_one("DataTable")
            assert table.virtual_size.width <= 80
            assert table_rows(pilot)[0][-1] == "ValueError"  # whole, the uid cut instead
            await pilot.resize_terminal(160, 40)
            await until(pilot, lambda: table_rows(pilot)[0][1] == failed, "the whole uid")
            await pilot.resize_terminal(80, 24)
            await until(pilot, lambda: table_rows(pilot)[0][1].endswith("…"), "the uid cut again")
            # a table measures itself when idle: waited for, not slept on
            await until(pilot, lambda: table.virtual_size.width <= 80, "the table within the screen")

    run(scenario)


def test_with_more_rows_than_the_screen_and_long_names_every_column_shows_beside_the_scrollbar(
    client, server, namespace
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
    for i in range(30):
        store(client, namespace, i, task=f"myapp.billing.tasks.sync_invoices_{i}", eta=later)
    error = {**ERROR, "error_class": "ConnectionRefusedError"}
    failed = store(client, namespace, 40, status="error", result=error, task="sync_invoice", retry=False)

    def headers(pilot) -> list[str]:
        return [str(c.label) for c in pilot.app.screen.query_one("DataTable").ordered_columns]

    def fits(pilot) -> bool:
        table = pilot.app.screen.query_one("DataTable")
        return table.virtual_size.width <= table.scrollable_content_region.width

    async def scenario() -> None:
        async with running_top(server.url, namespace, size=(80, 24)) as pilot:
            await until(pilot, lambda: settled(pilot) and len(table_rows(pilot)) == 31, "the rows")
            table = pilot.app.screen.query_one("DataTable")
            await until(pilot, lambda: table.show_vertical_scrollbar, "the scrollbar")
            await until(pilot, lambda: fits(pilot), "the table within the room beside the scrollbar")
            # RETRIES LEFT only on a wide screen (by its width alone, so no column comes and
            # goes with the rows); the task view shows it
            assert headers(pilot) == ["", "UID", "TASK", "STATUS", "PRIO", "ETA", "ERROR"]
            first = table_rows(pilot)[0]
            assert len(first[1]) == 9  # uids cut first, to 9
            assert failed.startswith(first[1][:-1])
            assert first[2] == "sync_invoice"
            assert first[-1].startswith("Connection")
            assert first[-1].endswith("…")
            assert table.get_row_at(0)[3].style == STATUS_STYLES["error"]
            await pilot.press("space")  # marks still go in the first column (the cursor moves down)
            await until(pilot, lambda: table_rows(pilot)[0][0] == "*", "the mark")
            # too narrow for every column even cut: the lowest ranks go, ERROR stays
            await pilot.resize_terminal(40, 24)
            await until(pilot, lambda: headers(pilot) == ["", "UID", "TASK", "STATUS", "ERROR"], "narrow")
            assert fits(pilot)
            assert table_rows(pilot)[0][0] == "*"
            await pilot.resize_terminal(120, 24)
            await until(pilot, lambda: "RETRIES LEFT" in headers(pilot), "every column again")
            await until(pilot, lambda: fits(pilot), "the table within the room")
            await pilot.resize_terminal(80, 24)
            await until(pilot, lambda: "ETA" in headers(pilot) and "RETRIES LEFT" not in headers(pilot), "80")
            await until(pilot, lambda: fits(pilot), "the table within the room")
            await pilot.press("up", "enter")  # the row keys are the whole uids
            await until(pilot, lambda: failed in text_of(pilot, "#fields"), "the task view")

    run(scenario)


def test_the_filter_box_taking_rows_from_the_table_refits_it_beside_its_scrollbar(
    client, server, namespace
) -> None:
    for i in range(18):  # as many rows as the table shows at 80x24 until the filter box opens
        store(client, namespace, i, task=f"myapp.billing.tasks.sync_invoices_{i}")

    async def scenario() -> None:
        async with running_top(server.url, namespace, size=(80, 24)) as pilot:
            await until(pilot, lambda: settled(pilot) and len(table_rows(pilot)) == 18, "the rows")
            table = pilot.app.screen.query_one("DataTable")
            assert not table.show_vertical_scrollbar
            # the long names take the whole width (a table measures itself when idle: waited for)
            await until(pilot, lambda: table.virtual_size.width == 80, "the rows measured")
            await pilot.press("slash")
            await until(pilot, lambda: table.show_vertical_scrollbar, "the scrollbar")
            await until(
                pilot,
                lambda: table.virtual_size.width == table.scrollable_content_region.width,
                "the table refitted beside the scrollbar",
            )

    run(scenario)
