"""What `eventix stats` and `eventix top` show: counts, waiting time, rates, latest errors.

Pure data collection over the client; no terminal code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventix_cli.core.times import utcnow

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient

STATUS_ORDER = ("scheduled", "processing", "retry", "error", "done")
#: the statuses of a task waiting for a worker
PENDING = ("scheduled", "retry")


def oldest_due(client: EventixClient, namespace: str | None, now: dt.datetime) -> float | None:
    """Seconds the oldest due, unclaimed task has waited, or None when nothing is due.

    One query per pending status: each is the first entry of an index range on the embedded
    server (namespace, status, eta), where one query over both statuses sorts them all."""
    etas = []
    for status in PENDING:
        query: dict[str, Any] = {"status": status, "worker_id": None}
        if namespace is not None:
            query["namespace"] = namespace
        etas += [task.eta for task in client.by_status(filter=query, sort="eta", limit=1).tasks if task.eta]
    if not etas or min(etas) > now:
        return None
    return (now - min(etas)).total_seconds()


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
    done_per_minute: int | None = None  # finished in the last minute (at most RATE_CAP)
    failed_per_minute: int | None = None  # failed an attempt in the last minute

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.taken.isoformat(),
            "namespaces": self.rows,
            "done_per_minute": self.done_per_minute,
            "failed_per_minute": self.failed_per_minute,
            "rate_cap": RATE_CAP,
            "latest_errors": [e | {"updated_time": e["updated_time"].isoformat()} for e in self.errors],
        }


RATE_WINDOW = dt.timedelta(minutes=1)
RATE_CAP = 500  # tasks read per status group and snapshot; a busier minute shows as ">= 500"


def finished_in_window(
    client: EventixClient,
    namespace: str | None,
    statuses: tuple[str, ...],
    since: dt.datetime,
    cap: int = RATE_CAP,
) -> int:
    """How many tasks reached one of ``statuses`` since ``since``, from their ``updated_time``
    (a finished task is not written again). The API cannot compare times in a filter, so the
    newest ``cap`` are read in one request and counted here: ``cap`` means "at least"."""
    query: dict[str, Any] = {"status": {"$in": list(statuses)}}
    if namespace is not None:
        query["namespace"] = namespace
    page = client.by_status(filter=query, sort="-updated_time", limit=cap)
    return sum(1 for task in page.tasks if task.updated_time >= since)


@dataclass
class Monitor:
    """Takes snapshots. The rates are what the server shows for the last minute, so one
    snapshot (``top --once``) has them as well as a live view."""

    client: EventixClient
    namespace: str | None  # None: every namespace

    def snapshot(self) -> Snapshot:
        now = utcnow()
        names = self.client.namespaces() if self.namespace is None else [self.namespace]
        rows = [namespace_counts(self.client, name, now) for name in names]
        errors = latest_errors(self.client, self.namespace)
        since = now - RATE_WINDOW
        with ThreadPoolExecutor(2) as pool:
            done = pool.submit(finished_in_window, self.client, self.namespace, ("done",), since)
            failed = pool.submit(finished_in_window, self.client, self.namespace, ("error", "retry"), since)
            return Snapshot(now, rows, errors, done.result(), failed.result())
