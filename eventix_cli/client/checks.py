"""What ``eventix check`` measures: each rule read from the server in one request per
namespace, whatever the queue size.

Counts come from ``max_results`` of a one-task page; the rules over a time window read the
newest tasks of one bounded page and compare their times here (the API cannot filter times,
see :func:`~eventix_cli.client.monitor.finished_in_window`). A page holds just enough tasks to
decide the rule: one more than the limit of a ``max`` rule, the limit of a ``min`` rule, so a
value at that bound is "at least" that many (``exact`` false).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eventix_cli.client.monitor import finished_in_window, oldest_due
from eventix_cli.core.thresholds import Limit, State

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient

#: The most tasks a rule reads to decide (its page); limits above it are refused.
MOST_READ = 10_000

#: The statuses a task has after an attempt that failed (finally, or to be retried).
FAILED = ("error", "retry")
QUEUED = ("scheduled", "retry")


@dataclass(frozen=True, slots=True)
class Measured:
    """One rule in one namespace: the value read, whether it is exact (else "at least"), and
    the state it puts the rule in."""

    namespace: str
    rule: str
    limit: Limit
    value: float
    exact: bool = True

    @property
    def state(self) -> State:
        return self.limit.state(self.value)


def page_size(limit: Limit) -> int:
    """How many tasks decide the rule: past the highest limit of a max rule, up to a min rule's."""
    highest = max(limit.critical, limit.warning or 0)
    return max(1, int(highest) + 1 if limit.kind == "max" else int(highest))


def measure(client: EventixClient, rule: str, namespace: str, limit: Limit, now: dt.datetime) -> Measured:
    """Read ``rule`` for ``namespace`` in one request."""
    if rule == "oldest-due":
        return Measured(namespace, rule, limit, oldest_due(client, namespace, now) or 0.0)
    if rule == "queued":
        count = client.count(filter={"namespace": namespace, "status": {"$in": list(QUEUED)}})
        return Measured(namespace, rule, limit, count)
    size = page_size(limit)
    if rule in ("errors", "done"):
        since = now - limit.window  # type: ignore[operator]
        statuses = FAILED if rule == "errors" else ("done",)
        count = finished_in_window(client, namespace, statuses, since, size)
        return Measured(namespace, rule, limit, count, exact=count < size)
    if rule == "processing-expired":
        count = _expired_leases(client, namespace, now, size)
        return Measured(namespace, rule, limit, count, exact=count < size)
    raise ValueError(f"unknown rule {rule!r}")


def _expired_leases(client: EventixClient, namespace: str, now: dt.datetime, size: int) -> int:
    """Processing tasks whose lease (``worker_expires``) has passed: their worker is gone or
    stuck. The earliest leases come first, so the first ``size`` decide."""
    query: dict[str, Any] = {"namespace": namespace, "status": "processing", "worker_expires": {"$ne": None}}
    page = client.by_status(filter=query, sort="worker_expires", limit=size)
    return sum(1 for task in page.tasks if task.worker_expires is not None and task.worker_expires < now)


#: requests in flight at once (the rules of a namespace are independent reads)
CONCURRENCY = 6


def run_checks(
    client: EventixClient, namespaces: Sequence[str], rules: Mapping[str, Limit], now: dt.datetime
) -> list[Measured]:
    """Every rule for every namespace, in that order: ``len(namespaces) * len(rules)`` requests,
    sent concurrently as ``stats`` sends its counts (the slowest rule sets the time)."""
    jobs = [(rule, name, limit) for name in namespaces for rule, limit in rules.items()]
    with ThreadPoolExecutor(max(1, min(CONCURRENCY, len(jobs)))) as pool:
        return list(pool.map(lambda job: measure(client, job[0], job[1], job[2], now), jobs))
