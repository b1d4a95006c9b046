"""TaskStore: cleanup under a frozen clock, schema versioning, persistence, claim order."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventix_cli.client.browse import NEWEST_FIRST
from eventix_cli.core.task import Task, TaskStatus
from eventix_cli.core.times import format_stored_time
from eventix_cli.server.app import cleanup_loop
from eventix_cli.server.errors import RevisionConflict, StoreError
from eventix_cli.server.filters import compile_filter, compile_sort
from eventix_cli.server.rows import COLUMNS, StoredDoc, revise, to_row
from eventix_cli.server.store import SCHEMA_VERSION, TaskStore, sort_key
from eventix_cli.server.upkeep import Cleanup

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def _post(store: TaskStore, **fields) -> dict:
    fields.setdefault("task", "job")
    return store.post(Task(**fields).to_wire())


@freeze_time(T0)
def test_cleanup_releases_expired_claims_and_deletes_expired_tasks() -> None:
    store = TaskStore(":memory:")
    _post(store, uid="claimed", eta=T0 - dt.timedelta(minutes=1))
    claimed = store.claim("w1", "default", lease=300)
    assert claimed["uid"] == "claimed"
    assert claimed["worker_expires"] == "2026-05-01T12:05:00Z"
    _post(store, uid="old-done", status="done", expires=T0 + dt.timedelta(seconds=300))
    _post(store, uid="keep", status="done", expires=None)

    with freeze_time(T0 + dt.timedelta(seconds=299)):
        assert store.cleanup() == (0, 0)
    with freeze_time(T0 + dt.timedelta(seconds=301)):
        assert store.cleanup() == (1, 1)
        released = json.loads(store.get("claimed"))
        assert released["status"] == "scheduled"
        assert released["worker_id"] is None
        assert released["worker_expires"] is None
        assert store.claim("w2", "default")["uid"] == "claimed"  # runs again: at-least-once
    assert {uid for uid, _ in store.query(None)[0]} == {"claimed", "keep"}


def test_cleanup_loop_runs_every_interval() -> None:
    store = TaskStore(":memory:")
    with freeze_time(T0) as clock:
        _post(store, uid="x", eta=T0)
        store.claim("w1", "default", lease=10)
        slept: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            slept.append(seconds)
            clock.tick(seconds)
            if len(slept) == 3:
                raise asyncio.CancelledError

        with pytest.raises(asyncio.CancelledError):
            asyncio.run(cleanup_loop(Cleanup(store), 6.0, sleep=fake_sleep))
    assert slept == [6.0, 6.0, 6.0]
    assert json.loads(store.get("x"))["status"] == "scheduled"  # released at t=12 > lease 10


def test_claim_order_and_lease() -> None:
    with freeze_time(T0):
        store = TaskStore(":memory:")
        _post(store, uid="low", priority=0, eta=T0 - dt.timedelta(seconds=30))
        _post(store, uid="high-late", priority=-5, eta=T0 - dt.timedelta(seconds=10))
        _post(store, uid="high-early", priority=-5, eta=T0 - dt.timedelta(seconds=20))
        _post(store, uid="future", priority=-9, eta=T0 + dt.timedelta(seconds=1))
        _post(store, uid="other-ns", priority=-9, namespace="x", eta=T0)
        order = [store.claim("w", "default")["uid"] for _ in range(3)]
        assert order == ["high-early", "high-late", "low"]
        assert store.claim("w", "default") is None
    with freeze_time(T0 + dt.timedelta(seconds=1)):
        assert store.claim("w", "default")["uid"] == "future"


def test_revision_check_and_counting() -> None:
    store = TaskStore(":memory:")
    doc = _post(store, uid="r")
    assert doc["revision"].startswith("1-")
    stale = dict(doc)
    doc["kwargs"] = {"a": 1}
    updated = store.put("r", doc)
    assert updated["revision"].startswith("2-")
    with pytest.raises(RevisionConflict):
        store.put("r", stale)
    counted = StoredDoc({"uid": "c", "revision": "7-x", "a": 1})
    revise(counted)
    assert counted["revision"].startswith("8-")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.text(max_size=8), _JSON, max_size=6),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from(["3-abc", "x", "12"])),
)
def test_a_documents_text_is_its_whole_encoding(
    fields: dict, model_order: bool, revision: str | None
) -> None:
    # the text is put together from the parts (uid and revision in front): it must be the
    # document's own compact encoding, whatever the document holds
    first = {"uid": "u1", "revision": revision}
    doc = StoredDoc({**first, **fields} if model_order else {**fields, **first})
    before = dict(doc)
    revise(doc)
    assert doc.text == json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(doc.text) == doc
    count = int(str(revision or "0").split("-")[0]) if (revision or "0").split("-")[0].isdigit() else 0
    assert doc["revision"].startswith(f"{count + 1}-")
    # the digest covers everything but uid and revision
    same = StoredDoc({**before, "uid": "u2"})
    revise(same)
    assert same["revision"] == doc["revision"]
    other = StoredDoc({**before, "extra": 1})
    revise(other)
    assert other["revision"] != doc["revision"]


def test_restart_keeps_tasks_and_states(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    store = TaskStore(path)
    _post(store, uid="one")
    _post(store, uid="two", status="error")
    store.claim("w1", "default")
    store.close()
    again = TaskStore(path)
    assert json.loads(again.get("one"))["status"] == "processing"
    assert json.loads(again.get("two"))["status"] == "error"
    assert again.schema_version == SCHEMA_VERSION
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_schema_is_versioned_and_newer_files_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite3"
    TaskStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"tasks_claim", "tasks_namespace_status_uid", "tasks_unique_key"} <= indexes
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this eventix-cli"):
        TaskStore(path)


def test_claim_uses_the_claim_index(tmp_path: Path) -> None:
    store = TaskStore(":memory:")
    plan = store.db.execute(
        "EXPLAIN QUERY PLAN SELECT rowid FROM tasks WHERE namespace = ? AND worker_id IS NULL"
        " AND status IN ('scheduled', 'retry') AND eta <= ? ORDER BY priority, eta, rowid LIMIT 1",
        ("default", "x"),
    ).fetchall()
    text = " ".join(str(r) for r in plan)
    assert "tasks_claim" in text
    assert "TEMP B-TREE" not in text  # no sort: the index gives the order


def test_sort_key_is_fixed_width_utc() -> None:
    assert sort_key("2026-01-01T12:00:00Z") == "2026-01-01T12:00:00.000000Z"
    assert sort_key("2026-01-01T13:00:00.5+01:00") == "2026-01-01T12:00:00.500000Z"
    assert sort_key(None) is None


_TIMES = st.one_of(
    st.none(),
    st.datetimes(
        min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC)
    ).map(lambda t: t.isoformat()),
)
_CHANGE = st.fixed_dictionaries(
    {},
    optional={
        "namespace": st.sampled_from(["a", "b"]),
        "status": st.sampled_from([s.value for s in TaskStatus]),
        "priority": st.integers(-3, 3),
        "task": st.sampled_from(["t1", "t2"]),
        "unique_key": st.one_of(st.none(), st.sampled_from(["k1", "k2"])),
        "worker_id": st.one_of(st.none(), st.sampled_from(["w1", "w2"])),
        "eta": _TIMES,
        "worker_expires": _TIMES,
        "expires": _TIMES,
        "created_time": _TIMES.filter(lambda t: t is not None),
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.just("claim"), _CHANGE), min_size=1, max_size=6))
def test_the_columns_always_mirror_the_document(steps: list) -> None:
    # a write sets only the columns that change: whatever the changes, every column still
    # holds what the stored document says (the listings, the claim and the cleanup query them)
    store = TaskStore(":memory:")
    try:
        doc = _post(store, uid="u", namespace="a", eta=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        for step in steps:
            if step == "claim":
                store.claim("w", doc["namespace"])
            else:
                store.put("u", {**doc, **step})
            doc = json.loads(store.get("u"))
            stored = store.db.execute(f"SELECT {', '.join(COLUMNS)} FROM tasks WHERE uid = 'u'").fetchone()
            expected = StoredDoc(doc)
            expected.text = store.get("u")
            assert stored == to_row(expected)
    finally:
        store.close()


@pytest.mark.parametrize(
    ("query", "index"),
    [
        ({"namespace": "n"}, "tasks_namespace_created"),
        ({"namespace": "n", "status": "done"}, "tasks_namespace_status_created"),
    ],
)
def test_newest_first_pages_use_an_index(query: dict, index: str) -> None:
    """`eventix top`'s pages (newest first, of a namespace, of one status or all) read the
    index in order and stop at the page's end, whatever the number of tasks."""
    _assert_ordered_by(index, query, NEWEST_FIRST)


