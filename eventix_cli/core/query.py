"""Which tasks a command works on: the filter options of list, retry, cancel, purge and dump.

A :class:`TaskQuery` is split into what the server can filter (namespace, status, task name,
unique key or glob, as a MongoDB query) and what the client must check itself: times, since
the API stores datetimes as dates that a JSON filter cannot compare (see the API notes).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from eventix_cli.core.statuses import TaskStatus

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.view import TaskView

GLOB_CHARS = frozenset("*?[")


def glob_to_regex(pattern: str) -> str:
    """An anchored regular expression for a shell-style glob (``report:*``, ``job-?``)."""
    out = ["^"]
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    out.append("$")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """A selection of tasks; ``namespace=None`` means every namespace."""

    namespace: str | None = "default"
    statuses: tuple[TaskStatus, ...] = ()
    task: str | None = None
    unique_key: str | None = None
    older_than: dt.timedelta | None = None
    newer_than: dt.timedelta | None = None
    exclude_statuses: tuple[TaskStatus, ...] = ()
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        from eventix_cli.core.errors import UsageError

        for name, flag in (("namespace", "--namespace"), ("task", "--task"), ("unique_key", "--unique-key")):
            value = getattr(self, name)
            if value == "":
                raise UsageError(
                    f"{flag} must not be empty: leave the option out to match every {name.replace('_', ' ')}"
                )

    @property
    def is_empty(self) -> bool:
        """No filter beyond the namespace."""
        return not (self.statuses or self.task or self.unique_key or self.older_than or self.newer_than)

    @property
    def has_client_filter(self) -> bool:
        return self.older_than is not None or self.newer_than is not None

    def with_statuses(self, *statuses: TaskStatus) -> TaskQuery:
        return replace(self, statuses=tuple(statuses))

    def server_filter(self) -> dict[str, Any]:
        """The MongoDB query the server runs (namespace included when set)."""
        query: dict[str, Any] = {}
        if self.namespace is not None:
            query["namespace"] = self.namespace
        statuses = [s for s in self.statuses if s not in self.exclude_statuses]
        if self.statuses:
            query["status"] = (
                statuses[0].value if len(statuses) == 1 else {"$in": [s.value for s in statuses]}
            )
        elif self.exclude_statuses:
            excluded = [s.value for s in self.exclude_statuses]
            query["status"] = {"$ne": excluded[0]} if len(excluded) == 1 else {"$nin": excluded}
        if self.task is not None:
            query["task"] = self.task
        if self.unique_key is not None:
            if GLOB_CHARS & set(self.unique_key):
                query["unique_key"] = {"$regex": glob_to_regex(self.unique_key)}
            else:
                query["unique_key"] = self.unique_key
        return query

    def matches_client_side(self, task: TaskView) -> bool:
        """The time conditions, on ``created_time``."""
        return self._created_ok(task.created_time)

    def _created_ok(self, created: dt.datetime) -> bool:
        age = self.now - created
        if self.older_than is not None and age < self.older_than:
            return False
        return not (self.newer_than is not None and age > self.newer_than)

    def describe(self) -> dict[str, Any]:
        """What the query sends and checks, for dry runs and confirmations."""
        out: dict[str, Any] = {"filter": self.server_filter()}
        if self.older_than is not None:
            out["created_before"] = (self.now - self.older_than).isoformat()
        if self.newer_than is not None:
            out["created_after"] = (self.now - self.newer_than).isoformat()
        return out

    # -- running it -------------------------------------------------------------------------

    def iter_all(self, client: EventixClient, page_size: int = 500) -> Iterator[TaskView]:
        """Every match, streamed in uid order with keyset paging (constant memory)."""
        for task in client.iter_tasks(filter=self.server_filter(), page_size=page_size):
            if self.matches_client_side(task):
                yield task

    def iter_documents(self, client: EventixClient, page_size: int = 500) -> Iterator[dict[str, Any]]:
        """Every match as a plain document (no model validation), streamed in uid order."""
        for doc in client.iter_documents(filter=self.server_filter(), page_size=page_size):
            if not self.has_client_filter or self._created_ok(_parse_time(doc["created_time"])):
                yield doc

    def first(self, client: EventixClient, limit: int, sort: str | None) -> tuple[list[TaskView], int | None]:
        """Up to ``limit`` matches in ``sort`` order, and the total when it is known exactly."""
        query = self.server_filter()
        if not self.has_client_filter:
            page = client.by_status(filter=query, sort=sort, limit=limit)
            return page.tasks, page.max_results
        found: list[TaskView] = []
        skip = 0
        page_size = max(limit, 200)
        while len(found) < limit:
            page = client.by_status(filter=query, sort=sort, limit=page_size, skip=skip or None)
            found.extend(t for t in page.tasks if self.matches_client_side(t))
            skip += page_size
            if skip >= page.max_results or not page.tasks:
                break
        return found[:limit], None

    def count(self, client: EventixClient) -> int:
        if not self.has_client_filter:
            return client.count(filter=self.server_filter())
        return sum(1 for _ in self.iter_all(client))


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_statuses(values: Sequence[str] | None) -> tuple[TaskStatus, ...]:
    from eventix_cli.core.errors import UsageError

    out: list[TaskStatus] = []
    for value in values or ():
        for part in value.split(","):
            name = part.strip().lower()
            if not name:
                continue
            try:
                status = TaskStatus(name)
            except ValueError:
                choices = ", ".join(s.value for s in TaskStatus)
                raise UsageError(f"unknown status {part.strip()!r}: use one of {choices}") from None
            if status not in out:
                out.append(status)
    if values and not out:
        choices = ", ".join(s.value for s in TaskStatus)
        raise UsageError(f"--status needs at least one status: {choices}")
    return tuple(out)
