"""What is being processed right now, grouped by worker: the data of ``eventix task running``
and of the running view of ``eventix top``. No terminal code.

The API has no worker registry: a worker is only visible through the tasks it holds, so
idle workers cannot be listed. A lease that has run out means the worker stopped renewing
it (it probably died); the server's cleanup puts such a task back in the queue.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from eventix_cli.core.times import format_duration, format_wire_time, utcnow

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.view import TaskView

#: the claim lease of the API; RUNNING counts from the claim, or from the last renewal
LEASE = dt.timedelta(seconds=300)


def running_row(task: TaskView, now: dt.datetime) -> dict[str, Any]:
    expires = task.worker_expires
    since = None if expires is None else (now - (expires - LEASE)).total_seconds()
    left = None if expires is None else (expires - now).total_seconds()
    if left is None:
        lease = ""
    elif left >= 0:
        lease = f"in {format_duration(left)}"
    else:
        lease = f"EXPIRED {format_duration(-left)} ago"
    return {
        "worker_id": task.worker_id or "(none)",
        "uid": task.uid,
        "namespace": task.namespace,
        "task": task.task,
        "running_seconds": None if since is None else round(max(since, 0.0), 1),
        "running": "" if since is None else format_duration(max(since, 0.0)),
        "worker_expires": format_wire_time(expires) if expires else None,
        "lease": lease,
        "lease_expired": left is not None and left < 0,
    }


def group_by_worker(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["worker_id"], []).append(row)
    return [
        {
            "worker_id": worker,
            "tasks": tasks,
            "expired": sum(1 for t in tasks if t["lease_expired"]),
        }
        for worker, tasks in sorted(groups.items())
    ]


def running_rows(client: EventixClient, namespace: str | None) -> list[dict[str, Any]]:
    """One row per processing task (of ``namespace``, or of every namespace when None),
    by worker, the longest running first."""
    query: dict[str, Any] = {"status": "processing"}
    if namespace is not None:
        query["namespace"] = namespace
    tasks = list(client.iter_tasks(filter=query))
    now = utcnow()
    return sorted(
        (running_row(t, now) for t in tasks), key=lambda r: (r["worker_id"], -(r["running_seconds"] or 0))
    )


def running_by_worker(client: EventixClient, namespace: str | None) -> list[dict[str, Any]]:
    """The processing tasks grouped by worker: ``[{"worker_id", "tasks": [row, ...],
    "expired": n}, ...]``, each row flagged ``lease_expired`` when its lease ran out."""
    return group_by_worker(running_rows(client, namespace))
