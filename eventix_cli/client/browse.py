"""The data of the interactive ``eventix top``: pages of tasks (newest first, filtered by
status and by a text matched on the server), a row of counts and rates per namespace, and
the running tasks by worker. No terminal code; every call sends a number of requests that
does not grow with the queue.

Newest first means by ``created_time`` descending, then uid descending. ``created_time`` is
set once when a task is stored and never written again on either server, so a task keeps
its place while workers claim, retry and finish it (``updated_time`` and ``eta`` change on
every attempt, and uids are random). The uid breaks ties between tasks stored in the same
millisecond (both servers keep milliseconds), so that pages never overlap.
"""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from eventix_cli.client.monitor import RATE_WINDOW, STATUS_ORDER, finished_in_window, namespace_counts
from eventix_cli.client.running import running_by_worker
from eventix_cli.core.errors import UsageError

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient, TaskPage

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_TEXT_LENGTH",
    "NEWEST_FIRST",
    "SEARCHED_FIELDS",
    "literal_pattern",
    "namespace_rows",
    "running_by_worker",
    "task_page",
    "text_filter",
]

#: the sort of a task page: newest first (see the module's docstring)
NEWEST_FIRST = "-created_time,-_id"
#: the fields the filter text is looked for in (``_id`` is the uid)
SEARCHED_FIELDS = ("task", "unique_key", "_id", "result.error_message", "result.error_class")
#: the most tasks one page may ask for
MAX_PAGE_SIZE = 500
#: the longest filter text; escaped, it stays within every server's pattern limit
MAX_TEXT_LENGTH = 256


def literal_pattern(text: str) -> str:
    """``text`` as a regular expression that matches exactly it, in every engine the servers
    use (RE2, PCRE, Python's re): every metacharacter escaped, and NUL written ``\\x00``
    (MongoDB refuses a pattern holding a NUL character)."""
    return re.escape(text).replace("\x00", "\\x00")


def text_filter(text: str | None) -> dict[str, Any] | None:
    """The server filter for ``text`` typed in the filter box: found, case-insensitively and as
    it is written (never as a pattern), in any of :data:`SEARCHED_FIELDS`. Surrounding blanks
    are dropped; an empty text filters nothing (None)."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) > MAX_TEXT_LENGTH:
        raise UsageError(f"the filter text is {len(text)} characters long; at most {MAX_TEXT_LENGTH}")
    pattern = literal_pattern(text)
    return {"$or": [{name: {"$regex": pattern, "$options": "i"}} for name in SEARCHED_FIELDS]}


def task_page(
    client: EventixClient,
    *,
    namespace: str | None,
    status: str | None,
    text: str | None,
    skip: int,
    limit: int,
) -> TaskPage:
    """One page of tasks, newest first: of ``namespace`` (None: every namespace), in ``status``
    (None: any), matching ``text`` (see :func:`text_filter`). One request; ``max_results`` of
    the page is the number of every match, not only of those on the page."""
    if status is not None and status not in STATUS_ORDER:
        raise UsageError(f"unknown status {status!r}; one of {', '.join(STATUS_ORDER)}")
    if skip < 0:
        raise UsageError(f"skip must be 0 or more, not {skip}")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise UsageError(f"a page holds 1 to {MAX_PAGE_SIZE} tasks, not {limit}")
    return client.by_status(
        namespace=namespace,
        status=status,
        filter=text_filter(text),
        sort=NEWEST_FIRST,
        skip=skip,
        limit=limit,
    )


def namespace_rows(client: EventixClient, now: dt.datetime, pool: Executor) -> list[dict[str, Any]]:
    """One row per namespace, in name order: ``namespace``, the count of each status, ``total``,
    ``oldest_due_seconds`` (None when nothing is due), ``done_last_minute`` and
    ``failed_last_minute`` (at most :data:`~eventix_cli.client.monitor.RATE_CAP` each).

    ``pool`` is the caller's own (six threads or more), kept for the life of the view: the
    client keeps a connection per thread."""
    since = now - RATE_WINDOW
    rows = []
    for name in client.namespaces():
        done = pool.submit(finished_in_window, client, name, ("done",), since)
        failed = pool.submit(finished_in_window, client, name, ("error", "retry"), since)
        row = namespace_counts(client, name, now, pool)
        rows.append(row | {"done_last_minute": done.result(), "failed_last_minute": failed.result()})
    return rows
