"""The count of a listing's matches is counted again only when the database changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eventix_cli.core.task import Task
from eventix_cli.server.counts import CountCache
from eventix_cli.server.store import TaskStore


def _db(tmp_path: Path) -> sqlite3.Connection:
    path = tmp_path / "c.sqlite3"
    TaskStore(path).close()  # the schema
    db = sqlite3.connect(path, isolation_level=None)
    return db


def _counts_run(db: sqlite3.Connection, cache: CountCache, where: str, params: list) -> tuple[int, int]:
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    try:
        total = cache.count(db, where, params)
    finally:
        db.set_trace_callback(None)
    return total, sum("COUNT(*)" in s for s in statements)


def test_an_unchanged_database_is_not_counted_again(tmp_path: Path) -> None:
    reader = _db(tmp_path)
    cache = CountCache()
    assert _counts_run(reader, cache, "namespace = ?", ["n"]) == (0, 1)
    assert _counts_run(reader, cache, "namespace = ?", ["n"]) == (0, 0)
    assert _counts_run(reader, cache, "namespace = ?", ["m"]) == (0, 1)  # other parameters: counted


def test_a_write_by_another_connection_or_process_is_counted(tmp_path: Path) -> None:
    reader = _db(tmp_path)
    cache = CountCache()
    assert cache.count(reader, "namespace = ?", ["n"]) == 0
    store = TaskStore(tmp_path / "c.sqlite3")  # another connection, as another process would be
    store.post(Task(task="x", namespace="n").to_wire())
    assert _counts_run(reader, cache, "namespace = ?", ["n"]) == (1, 1)
    assert _counts_run(reader, cache, "namespace = ?", ["n"]) == (1, 0)
    store.close()


def test_the_cache_keeps_a_bounded_number_of_counts(tmp_path: Path) -> None:
    reader = _db(tmp_path)
    cache = CountCache(size=2)
    for name in ("a", "b", "c"):
        cache.count(reader, "namespace = ?", [name])
    assert _counts_run(reader, cache, "namespace = ?", ["c"])[1] == 0
    assert _counts_run(reader, cache, "namespace = ?", ["a"])[1] == 1  # the oldest was dropped


def test_store_listing_counts_follow_writes(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "s.sqlite3")
    query = {"namespace": "n", "status": "scheduled"}
    assert store.query(query, limit=1)[1] == 0
    posted = store.post(Task(task="x", namespace="n").to_wire())
    assert store.query(query, limit=1)[1] == 1
    store.post(Task(task="x", namespace="n").to_wire())
    assert store.query(query, limit=1)[1] == 2
    store.delete(posted["uid"])
    assert store.query(query, limit=1)[1] == 1
    store.close()


def test_a_checkpoint_with_nothing_to_copy_keeps_the_counts(tmp_path: Path) -> None:
    """The checkpoint runs every 10 s; truncating an empty log would count as a change of the
    database (data_version) and throw every kept count away, on a queue where nothing changed."""
    store = TaskStore(tmp_path / "s.sqlite3")
    store.post(Task(task="x", namespace="n").to_wire())
    reader = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)

    def version() -> int:
        return reader.execute("PRAGMA data_version").fetchone()[0]

    store.checkpoint()  # copies and truncates the post's frames
    before = version()
    store.checkpoint()
    store.checkpoint()
    assert version() == before
    store.post(Task(task="x", namespace="n").to_wire())
    assert version() != before  # a real change is still seen
    assert (tmp_path / "s.sqlite3-wal").stat().st_size > 0
    store.checkpoint()
    assert (tmp_path / "s.sqlite3-wal").stat().st_size == 0  # a log with frames is still truncated
    store.close()
