"""The cleanup's retention (a frozen clock), the space deleted tasks give back, the schema
migration of a file written by the previous release, and the durability setting."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from freezegun import freeze_time

from eventix_cli.core.task import Task
from eventix_cli.server import store as store_module
from eventix_cli.server.app import cleanup_loop
from eventix_cli.server.store import SCHEMA_VERSION, TaskStore
from eventix_cli.server.upkeep import Cleanup, Retention
from tests.support.servers import running_server

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
SCHEMA_V1 = Path(__file__).parent / "data" / "schema-v1.sqlite3"


def _post_at(store: TaskStore, when: dt.datetime, uid: str, status: str, **fields) -> None:
    """A task whose last write (its end, for a finished one) was at ``when``."""
    with freeze_time(when):
        store.post(Task(uid=uid, task="job", status=status, **fields).to_wire())


def _uids(store: TaskStore) -> set[str]:
    return {uid for uid, _ in store.query(None)[0]}


def test_retention_deletes_only_finished_tasks_that_ended_long_enough_ago() -> None:
    store = TaskStore(":memory:")
    week, month = dt.timedelta(days=7), dt.timedelta(days=30)
    _post_at(store, T0 - week - dt.timedelta(seconds=1), "done-old", "done")
    _post_at(store, T0 - week, "done-just-kept", "done")  # exactly that long ago: kept
    _post_at(store, T0 - dt.timedelta(days=1), "done-new", "done")
    _post_at(store, T0 - month - dt.timedelta(seconds=1), "error-old", "error")
    _post_at(store, T0 - week - dt.timedelta(days=1), "error-new", "error")
    _post_at(store, T0 - month * 2, "scheduled-old", "scheduled")
    _post_at(store, T0 - month * 2, "retry-old", "retry")
    _post_at(store, T0 - month * 2, "processing-old", "processing", worker_id="w")
    everything = _uids(store)

    Cleanup(store).run(now=T0)  # the default keeps every finished task
    assert _uids(store) == everything

    cleanup = Cleanup(store, Retention(keep_done=week, keep_error=month))
    with freeze_time(T0):
        cleanup.run(now=T0)
    assert _uids(store) == everything - {"done-old", "error-old"}
    assert cleanup.figures.retention_deleted == 2
    assert cleanup.figures.runs == 1

    only_done = Cleanup(store, Retention(keep_done=dt.timedelta(hours=1)))
    only_done.run(now=T0)
    assert _uids(store) == everything - {"done-old", "error-old", "done-just-kept", "done-new"}


def test_a_tasks_own_expires_still_applies_when_retention_keeps_it() -> None:
    store = TaskStore(":memory:")
    _post_at(store, T0 - dt.timedelta(hours=2), "expired", "done", expires=T0 - dt.timedelta(hours=1))
    _post_at(store, T0 - dt.timedelta(hours=2), "kept", "done")
    cleanup = Cleanup(store, Retention(keep_done=dt.timedelta(days=7)))
    cleanup.run(now=T0)
    assert _uids(store) == {"kept"}
    assert (cleanup.figures.expired_deleted, cleanup.figures.retention_deleted) == (1, 0)


def test_retention_deletes_in_short_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A claim waits for one batch at most, never for the whole deletion."""
    monkeypatch.setattr(store_module, "DELETE_BATCH", 7)
    store = TaskStore(":memory:")
    for i in range(50):
        _post_at(store, T0 - dt.timedelta(days=2), f"d{i}", "done")
    batches: list[int] = []
    real = store.transaction

    def counting():
        batches.append(1)
        return real()

    monkeypatch.setattr(store, "transaction", counting)
    assert store.delete_ended("done", T0) == 50
    assert len(batches) == 8  # 7 full batches of 7, then one of 1


def test_the_file_shrinks_after_a_large_purge(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "eventix.sqlite3")
    padding = "x" * 2000
    for i in range(3000):
        store.post(Task(uid=f"t{i}", task="job", kwargs={"padding": padding}).to_wire())
    store.checkpoint()
    full = Path(store.file).stat().st_size
    assert full > 6_000_000
    for i in range(3000):  # what `task purge` does: one DELETE per task
        store.delete(f"t{i}")
    store.checkpoint()
    assert Path(store.file).stat().st_size == full  # deleting alone gives nothing back

    cleanup = Cleanup(store)
    cleanup.run()
    store.checkpoint()
    assert Path(store.file).stat().st_size < full // 20
    assert store.space()["free_pages"] < 256
    assert cleanup.figures.pages_given_back > 1400
    store.close()