def test_the_oldest_pending_task_is_found_in_an_index() -> None:
    """The oldest due task of a namespace (`top`, `stats`, the exporter) is the first entry of
    an index range, one query per pending status, however many tasks wait."""
    _assert_ordered_by(
        "tasks_namespace_status_eta", {"namespace": "n", "status": "retry", "worker_id": None}, "eta"
    )


def test_a_count_page_is_found_in_an_index() -> None:
    """`EventixClient.count` asks for one task in uid order: the first entry of an index range."""
    _assert_ordered_by("tasks_namespace_status_uid", {"namespace": "n", "status": "done"}, "_id")


def _assert_ordered_by(index: str, query: dict, sort: str) -> None:
    store = TaskStore(":memory:")
    where, params = compile_filter(query)
    plan = store.db.execute(
        f"EXPLAIN QUERY PLAN SELECT uid, doc FROM tasks WHERE {where} ORDER BY {compile_sort(sort)} LIMIT 50",
        params,
    ).fetchall()
    text = " ".join(str(r) for r in plan)
    assert index in text
    assert "TEMP B-TREE" not in text  # no sort: the index gives the order
    store.close()


def test_concurrent_posts_of_one_unique_key_merge_every_one(tmp_path: Path) -> None:
    """Each post of a unique key is merged into the one pending task, none lost when posts
    race (each is merged before the write lock, and merged again under it when the task
    changed in between): the revision counts every post, the smallest priority and the
    earliest eta win."""
    import threading

    store = TaskStore(tmp_path / "race.sqlite3")
    threads, posts = 6, 25
    try:

        def poster(n: int) -> None:
            for i in range(posts):
                _post(
                    store,
                    namespace="race",
                    unique_key="k",
                    priority=(n * posts + i) % 17,
                    eta=T0 + dt.timedelta(minutes=(n * 7 + i) % 50),
                    kwargs={"pad": "x" * 200_000 if i % 5 == 0 else "", "n": n, "i": i},
                )

        running = [threading.Thread(target=poster, args=(n,)) for n in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join(120)
        rows, _total = store.query({"namespace": "race"})
        assert len(rows) == 1, [uid for uid, _doc in rows]
        task = json.loads(rows[0][1])
        assert int(task["revision"].split("-")[0]) == threads * posts
        assert task["priority"] == 0
        assert task["eta"] == format_stored_time(T0)
    finally:
        store.close()
