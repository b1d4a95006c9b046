"""Task documents as rows of the ``tasks`` table: the schema and its migrations, the columns
copied out of each document, and the datetime forms stored (fixed-width ISO text, so that
text order is time order)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from typing import Any

from eventix_cli.core.fields import TIME_FIELDS
from eventix_cli.core.times import as_utc, format_stored_time, parse_iso_time

#: when a finished task ended: its last write (every write stamps ``updated_time``)
ENDED_AT = "json_extract(doc, '$.updated_time')"
#: the statuses of a finished task, as the index ``tasks_ended`` is restricted to them
ENDED_WHERE = "status IN ('done', 'error')"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # version 1
    (
        """
        CREATE TABLE tasks (
            uid TEXT NOT NULL UNIQUE,
            namespace TEXT,
            status TEXT,
            priority INTEGER,
            task TEXT,
            unique_key TEXT,
            worker_id TEXT,
            eta TEXT,
            worker_expires TEXT,
            expires TEXT,
            created_time TEXT,
            revision TEXT,
            doc TEXT NOT NULL
        )
        """,
        # the claim: due, unclaimed, pending tasks of a namespace in (priority, eta) order
        "CREATE INDEX tasks_claim ON tasks(namespace, priority, eta)"
        " WHERE worker_id IS NULL AND status IN ('scheduled', 'retry')",
        "CREATE INDEX tasks_namespace_status_uid ON tasks(namespace, status, uid)",
        "CREATE INDEX tasks_namespace_uid ON tasks(namespace, uid)",
        "CREATE INDEX tasks_status_uid ON tasks(status, uid)",
        "CREATE INDEX tasks_unique_key ON tasks(unique_key, namespace) WHERE unique_key IS NOT NULL",
        "CREATE INDEX tasks_task_namespace ON tasks(task, namespace)",
        "CREATE INDEX tasks_worker_expires ON tasks(worker_expires) WHERE worker_expires IS NOT NULL",
        "CREATE INDEX tasks_expires ON tasks(expires) WHERE expires IS NOT NULL",
    ),
    # version 2: a namespace's tasks newest first, of one status or all (`eventix top`'s
    # pages, sort "-created_time,-_id"), and its oldest pending task of a status (sort "eta"):
    # read in index order, stopping at the page's end
    (
        "CREATE INDEX tasks_namespace_created ON tasks(namespace, created_time, uid)",
        "CREATE INDEX tasks_namespace_status_created ON tasks(namespace, status, created_time, uid)",
        # unclaimed tasks only (the query names `worker_id IS NULL` as written here): a claim
        # takes the entry out and a write-back puts it in, where a full index would move it
        # twice (13 % more server CPU per task in `./dev bench server_cpu`)
        "CREATE INDEX tasks_namespace_status_eta ON tasks(namespace, status, eta) WHERE worker_id IS NULL",
    ),
    # version 3: finished tasks by the time they ended, for --keep-done and --keep-error (a
    # query uses it when it repeats the index's WHERE verbatim: ENDED_WHERE); the file is also
    # rebuilt with auto_vacuum = INCREMENTAL (TaskStore._incremental_vacuum_on)
    (f"CREATE INDEX tasks_ended ON tasks(status, {ENDED_AT}) WHERE {ENDED_WHERE}",),
)
SCHEMA_VERSION = len(MIGRATIONS)

COLUMNS = (
    "uid",
    "namespace",
    "status",
    "priority",
    "task",
    "unique_key",
    "worker_id",
    "eta",
    "worker_expires",
    "expires",
    "created_time",
    "revision",
    "doc",
)
INSERT_SQL = f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
CLAIM_COLUMNS = ("status", "worker_id", "worker_expires", "revision", "doc")
UPDATE_SQL = f"UPDATE tasks SET {', '.join(f'{c} = ?' for c in COLUMNS)} WHERE rowid = ?"
#: the row of a task as it is before a write: rowid, then every column but ``doc``
#: (``revision`` last), to compare with the row to write (see :func:`changed`)
ROW_SQL = f"SELECT rowid, {', '.join(COLUMNS[:-1])} FROM tasks WHERE uid = ?"
_DOC = len(COLUMNS) - 1
#: the pending task with a unique key in a namespace, which POST /task updates: read before
#: the write lock to merge and encode the document there, then again under it; when the two
#: reads differ (another write came between), the merge is done again
PENDING_BY_KEY_SQL = (
    "SELECT rowid, revision, doc FROM tasks WHERE unique_key = ? AND namespace IS ?"
    " AND status IN ('scheduled', 'retry') ORDER BY rowid LIMIT 1"
)


def changed(row: tuple[Any, ...], stored: tuple[Any, ...]) -> tuple[int, ...]:
    """The positions in ``row`` (a row to write, see :func:`to_row`) whose value differs from
    ``stored`` (the current values of every column but ``doc``), and ``doc``'s. An UPDATE
    that sets a column rewrites its index entries even when the value is the same (a page
    more in the WAL for each index), so only these are set."""
    picked = [i for i, old in enumerate(stored) if row[i] != old or type(row[i]) is not type(old)]
    picked.append(_DOC)
    return tuple(picked)


def positions(columns: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(COLUMNS.index(c) for c in columns)


@functools.lru_cache(maxsize=256)
def update_sql(picked: tuple[int, ...]) -> str:
    """``UPDATE tasks SET ...`` of the columns at ``picked`` (positions in COLUMNS)."""
    return f"UPDATE tasks SET {', '.join(f'{COLUMNS[i]} = ?' for i in picked)} WHERE rowid = ?"


def _millis(value: str) -> str:
    """``format_stored_time(parse(value))`` for a JSON time; pydantic's own ``...SS.ffffffZ``
    is cut as text."""
    if len(value) == 27 and value[19] == "." and value[26] == "Z":
        return value[:19] + "Z" if value[20:23] == "000" else value[:23] + "000Z"
    try:
        return format_stored_time(parse_iso_time(value))
    except ValueError:
        return value  # not a time: stored as given


def normalize_datetimes(doc: dict[str, Any]) -> None:
    """The time fields of ``doc`` in the form upstream stores (see :func:`format_stored_time`)."""
    for name in TIME_FIELDS:
        value = doc.get(name)
        if isinstance(value, str):
            doc[name] = _millis(value)


def sort_key(value: Any) -> str | None:
    """Fixed-width ISO text for a datetime column, so that text order is time order."""
    if value is None:
        return None
    if isinstance(value, str):
        # the two shapes stored documents hold (see format_stored_time) are converted as text
        if len(value) == 27 and value[19] == "." and value[26] == "Z":
            return value
        if len(value) == 20 and value[19] == "Z" and value[10] == "T":
            return value[:19] + ".000000Z"
        parsed = parse_iso_time(value)
    elif isinstance(value, dt.datetime):
        if value.tzinfo is dt.UTC and value.year >= 1000:  # as strftime below, without its cost
            text = value.isoformat()
            return text[:26] + "Z" if len(text) == 32 else text[:19] + ".000000Z"
        parsed = value
    else:
        return None
    return as_utc(parsed).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class StoredDoc(dict[str, Any]):
    """A task document as written, with its JSON text (answered verbatim, not re-encoded)."""

    text: str = ""


#: the stored text of a document: compact, non-ASCII as is
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def revise(doc: StoredDoc) -> None:
    """Give ``doc`` its next revision and its JSON text (``doc.text``), encoding it once.

    The revision is ``"N-md5"``: N counts writes, md5 covers the text of the document without
    ``uid`` and ``revision``. Documents start with those two (the model's order), so the text
    is that same encoding with them put in front; any other order is encoded whole.
    """
    previous = doc.get("revision") or "0-0"
    try:
        count = int(str(previous).split("-", 1)[0])
    except ValueError:
        count = 0
    rest = dict(doc)
    rest.pop("uid", None)
    rest.pop("revision", None)
    body = _ENCODE(rest)
    digest = hashlib.md5(body.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()
    revision = doc["revision"] = f"{count + 1}-{digest}"
    keys = iter(doc)
    if next(keys, None) == "uid" and next(keys, None) == "revision":
        head = f'{{"uid":{_ENCODE(doc["uid"])},"revision":{_ENCODE(revision)}'
        doc.text = head + ("}" if body == "{}" else "," + body[1:])
    else:
        doc.text = _ENCODE(doc)


def to_row(doc: StoredDoc) -> tuple[Any, ...]:
    """The row of a document :func:`revise` gave its text."""
    return (
        doc["uid"],
        doc.get("namespace"),
        doc.get("status"),
        doc.get("priority"),
        doc.get("task"),
        doc.get("unique_key"),
        doc.get("worker_id"),
        sort_key(doc.get("eta")),
        sort_key(doc.get("worker_expires")),
        sort_key(doc.get("expires")),
        sort_key(doc.get("created_time")),
        doc.get("revision"),
        doc.text,
    )
