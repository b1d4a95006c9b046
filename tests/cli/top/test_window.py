"""The bounded window of loaded task pages: what to ask for next, and what is kept."""

from __future__ import annotations

from eventix_cli.cli.top.window import TaskWindow
from eventix_cli.client.api import TaskPage


def page(start: int, count: int, total: int) -> TaskPage:
    """Matches ``start`` .. ``start + count`` of ``total``, standing for tasks by their index."""
    items = [f"t{i}" for i in range(start, min(start + count, total))]
    return TaskPage(items, items, total)  # type: ignore[arg-type]


def test_paging_down_keeps_at_most_the_capacity() -> None:
    window = TaskWindow(page_size=10, max_pages=3)
    window.reset(page(0, 10, 1000))
    for _ in range(50):
        skip, limit = window.next_request()
        window.append(page(skip, limit, 1000))
        assert len(window.tasks) <= 30
    assert window.skip == 510 - 30
    assert window.tasks == [f"t{i}" for i in range(480, 510)]
    assert window.reload_request() == (480, 30)


def test_paging_up_again_and_the_ends() -> None:
    window = TaskWindow(page_size=10, max_pages=2)
    window.reset(page(0, 10, 25))
    assert window.previous_request() is None
    window.append(page(*window.next_request(), 25))
    assert window.append(page(*window.next_request(), 25)) == 5  # 25 rows: 5 dropped from the top
    assert window.next_request() is None
    assert (window.skip, len(window.tasks)) == (5, 20)
    start, limit = window.previous_request()
    assert (start, limit) == (0, 5)
    assert window.prepend(page(start, limit, 25), start) == 5
    assert window.skip == 0
    assert window.tasks == [f"t{i}" for i in range(20)]  # the bottom dropped


def test_a_refresh_of_a_shrunk_selection_goes_back_to_its_start() -> None:
    window = TaskWindow(page_size=10, max_pages=2)
    window.reset(page(0, 10, 100))
    window.append(page(10, 10, 100))
    window.append(page(20, 10, 100))
    window.replace(page(10, 20, 5))  # everything past the tenth match is gone
    assert window.skip == 0
    assert window.total == 5
