"""A :class:`~eventix_cli.core.query.TaskQuery` run against a server: its matches streamed, the
first few in an order, their count. The server filters what it can; the time conditions are
checked here, on each task read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.query import TaskQuery
    from eventix_cli.core.view import TaskView


def iter_matches(client: EventixClient, query: TaskQuery, page_size: int = 500) -> Iterator[TaskView]:
    """Every match, streamed in uid order with keyset paging (constant memory)."""
    for task in client.iter_tasks(filter=query.server_filter(), page_size=page_size):
        if query.matches_client_side(task):
            yield task


def iter_matching_documents(
    client: EventixClient, query: TaskQuery, page_size: int = 500
) -> Iterator[dict[str, Any]]:
    """Every match as a plain document (no model validation), streamed in uid order."""
    for doc in client.iter_documents(filter=query.server_filter(), page_size=page_size):
        if query.matches_document(doc):
            yield doc


def first_matches(
    client: EventixClient, query: TaskQuery, limit: int, sort: str | None
) -> tuple[list[TaskView], int | None]:
    """Up to ``limit`` matches in ``sort`` order, and the total when it is known exactly."""
    server_filter = query.server_filter()
    if not query.has_client_filter:
        page = client.by_status(filter=server_filter, sort=sort, limit=limit)
        return page.tasks, page.max_results
    found: list[TaskView] = []
    skip = 0
    page_size = max(limit, 200)
    while len(found) < limit:
        page = client.by_status(filter=server_filter, sort=sort, limit=page_size, skip=skip or None)
        found.extend(t for t in page.tasks if query.matches_client_side(t))
        skip += page_size
        if skip >= page.max_results or not page.tasks:
            break
    return found[:limit], None


def count_matches(client: EventixClient, query: TaskQuery) -> int:
    if not query.has_client_filter:
        return client.count(filter=query.server_filter())
    return sum(1 for _ in iter_matches(client, query))
