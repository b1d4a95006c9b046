"""The MongoDB filter subset of the embedded server, run against a real SQLite store."""

from __future__ import annotations

import pytest

from eventix_cli.core.task import Task
from eventix_cli.server.errors import UnsupportedFilter
from eventix_cli.server.store import TaskStore


@pytest.fixture(scope="module")
def store() -> TaskStore:
    s = TaskStore(":memory:")
    docs = [
        Task(
            uid="a",
            task="send",
            priority=-5,
            unique_key="report:1",
            args=[1, 2],
            kwargs={"to": "x@y", "n": 3},
        ),
        Task(uid="b", task="send", priority=0, status="error", kwargs={"to": "z@y", "n": 10}, retry=False),
        Task(uid="c", task="Sync", priority=2, unique_key="report:2", kwargs={"n": "3"}, max_retries=3),
        Task(uid="d", task="sync", priority=7, status="done", worker_id="w1", result={"ok": True}),
    ]
    for doc in docs:
        s.post(doc.to_wire())
    extra = Task(uid="e", task="other", namespace="ns2").to_wire() | {"labels": ["x", "y"], "flag": None}
    s.post(extra)
    return s


def uids(store: TaskStore, query) -> list[str]:
    rows, total = store.query(query, sort="_id")
    assert total == len(rows)
    return [uid for uid, _ in rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["a", "b", "c", "d", "e"]),
        ({"task": "send"}, ["a", "b"]),
        ({"_id": "c"}, ["c"]),
        ({"_id": {"$gt": "b"}}, ["c", "d", "e"]),
        ({"status": {"$in": ["error", "done"]}}, ["b", "d"]),
        ({"status": {"$nin": ["error", "done"]}}, ["a", "c", "e"]),
        ({"status": {"$ne": "scheduled"}}, ["b", "d"]),
        ({"priority": {"$gte": 0, "$lt": 7}}, ["b", "c", "e"]),
        ({"priority": {"$lte": -5}}, ["a"]),
        ({"priority": {"$gt": "a"}}, []),  # no comparison across types
        ({"task": {"$gt": 5}}, []),
        ({"task": {"$regex": "^s"}}, ["a", "b", "d"]),
        ({"task": {"$regex": "^s", "$options": "i"}}, ["a", "b", "c", "d"]),
        ({"unique_key": {"$regex": "report:"}}, ["a", "c"]),
        ({"unique_key": None}, ["b", "d", "e"]),
        ({"unique_key": {"$ne": None}}, ["a", "c"]),
        ({"kwargs.n": 3}, ["a"]),  # a number does not equal the string "3"
        ({"kwargs.n": "3"}, ["c"]),
        ({"kwargs.n": {"$gt": 4}}, ["b"]),
        ({"kwargs.to": {"$exists": True}}, ["a", "b"]),
        ({"kwargs.to": {"$exists": False}}, ["c", "d", "e"]),
        ({"flag": {"$exists": True}}, ["e"]),  # a stored null exists
        ({"flag": None}, ["a", "b", "c", "d", "e"]),  # null or missing
        ({"args": 2}, ["a"]),  # a scalar matches an array element
        ({"args": [1, 2]}, ["a"]),
        ({"labels": {"$in": ["y"]}}, ["e"]),
        ({"retry": False}, ["b"]),
        ({"retry": True}, ["a", "c", "d", "e"]),
        ({"result": {"ok": True}}, ["d"]),
        ({"max_retries": {"$gte": 3}}, ["c"]),
        ({"eta": {"$lt": "2999-01-01T00:00:00Z"}}, []),  # JSON never orders against a date
        ({"eta": {"$ne": "2026-01-01T00:00:00Z"}}, ["a", "b", "c", "d", "e"]),
        ({"worker_expires": None}, ["a", "b", "c", "d", "e"]),
        ({"$or": [{"task": "Sync"}, {"priority": 7}]}, ["c", "d"]),
        ({"$and": [{"task": {"$regex": "^s"}}, {"priority": {"$gt": 0}}]}, ["d"]),
        ({"$nor": [{"task": "send"}, {"namespace": "ns2"}]}, ["c", "d"]),
        ({"priority": {"$not": {"$gt": 0}}}, ["a", "b", "e"]),
        ({"namespace": "default", "status": "scheduled"}, ["a", "c"]),
    ],
)
def test_filter_semantics(store: TaskStore, query, expected) -> None:
    assert uids(store, query) == expected


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ({"task": {"$where": "1"}}, "$where"),
        ({"$text": {"$search": "x"}}, "$text"),
        ({"task": {"$elemMatch": {"a": 1}}}, "$elemMatch"),
        ({"task": {"$regex": "("}}, "invalid $regex"),
        ({"task": {"$regex": "a", "$options": "q"}}, "$options"),
        ({"task": {"$in": "send"}}, "needs a list"),
        ({"bad field!": 1}, "field name"),
        ({"$or": []}, "non-empty list"),
        ({"task": {"$gt": [1]}}, "needs a number or a string"),
    ],
)
def test_unsupported_is_an_error_naming_it(store: TaskStore, query, needle: str) -> None:
    with pytest.raises(UnsupportedFilter) as info:
        store.query(query)
    assert needle in info.value.message
    assert info.value.status_code == 422


def test_sorts_on_any_field_list(store: TaskStore) -> None:
    rows, _ = store.query({"namespace": "default"}, sort="-priority")
    assert [u for u, _ in rows] == ["d", "c", "b", "a"]
    rows, _ = store.query(None, sort="task,-_id")
    assert [u for u, _ in rows] == ["c", "e", "b", "a", "d"]  # binary order, as MongoDB
    rows, _ = store.query(None, sort="kwargs.n")
    assert [u for u, _ in rows][:2] == ["d", "e"]  # missing (null) first, as in MongoDB
    with pytest.raises(UnsupportedFilter):
        store.query(None, sort="bad field")


def test_paging_and_count(store: TaskStore) -> None:
    rows, total = store.query(None, sort="_id", skip=1, limit=2)
    assert [u for u, _ in rows] == ["b", "c"]
    assert total == 5
    rows, total = store.query({"task": "send"}, limit=0)  # 0 means no limit, as upstream
    assert total == len(rows) == 2
