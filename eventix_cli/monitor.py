"""What `eventix stats` and `eventix top` show: counts, waiting time, rates, latest errors.

Pure data collection over the client; no terminal code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eventix_cli.models import utcnow

if TYPE_CHECKING:
    from eventix_cli.client import EventixClient

STATUS_ORDER = ("scheduled", "processing", "retry", "error", "done")


def oldest_due(client: EventixClient, namespace: str | None, now: dt.datetime) -> float | None:
    """Seconds the oldest due, unclaimed task has waited, or None when nothing is due."""
    query: dict[str, Any] = {"status": {"$in": ["scheduled", "retry"]}, "worker_id": None}
    if namespace is not None:
        query["namespace"] = namespace
    tasks = client.by_status(filter=query, sort="eta", limit=1).tasks
    if not tasks or tasks[0].eta is None or tasks[0].eta > now:
        return None
    return (now - tasks[0].eta).total_seconds()


def namespace_counts(
    client: EventixClient, namespace: str, now: dt.datetime, pool: Executor | None = None
) -> dict[str, Any]:
    """One row: counts per status (a limit=1 query each returns max_results cheaply).

    A long-running caller passes its own ``pool`` (six threads): the client keeps a connection
    per thread, so fresh threads on every call would open fresh connections."""
    with contextlib.nullcontext(pool) if pool is not None else ThreadPoolExecutor(6) as pool:
        counts = dict(
            zip(
                STATUS_ORDER,
                pool.map(lambda s: client.count(namespace=namespace, status=s), STATUS_ORDER),
                strict=True,
            )
        )
        waiting = pool.submit(oldest_due, client, namespace, now).result()
    return {"namespace": namespace, **counts, "total": sum(counts.values()), "oldest_due_seconds": waiting}


def latest_errors(client: EventixClient, namespace: str | None, limit: int = 5) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"status": "error"}
    if namespace is not None:
        query["namespace"] = namespace
    rows = []
    for task in client.by_status(filter=query, sort="-updated_time", limit=limit).tasks:
        error = task.error
        rows.append(
            {
                "uid": task.uid,
                "namespace": task.namespace,
                "task": task.task,
                "error_class": error.error_class if error else "",
                "error_message": error.error_message if error else "",
                "updated_time": task.updated_time,
            }
        )
    return rows


@dataclass
class Snapshot:
    taken: dt.datetime
    rows: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    done_per_minute: float | None = None
    failed_per_minute: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.taken.isoformat(),
            "namespaces": self.rows,
            "done_per_minute": self.done_per_minute,
            "failed_per_minute": self.failed_per_minute,
            "latest_errors": [e | {"updated_time": e["updated_time"].isoformat()} for e in self.errors],
        }


@dataclass
class Monitor:
    """Takes snapshots; rates come from the change between the first one seen and the latest."""

    client: EventixClient
    namespace: str | None  # None: every namespace
    history: list[tuple[float, int, int]] = field(default_factory=list)  # (monotonic, done, error)

    def snapshot(self) -> Snapshot:
        now = utcnow()
        names = self.client.namespaces() if self.namespace is None else [self.namespace]
        rows = [namespace_counts(self.client, name, now) for name in names]
        errors = latest_errors(self.client, self.namespace)
        snap = Snapshot(now, rows, errors)
        done = sum(r["done"] for r in rows)
        failed = sum(r["error"] + r["retry"] for r in rows)
        mark = time.monotonic()
        self.history.append((mark, done, failed))
        self.history = [h for h in self.history if mark - h[0] <= 300] or self.history[-1:]
        first = self.history[0]
        elapsed = mark - first[0]
        if elapsed > 0:
            # counts can drop (purges, expiry): only increases are observed work
            snap.done_per_minute = max(0, done - first[1]) / elapsed * 60
            snap.failed_per_minute = max(0, failed - first[2]) / elapsed * 60
        return snap
