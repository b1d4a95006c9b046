"""The namespaces, running and help views of ``eventix top``, and the keys that work in every
view (``q`` and Ctrl-C quit with exit 0, ``?`` shows every key)."""

from __future__ import annotations

import datetime as dt

import pytest

from eventix_cli.cli.top import keys
from eventix_cli.cli.top.dialogs import Help
from eventix_cli.cli.top.namespaces import MinuteHistory, sparkline
from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from tests.cli.top.pilot import run, running_top, settled, table_rows, text_of, until
from tests.cli.top.test_tasks_view import ERROR, store
from tests.support.servers import running_server
from tests.support.tasks import seed


def screen_name(pilot) -> str:
    return type(pilot.app.screen).__name__


def test_namespaces_view_has_a_row_per_namespace_and_opens_its_tasks(server, namespace, tmp_path) -> None:
    # a server of its own: the shared one holds a namespace per test of the session, and the
    # view reads every namespace (a known cost: O(namespaces) requests per refresh)
    with running_server(server.kind, tmp_path / "logs") as own, EventixClient(own.url, retries=0) as client:
        _namespaces_view_scenario(own.url, client, namespace)


def _namespaces_view_scenario(url: str, client: EventixClient, namespace: str) -> None:
    store(client, namespace, 0)
    store(client, namespace, 1, status="error", result=ERROR)
    client.post_task(Task(namespace=namespace, task="job", status="done").to_wire())  # done just now

    async def scenario() -> None:
        async with running_top(url, None) as pilot:
            await until(pilot, lambda: settled(pilot), "the namespaces")
            rows = {row[0]: row for row in table_rows(pilot)}
            # namespace, the five statuses, total, oldest due, done/min, failed/min, trend
            assert rows[namespace][1:7] == ["1", "0", "0", "1", "1", "3"]
            assert rows[namespace][8] == "1"
            assert rows[namespace][10] == "█"
            table = pilot.app.screen.query_one("DataTable")
            table.move_cursor(row=list(rows).index(namespace))
            await pilot.press("enter")
            await until(pilot, lambda: screen_name(pilot) == "TasksView" and settled(pilot), "its tasks")
            assert f"namespace {namespace}" in text_of(pilot, "#title")
            assert len(table_rows(pilot)) == 3
            await pilot.press("escape")
            await until(pilot, lambda: screen_name(pilot) == "NamespacesView", "back to the namespaces")
            await pilot.press("q")
        assert pilot.app.return_code == 0

    run(scenario)


def test_sparkline_of_the_minutes_seen() -> None:
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([0, 4, 8]) == "▁▄█"
    history = MinuteHistory()
    start = dt.datetime(2030, 1, 1, 12, 0, 5, tzinfo=dt.UTC)
    history.record(start, 3)
    history.record(start + dt.timedelta(seconds=30), 8)  # the same minute: its latest reading
    history.record(start + dt.timedelta(minutes=1), 0)
    assert history.line() == "█▁"
    for minute in range(100):
        history.record(start + dt.timedelta(minutes=2 + minute), minute)
    assert len(history.line()) == 30  # bounded


def test_running_view_groups_by_worker_and_flags_expired_leases(client, server, namespace) -> None:
    now = utcnow()
    for worker, expires in (
        ("worker-a", now + dt.timedelta(minutes=4)),
        ("worker-b", now - dt.timedelta(minutes=2)),
    ):
        task = Task(
            namespace=namespace, task="long", status="processing", worker_id=worker, worker_expires=expires
        )
        client.post_task(task.to_wire())

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the tasks")
            await pilot.press("w")
            await until(
                pilot, lambda: screen_name(pilot) == "RunningView" and settled(pilot), "the running view"
            )
            rows = table_rows(pilot)
            assert [row[0] for row in rows] == ["worker-a", "worker-b"]
            assert rows[0][5].startswith("in ")
            assert rows[1][5].startswith("EXPIRED 2m ago")
            status = text_of(pilot, "#status")
            assert "2 task(s) running on 2 worker(s); 1 lease(s) EXPIRED" in status
            await pilot.press("escape")
            await until(pilot, lambda: screen_name(pilot) == "TasksView", "back")

    run(scenario)


def test_help_shows_every_key(embedded_url, namespace) -> None:
    async def scenario() -> None:
        async with running_top(embedded_url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the tasks")
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(pilot.app.screen, Help), "the help")
            text = str(pilot.app.screen.query_one("#keys").render())
            for _, section in keys.SECTIONS:
                for key in section:
                    assert f"  {key.shown:<12} {key.description}" in text
            await pilot.press("escape")
            await until(pilot, lambda: screen_name(pilot) == "TasksView", "the help closed")

    run(scenario)


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
@pytest.mark.parametrize("path", [[], ["enter"], ["w"], ["question_mark"], ["r"], ["slash"]])
def test_q_and_ctrl_c_quit_from_every_view(embedded_url, namespace, path, key) -> None:
    seed(embedded_url, namespace, 1, status="error", result=ERROR)

    async def scenario() -> None:
        async with running_top(embedded_url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the tasks")
            await pilot.press(*path)
            await pilot.pause(0.2)
            if path == ["slash"] and key == "q":
                # in the filter box q is a letter; escape leaves the box
                await pilot.press("q", "escape", "q")
            else:
                await pilot.press(key)
            await until(pilot, lambda: pilot.app.return_code is not None, "the exit")
        assert pilot.app.return_code == 0

    run(scenario)


def test_no_color_is_honoured(embedded_url, namespace, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario() -> None:
        async with running_top(embedded_url, namespace) as pilot:
            assert pilot.app.no_color

    run(scenario)