def test_few_free_pages_are_left_for_new_tasks(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "eventix.sqlite3")
    for i in range(40):
        store.post(Task(uid=f"t{i}", task="job", kwargs={"padding": "x" * 2000}).to_wire())
    for i in range(40):
        store.delete(f"t{i}")
    cleanup = Cleanup(store)
    cleanup.run()
    assert cleanup.figures.pages_given_back == 0
    assert 0 < store.space()["free_pages"] < 256
    store.close()


def test_a_file_of_the_previous_release_is_migrated_once(tmp_path: Path, caplog) -> None:
    file = tmp_path / "old.sqlite3"
    shutil.copyfile(SCHEMA_V1, file)
    old = sqlite3.connect(file)
    before = {uid: json.loads(doc) for uid, doc in old.execute("SELECT uid, doc FROM tasks")}
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    assert old.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    old.close()

    with caplog.at_level(logging.INFO, logger="eventix_cli.server.store"):
        store = TaskStore(file)
    assert any("rebuilding it once" in r.getMessage() for r in caplog.records)
    assert store.schema_version == SCHEMA_VERSION == 3
    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # INCREMENTAL
    assert {uid: json.loads(doc) for uid, doc in store.query(None)[0]} == before
    indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "tasks_ended" in indexes
    assert store.claim("w", "default")["uid"] == "task-00"
    assert Cleanup(store, Retention(keep_error=dt.timedelta(seconds=0))).run() is None
    assert not any(json.loads(doc)["status"] == "error" for _, doc in store.query(None)[0])
    store.close()

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="eventix_cli.server.store"):
        TaskStore(file).close()
    assert not any("rebuilding" in r.getMessage() for r in caplog.records)  # once only


@pytest.mark.parametrize(("durability", "synchronous"), [("full", 2), ("normal", 1)])
def test_durability_sets_sqlite_synchronous(tmp_path: Path, durability: str, synchronous: int) -> None:
    store = TaskStore(tmp_path / "eventix.sqlite3", durability=durability)
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == synchronous
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_a_memory_database_needs_no_durability() -> None:
    store = TaskStore(":memory:", durability="full")
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 0  # OFF
    store.close()


def test_an_unknown_durability_is_refused() -> None:
    with pytest.raises(ValueError, match="durability"):
        TaskStore(":memory:", durability="fast")


def test_the_cleanup_runs_off_the_event_loop() -> None:
    """It deletes and vacuums in many transactions: the loop must go on answering meanwhile."""
    store = TaskStore(":memory:")
    cleanup = Cleanup(store)
    ran_in: list[int] = []
    cleanup.run = lambda: ran_in.append(threading.get_ident())  # type: ignore[method-assign]

    async def once(_seconds: float) -> None:
        if ran_in:
            raise asyncio.CancelledError

    async def main() -> int:
        with pytest.raises(asyncio.CancelledError):
            await cleanup_loop(cleanup, 1.0, sleep=once)
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert ran_in
    assert ran_in[0] != loop_thread
    store.close()


def test_the_start_tells_retention_in_durations_a_person_reads(tmp_path: Path) -> None:
    args = ["--db", ":memory:", "--keep-error", "0", "--keep-done", "5400"]
    with running_server("embedded", tmp_path, extra_args=args) as srv:
        banner = srv.log()
    assert (
        "retention: done tasks deleted 1h30m after they ended; error tasks deleted as soon as they end"
        in banner
    )


def _schema_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "schema version" in r.getMessage()]


def test_a_new_database_is_created_at_the_current_version_in_one_line(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="eventix_cli.server.store"):
        store = TaskStore(tmp_path / "new.sqlite3")
    assert store.schema_version == SCHEMA_VERSION
    indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"tasks_claim", "tasks_namespace_created", "tasks_ended"} <= indexes
    store.close()
    assert _schema_lines(caplog) == [
        f"database {tmp_path / 'new.sqlite3'} created at schema version {SCHEMA_VERSION}"
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="eventix_cli.server.store"):
        TaskStore(":memory:").close()
    assert _schema_lines(caplog) == []


def test_only_an_older_file_logs_its_migration(tmp_path: Path, caplog) -> None:
    file = tmp_path / "old.sqlite3"
    shutil.copyfile(SCHEMA_V1, file)
    with caplog.at_level(logging.INFO, logger="eventix_cli.server.store"):
        TaskStore(file).close()
    assert _schema_lines(caplog) == [
        f"database {file} migrated to schema version {version}" for version in range(2, SCHEMA_VERSION + 1)
    ]
