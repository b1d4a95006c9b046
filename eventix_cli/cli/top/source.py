"""What the views read, over one client: the data layer of ``client/browse.py`` and a task by
uid. Called from the views' thread workers; the pool is kept for the life of the view (the
client keeps a connection per thread)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from eventix_cli.client.browse import namespace_rows, running_by_worker, task_page
from eventix_cli.client.monitor import namespace_counts

if TYPE_CHECKING:
    import datetime as dt

    from eventix_cli.client.api import EventixClient, TaskPage
    from eventix_cli.core.view import TaskView


class TopSource:
    def __init__(self, client: EventixClient) -> None:
        self.client = client
        self.pool = ThreadPoolExecutor(8, thread_name_prefix="top")

    def page(
        self, *, namespace: str | None, status: str | None, text: str | None, skip: int, limit: int
    ) -> TaskPage:
        return task_page(self.client, namespace=namespace, status=status, text=text, skip=skip, limit=limit)

    def namespaces(self, now: dt.datetime) -> list[dict[str, Any]]:
        return namespace_rows(self.client, now, self.pool)

    def counts(self, namespace: str, now: dt.datetime) -> dict[str, Any]:
        return namespace_counts(self.client, namespace, now, self.pool)

    def running(self, namespace: str | None) -> list[dict[str, Any]]:
        return running_by_worker(self.client, namespace)

    def task(self, uid: str) -> TaskView:
        return self.client.get_task(uid)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
