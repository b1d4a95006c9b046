"""Driving ``eventix top`` headless (Textual's ``App.run_test``) against a real server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from eventix_cli.cli.commands.top import task_actions
from eventix_cli.cli.top.app import TopApp
from eventix_cli.cli.top.source import TopSource
from eventix_cli.client.api import EventixClient
from eventix_cli.config import load_settings

#: the longest a test waits for the view to show something (the machine is loaded)
PATIENCE = 20.0


@contextlib.asynccontextmanager
async def running_top(
    url: str,
    namespace: str | None,
    *,
    read_only: bool = False,
    interval: float = 60.0,
    size: tuple[int, int] = (160, 40),
) -> AsyncIterator[Pilot[None]]:
    """The view of ``namespace`` (None: every namespace). The default interval is long, so a
    test refreshes when it says so (``app.tick()``); live tests pass a short one."""
    settings = load_settings(overrides={"url": url, "namespace": namespace, "read_only": read_only or None})
    client = EventixClient(url, retries=0, timeout=5)
    source = TopSource(client)
    app = TopApp(
        source, settings, namespace=namespace, interval=interval, per_task=task_actions(client, settings)
    )
    try:
        async with app.run_test(size=size) as pilot:
            yield pilot
    finally:
        source.close()
        client.close()


async def until(pilot: Pilot[Any], check: Callable[[], Any], what: str, timeout: float = PATIENCE) -> Any:
    """Let the app run until ``check()`` is truthy (polled, with a deadline); returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def table_rows(pilot: Pilot[Any]) -> list[list[str]]:
    """The rows of the table of the view on top, as plain text."""
    table = pilot.app.screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(pilot: Pilot[Any], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).render())


def settled(pilot: Pilot[Any]) -> bool:
    """The view on top has shown its data and has nothing in flight."""
    screen = pilot.app.screen
    return screen.seen_at is not None and not screen.loading_data


def run(scenario: Callable[[], Any]) -> None:
    asyncio.run(scenario())
