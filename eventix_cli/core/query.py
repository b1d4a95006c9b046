"""Which tasks a command works on: the filter options of list, retry, cancel, purge and dump.

A :class:`TaskQuery` is split into what the server can filter (namespace, status, task name,
unique key or glob, as a MongoDB query) and what the client must check itself: times, since
the API stores datetimes as dates that a JSON filter cannot compare (see the API notes).
Running a query against a server is :mod:`eventix_cli.client.selection`'s.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from eventix_cli.core.errors import UsageError
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.times import parse_iso_time, utcnow

if TYPE_CHECKING:
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
    now: dt.datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
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

    def matches_document(self, doc: dict[str, Any]) -> bool:
        """The time conditions, on a plain document's ``created_time``."""
        return not self.has_client_filter or self._created_ok(parse_iso_time(doc["created_time"]))

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


def parse_statuses(values: Sequence[str] | None) -> tuple[TaskStatus, ...]:
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
