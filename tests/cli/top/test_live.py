"""Live refresh of ``eventix top``: the cursor, marks and scroll stay; paging in a bounded
window; a server that stops answering raises a banner and the view recovers by itself;
errors are one line in the status bar, never a traceback."""

from __future__ import annotations

from eventix_cli.cli.top.window import TaskWindow
from tests.cli.top.pilot import run, running_top, settled, table_rows, text_of, until
from tests.cli.top.test_tasks_view import store
from tests.support.servers import start_server
from tests.support.tasks import seed


def uids(pilot) -> list[str]:
    return [row[1] for row in table_rows(pilot)]


def test_refresh_keeps_cursor_marks_and_scroll(client, server, namespace) -> None:
    for minute in range(60):
        store(client, namespace, minute)

    async def scenario() -> None:
        async with running_top(server.url, namespace, interval=0.3, size=(160, 20)) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            table = pilot.app.screen.query_one("DataTable")
            await pilot.press(*["down"] * 30, "space")
            marked, under_cursor = uids(pilot)[30], uids(pilot)[31]
            scroll = table.scroll_y
            assert scroll > 0
            newest = store(client, namespace, 100)  # lands above: every row moves down by one
            await until(pilot, lambda: uids(pilot)[:1] == [newest], "the live refresh")
            assert uids(pilot)[table.cursor_row] == under_cursor
            assert table_rows(pilot)[31][0] == "*"
            assert uids(pilot)[31] == marked
            assert table.scroll_y == scroll + 1  # the row under the cursor stays where it was on screen

    run(scenario)


def test_scrolling_loads_pages_in_a_bounded_window(client, server, namespace) -> None:
    created = [store(client, namespace, minute) for minute in range(70)]
    newest_first = created[::-1]

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            pilot.app.screen.window = TaskWindow(page_size=20, max_pages=2)
            await pilot.press("0")
            await until(pilot, lambda: settled(pilot) and len(uids(pilot)) == 20, "the first page")
            for _ in range(10):  # to the end, a page at a time
                await pilot.press("pagedown")
                await until(pilot, lambda: settled(pilot), "a page")
                assert len(uids(pilot)) <= 40
                if uids(pilot)[-1] == newest_first[-1]:
                    break
            window = pilot.app.screen.window
            assert uids(pilot) == newest_first[window.skip :]
            assert window.skip == 30
            assert "rows 31-70 of 70" in text_of(pilot, "#counts")
            for _ in range(10):  # and back to the start
                await pilot.press("pageup")
                await until(pilot, lambda: settled(pilot), "a page")
                assert len(uids(pilot)) <= 40
                if uids(pilot)[0] == newest_first[0] and window.skip == 0:
                    break
            assert uids(pilot) == newest_first[: len(uids(pilot))]

    run(scenario)


def test_server_gone_raises_a_banner_keeps_the_data_and_recovers(tmp_path, namespace) -> None:
    first = start_server("embedded", tmp_path / "logs")
    port = int(first.url.rsplit(":", 1)[1])
    seed(first.url, namespace, 2)
    servers = [first]

    async def scenario() -> None:
        async with running_top(first.url, namespace, interval=0.3) as pilot:
            await until(pilot, lambda: settled(pilot) and len(uids(pilot)) == 2, "the first rows")
            first.stop()
            banner = pilot.app.screen.query_one("#banner")
            await until(pilot, lambda: banner.has_class("shown"), "the banner")
            assert text_of(pilot, "#banner").startswith("server unreachable: ")
            assert "trying again" in text_of(pilot, "#banner")
            assert len(uids(pilot)) == 2  # the last data is kept
            assert pilot.app.return_code is None  # the view lives on
            servers.append(start_server("embedded", tmp_path / "logs", port=port))  # back, empty
            await until(pilot, lambda: not banner.has_class("shown") and not uids(pilot), "the recovery")
            await pilot.press("q")
        assert pilot.app.return_code == 0

    try:
        run(scenario)
    finally:
        for server in servers:
            server.stop()


def test_server_gone_then_q_exits_0(tmp_path, namespace) -> None:
    gone = start_server("embedded", tmp_path / "logs")
    try:

        async def scenario() -> None:
            async with running_top(gone.url, namespace, interval=0.3) as pilot:
                await until(pilot, lambda: settled(pilot), "the first rows")
                gone.stop()
                await until(
                    pilot, lambda: pilot.app.screen.query_one("#banner").has_class("shown"), "the banner"
                )
                await pilot.press("q")
            assert pilot.app.return_code == 0

        run(scenario)
    finally:
        gone.stop()


def test_an_error_is_one_line_in_the_status_bar(embedded_url, namespace) -> None:
    async def scenario() -> None:
        async with running_top(embedded_url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            await pilot.press("slash", *"x" * 300, "enter")
            status = await until(pilot, lambda: text_of(pilot, "#status"), "the error")
            assert status == "error: the filter text is 300 characters long; at most 256 (UsageError)"

    run(scenario)


def test_a_bug_in_a_fetch_is_one_line_not_a_traceback(embedded_url, namespace) -> None:
    def broken(**_):
        raise RuntimeError("boom")

    async def scenario() -> None:
        async with running_top(embedded_url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            pilot.app.source.page = broken
            pilot.app.tick()
            status = await until(pilot, lambda: text_of(pilot, "#status"), "the error")
            assert status == "error: boom (RuntimeError)"
            assert pilot.app.return_code is None
            await pilot.press("q")
        assert pilot.app.return_code == 0

    run(scenario)
