"""Online backups: a consistent copy while the server runs and tasks are claimed and posted,
a server on the copy serving exactly its tasks, scheduled backups rotating, and the command's
one-line refusals."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from eventix_cli.core.task import Task
from eventix_cli.server.backup import BackupFailed, BackupSchedule, backup
from eventix_cli.server.store import TaskStore
from tests.support.claimers import claim_until_empty
from tests.support.cli_process import assert_one_error, run
from tests.support.servers import running_server
from tests.support.tasks import seed


def _rows(file: Path) -> dict[str, str]:
    db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(db.execute("SELECT uid, doc FROM tasks"))
    finally:
        db.close()


def _listed(url: str) -> dict[str, dict]:
    answer = httpx.put(f"{url}/tasks/dump", json={}, trust_env=False, timeout=30)
    answer.raise_for_status()
    return answer.json()["data"]


def _metrics(url: str) -> dict:
    return httpx.get(f"{url}/metrics", trust_env=False, timeout=10).json()["server"]


def test_a_backup_taken_under_load_is_consistent_and_serves_exactly_its_tasks(tmp_path: Path) -> None:
    db = tmp_path / "eventix.sqlite3"
    copy = tmp_path / "copy.sqlite3"
    with running_server("embedded", tmp_path, extra_args=["--db", str(db)]) as srv:
        posted_before = {t.uid for t in seed(srv.url, "load", 300)}
        stop = threading.Event()
        posted_during: list[str] = []
        claimed: list[str] = []

        def post() -> None:
            while not stop.is_set():
                posted_during.extend(t.uid for t in seed(srv.url, "load", 5))

        def claim() -> None:
            while not stop.is_set():
                claimed.extend(claim_until_empty(srv.url, "load", "w1"))

        threads = [threading.Thread(target=post), threading.Thread(target=claim)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 30
            while len(claimed) < 50 and time.monotonic() < deadline:  # the load is under way
                time.sleep(0.05)
            proc = run("server", "backup", "--db", str(db), str(copy), url="", tmp_path=tmp_path)
            claimed_at_backup = len(claimed)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert proc.returncode == 0, proc.stderr.decode()
        assert "backup written" in proc.stderr.decode()
        assert len(claimed) > claimed_at_backup  # claims went on meanwhile

    rows = _rows(copy)  # the integrity check passes
    assert posted_before <= set(rows) <= posted_before | set(posted_during)
    assert {p.name for p in tmp_path.iterdir() if p.name.startswith(".copy")} == set()  # no temp left
    with running_server("embedded", tmp_path, extra_args=["--db", str(copy)]) as srv:
        listed = _listed(srv.url)
    assert set(listed) == set(rows)
    assert {uid: doc["revision"] for uid, doc in listed.items()} == {
        uid: json.loads(doc)["revision"] for uid, doc in rows.items()
    }


def test_a_backup_replaces_its_destination_whole(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "eventix.sqlite3")
    store.post(Task(uid="one", task="job").to_wire())
    dest = tmp_path / "copy.sqlite3"
    dest.write_text("an older backup")
    result = backup(store.file, dest)
    assert result.tasks == 1
    assert result.bytes == dest.stat().st_size
    assert set(_rows(dest)) == {"one"}
    store.close()


def test_a_missing_source_fails_and_leaves_the_destination(tmp_path: Path) -> None:
    dest = tmp_path / "copy.sqlite3"
    dest.write_text("previous")
    with pytest.raises(BackupFailed, match="no database file"):
        backup(tmp_path / "nothing.sqlite3", dest)
    assert dest.read_text() == "previous"


def test_scheduled_backups_rotate(tmp_path: Path) -> None:
    store = TaskStore(tmp_path / "eventix.sqlite3")
    schedule = BackupSchedule(store.file, tmp_path / "backups", every=3600, keep=2)
    assert schedule.due_in() == 0  # none yet: at once
    taken = []
    for i in range(4):
        store.post(Task(uid=f"t{i}", task="job").to_wire())
        taken.append(schedule.take().path)
    assert schedule.backups() == taken[-2:]
    assert set(_rows(taken[-1])) == {"t0", "t1", "t2", "t3"}
    assert schedule.figures.taken == 4
    assert schedule.figures.last_ok is True
    assert 3590 < schedule.due_in() <= 3600  # the newest is recent: the next in an hour
    old = time.time() - 7200
    os.utime(taken[-1], (old, old))
    assert schedule.due_in() == 0
    store.close()


def test_a_failed_scheduled_backup_is_recorded(tmp_path: Path) -> None:
    schedule = BackupSchedule(tmp_path / "gone.sqlite3", tmp_path / "backups", every=60, keep=2)
    assert schedule.take() is None
    assert schedule.figures.failures == 1
    assert schedule.figures.last_ok is False
    assert "no database file" in schedule.figures.last_error


def test_the_server_takes_rotates_and_reports_its_backups(tmp_path: Path) -> None:
    db = tmp_path / "eventix.sqlite3"
    backups = tmp_path / "backups"
    args = ["--db", str(db), "--backup-dir", str(backups), "--backup-every", "1s", "--backup-keep", "2"]
    with running_server("embedded", tmp_path, extra_args=args) as srv:
        seed(srv.url, "default", 3)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (_metrics(srv.url)["backup"]["taken"] or 0) < 4:
            time.sleep(0.2)
        figures = _metrics(srv.url)
    assert figures["backup"]["taken"] >= 4
    assert figures["backup"]["last_ok"] is True
    assert figures["backup"]["last_age_seconds"] < 30
    assert len(list(backups.glob("eventix-*.sqlite3"))) == 2
    assert figures["database"]["file_bytes"] > 0
    assert "free_pages" in figures["database"]
    assert figures["durability"] == "normal"  # the default
    assert figures["cleanup"]["runs"] >= 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("server", "backup", "--db", "missing.sqlite3", "copy.sqlite3"), "no database file"),
        (("server", "backup", "--db", ":memory:", "copy.sqlite3"), ":memory:"),
        (("server", "--port", "0", "--durability", "fast"), "--durability must be full or normal"),
        (("server", "--port", "0", "--keep-done", "soon"), "--keep-done"),
        (("server", "--port", "0", "--keep-error", "-1d"), "--keep-error"),
        (("server", "--port", "0", "--backup-dir", "b", "--backup-every", "0s"), "--backup-every must be"),
        (("server", "--port", "0", "--backup-every", "1h"), "--backup-every needs --backup-dir"),
        (("server", "--port", "0", "--backup-keep", "3"), "--backup-keep needs --backup-dir"),
        (("server", "--port", "0", "--backup-dir", "a-file"), "--backup-dir"),
        (("server", "--port", "0", "--backup-dir", "a-file/backups"), "--backup-dir"),
    ],
)
def test_bad_options_are_refused_in_one_line(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    proc = run(*args, url="", tmp_path=tmp_path)
    assert_one_error(proc, 2, expected)
    assert not (tmp_path / "copy.sqlite3").exists()


def test_backup_refuses_to_overwrite_its_own_database(tmp_path: Path) -> None:
    TaskStore(tmp_path / "eventix.sqlite3").close()
    proc = run("server", "backup", "--db", "eventix.sqlite3", "eventix.sqlite3", url="", tmp_path=tmp_path)
    assert_one_error(proc, 2, "DEST is the database itself")


def test_a_checkpoint_never_holds_writes_for_a_reader_it_cannot_pause(tmp_path: Path) -> None:
    """A backup (or any reader of another connection) keeps an old snapshot: truncating the log
    then would hold the write lock, and every claim, until the reader ends."""
    store = TaskStore(tmp_path / "eventix.sqlite3")
    store.post(Task(uid="first", task="job").to_wire())
    reader = sqlite3.connect(store.file)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM tasks").fetchone()  # its snapshot: one task
    store.post(Task(uid="second", task="job").to_wire())  # a frame it does not see
    # another writer that never waits for the lock: any moment the checkpoint holds it is a
    # refused write (load-independent: counted, not timed)
    writer_db = sqlite3.connect(store.file, isolation_level=None, check_same_thread=False)
    writer_db.execute("PRAGMA busy_timeout = 0")
    writer_db.execute("CREATE TABLE IF NOT EXISTS side (n INTEGER)")
    written, refused = 0, []
    writing, stop = threading.Event(), threading.Event()

    def write() -> None:
        nonlocal written
        while not stop.is_set():
            try:
                writer_db.execute("INSERT INTO side VALUES (1)")
                written += 1
            except sqlite3.OperationalError as exc:
                refused.append(str(exc))
            writing.set()
            time.sleep(0.001)  # a pause, as between claims: the checkpoint can take the lock

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writing.wait(30)
        for _ in range(3):
            store.checkpoint()
    finally:
        stop.set()
        writer.join()
        writer_db.close()
        reader.close()
    assert written
    assert refused == []  # the truncation waited for the reader holding the lock: refused writes
    store.close()


@pytest.mark.parametrize("name", ["eventix-1.sqlite3", "eventix-20200101T000000000000Z.sqlite3"])
def test_rotation_never_removes_the_database_nor_a_file_it_did_not_name(tmp_path: Path, name: str) -> None:
    """A database named like a backup, in the backup directory, once counted as the oldest
    backup and was removed by the rotation (every task lost)."""
    store = TaskStore(tmp_path / name)
    store.post(Task(uid="kept", task="job").to_wire())
    mine = tmp_path / "eventix-mine.sqlite3"
    mine.write_text("an operator's own file")
    schedule = BackupSchedule(store.file, tmp_path, every=3600, keep=1)
    taken = [schedule.take().path for _ in range(3)]
    assert schedule.backups() == taken[-1:]
    assert Path(store.file).exists()
    assert mine.read_text() == "an operator's own file"
    assert set(_rows(Path(store.file))) == {"kept"}
    assert store.get("kept")
    store.close()


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_backup_refuses_to_write_over_the_databases_own_files(tmp_path: Path, suffix: str) -> None:
    """Writing over the live log loses the tasks it holds; a link to it is the same file."""
    store = TaskStore(tmp_path / "eventix.sqlite3")
    store.post(Task(uid="kept", task="job").to_wire())
    (tmp_path / "link").symlink_to(tmp_path / f"eventix.sqlite3{suffix}")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for dest in (f"eventix.sqlite3{suffix}", "link"):
        proc = run("server", "backup", "--db", "eventix.sqlite3", dest, url="", tmp_path=tmp_path)
        assert_one_error(proc, 2, "DEST is the database's own")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    store.close()


def test_backup_refuses_a_directory_as_dest_before_starting(tmp_path: Path) -> None:
    TaskStore(tmp_path / "eventix.sqlite3").close()
    (tmp_path / "backups").mkdir()
    proc = run("server", "backup", "--db", "eventix.sqlite3", "backups", url="", tmp_path=tmp_path)
    assert_one_error(proc, 2, "is a directory")
    assert "backing up" not in proc.stderr.decode()
    assert list((tmp_path / "backups").iterdir()) == []
