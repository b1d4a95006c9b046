"""Fixed data for the snapshot tests of ``eventix top``: a source with the interface of
:class:`~eventix_cli.cli.top.source.TopSource` that answers from a fixed list of tasks (fixed
uids and times), and the moment the clock is frozen at."""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventix_cli.client.api import TaskPage
from eventix_cli.client.running import group_by_worker, running_row
from eventix_cli.core.task import Task
from eventix_cli.core.view import TaskView

NOW = dt.datetime(2030, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
NAMESPACE = "billing"

_ERROR = {
    "error_class": "InvoiceMissing",
    "error_message": "no invoice for order 7",
    "error_status_code": 500,
    "error_traceback": [
        "Traceback (most recent call last):\n",
        '  File "billing/tasks.py", line 42, in sync_invoice\n',
        "InvoiceMissing: no invoice for order 7\n",
    ],
    "error_payload": {},
}


def _task(n: int, task: str, status: str, **fields: Any) -> TaskView:
    created = NOW - dt.timedelta(minutes=10 * n)
    return TaskView.of_model(
        Task(
            uid=f"{n:02d}" + "0f" * 15,
            namespace=NAMESPACE,
            task=task,
            status=status,
            created_time=created,
            updated_time=created + dt.timedelta(seconds=30),
            scheduled=created,
            eta=created + dt.timedelta(minutes=5),
            **fields,
        )
    )


TASKS = [
    _task(1, "sync_invoice", "error", result=_ERROR, max_retries=0, args=[7], kwargs={"region": "eu"}),
    _task(
        2, "send_reminder", "processing", worker_id="worker-a", worker_expires=NOW + dt.timedelta(minutes=4)
    ),
    _task(
        3, "send_reminder", "processing", worker_id="worker-b", worker_expires=NOW - dt.timedelta(minutes=2)
    ),
    _task(4, "sync_invoice", "retry", max_retries=2),
    _task(5, "close_month", "scheduled", unique_key="2030-01", priority=-5),
    _task(6, "sync_invoice", "done", result={"synced": 12}),
    _task(7, "send_reminder", "done", result=None),
]

NAMESPACE_ROWS = [
    {
        "namespace": NAMESPACE,
        "scheduled": 1,
        "processing": 2,
        "retry": 1,
        "error": 1,
        "done": 2,
        "total": 7,
        "oldest_due_seconds": 3300.0,
        "done_last_minute": 2,
        "failed_last_minute": 1,
    },
    {
        "namespace": "reports",
        "scheduled": 12_000,
        "processing": 4,
        "retry": 0,
        "error": 0,
        "done": 98_500,
        "total": 110_504,
        "oldest_due_seconds": None,
        "done_last_minute": 340,
        "failed_last_minute": 0,
    },
]


class FixedSource:
    """Answers every question of a view from :data:`TASKS` and :data:`NAMESPACE_ROWS`."""

    client = None  # no action is taken in a snapshot

    def page(
        self, *, namespace: str | None, status: str | None, text: str | None, skip: int, limit: int
    ) -> TaskPage:
        found = [
            t
            for t in TASKS
            if (status is None or t.status.value == status)
            and (not text or text.lower() in f"{t.task} {t.uid} {t.unique_key or ''}".lower())
        ]
        shown = found[skip : skip + limit]
        return TaskPage([t.uid for t in shown], shown, len(found), skip, limit, "-created_time,-_id")

    def namespaces(self, now: dt.datetime) -> list[dict[str, Any]]:
        return NAMESPACE_ROWS

    def counts(self, namespace: str, now: dt.datetime) -> dict[str, Any]:
        return next(row for row in NAMESPACE_ROWS if row["namespace"] == namespace)

    def running(self, namespace: str | None) -> list[dict[str, Any]]:
        rows = [running_row(t, NOW) for t in TASKS if t.status.value == "processing"]
        return group_by_worker(sorted(rows, key=lambda r: r["worker_id"]))

    def task(self, uid: str) -> TaskView:
        return next(t for t in TASKS if t.uid == uid)

    def close(self) -> None:
        pass
