"""``/healthz`` tells the truth: it fails when the database cannot be written (file deleted,
disk full, locked past a limit), not only when it cannot be read; and a database file deleted
under a running server is noticed: writes are refused, no empty database takes its place."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eventix_cli.core.task import Task
from eventix_cli.server import store as store_module
from eventix_cli.server.app import create_app
from eventix_cli.server.store import HEALTH_LOCK_LIMIT, TaskStore


@contextlib.contextmanager
def serving(db: Path) -> Iterator[tuple[TestClient, TaskStore]]:
    store = TaskStore(db)
    try:
        with TestClient(create_app(store, cleanup_interval=None)) as http:
            yield http, store
    finally:
        store.close()


def _post(http: TestClient, namespace: str = "health"):
    return http.post("/task", json=Task(task="t", namespace=namespace).to_wire())


def test_a_database_file_deleted_under_the_server_is_noticed(tmp_path: Path) -> None:
    db = tmp_path / "eventix.sqlite3"
    with serving(db) as (http, _store):
        assert _post(http).status_code == 200
        assert http.get("/healthz").status_code == 200
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

        health = http.get("/healthz")
        assert health.status_code == 503, health.text
        assert "deleted" in health.json()["reason"]
        refused = _post(http)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error_class"] == "DatabaseUnavailable"
        claim = http.get("/tasks/next_scheduled", params={"worker_id": "w", "namespace": "health"})
        assert (claim.status_code, claim.json()["error_class"]) == (503, "DatabaseUnavailable")
        listing = http.put("/tasks/by_status", json={"namespace": "health"})
        assert listing.status_code == 503, listing.text
        assert not db.exists(), "an empty database was created in place of the deleted one"


def test_an_external_lock_past_the_limit_fails_healthz(tmp_path: Path) -> None:
    db = tmp_path / "eventix.sqlite3"
    with serving(db) as (http, _store):
        assert http.get("/healthz").status_code == 200
        other = sqlite3.connect(db, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            started = time.monotonic()
            health = http.get("/healthz")
            waited = time.monotonic() - started
            assert health.status_code == 503, health.text
            assert "locked" in health.json()["reason"]
            assert waited < HEALTH_LOCK_LIMIT + 10  # the limit, and a loaded machine's margin
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert http.get("/healthz").status_code == 200


def _holding_a_write(store: TaskStore, seconds: float) -> threading.Thread:
    """A thread of the server holding a write transaction (and the database's write lock)."""
    begun = threading.Event()

    def write() -> None:
        with store.transaction():
            begun.set()
            time.sleep(seconds)  # as a thread waiting for the interpreter would

    thread = threading.Thread(target=write)
    thread.start()
    assert begun.wait(10)
    return thread


def test_a_write_of_the_server_itself_holding_the_lock_is_the_database_being_written(tmp_path: Path) -> None:
    with serving(tmp_path / "eventix.sqlite3") as (http, store):
        writer = _holding_a_write(store, HEALTH_LOCK_LIMIT * 3)
        health = http.get("/healthz")
        writer.join(10)
        assert health.status_code == 200, health.text


def test_a_write_of_the_server_holding_the_lock_for_long_fails_healthz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT", HEALTH_LOCK_LIMIT / 2)
    with serving(tmp_path / "eventix.sqlite3") as (http, store):
        writer = _holding_a_write(store, HEALTH_LOCK_LIMIT * 3)
        health = http.get("/healthz")
        writer.join(10)
        assert health.status_code == 503, health.text
        assert "a write has held the database" in health.json()["reason"]


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs (needs root; skipped otherwise)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory: Path) -> Path:
    """A file that takes every free byte of ``directory``'s filesystem."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as handle:
        for size in (65536, 4096, 1):  # big writes until one fails, then the last bytes
            try:
                for _ in range(100_000):  # far more than the 2 MB: ends at ENOSPC
                    handle.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    assert os.statvfs(directory).f_bavail == 0
    return filler


def test_a_full_disk_fails_healthz(tiny_filesystem: Path) -> None:
    with serving(tiny_filesystem / "eventix.sqlite3") as (http, _store):
        assert _post(http).status_code == 200
        assert http.get("/healthz").status_code == 200
        filler = _fill(tiny_filesystem)
        health = http.get("/healthz")
        assert health.status_code == 503, health.text
        assert "space" in health.json()["reason"] or "full" in health.json()["reason"]
        filler.unlink()
        assert http.get("/healthz").status_code == 200
        assert _post(http).status_code == 200


def test_a_full_disk_fails_healthz_fault_injected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same, anywhere (no root needed): the filesystem says it has no space left."""
    real_statvfs = os.statvfs

    def full(path: str | Path) -> os.statvfs_result:
        found = real_statvfs(path)
        return os.statvfs_result((*found[:4], 0, *found[5:]))  # f_bavail = 0

    with serving(tmp_path / "eventix.sqlite3") as (http, _store):
        assert http.get("/healthz").status_code == 200
        monkeypatch.setattr(os, "statvfs", full)
        health = http.get("/healthz")
        assert health.status_code == 503, health.text
        assert "no space left" in health.json()["reason"]
        monkeypatch.undo()
        assert http.get("/healthz").status_code == 200
