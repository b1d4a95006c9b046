"""The database and its -wal and -shm files are readable by their owner only (0600), like the
config file, whatever the umask lets through."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventix_cli.core.task import Task
from eventix_cli.server.store import TaskStore


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the common default: files 0644 unless asked otherwise
    try:
        yield
    finally:
        os.umask(old)


def _modes(db: Path) -> dict[str, str]:
    return {
        suffix: oct(stat.S_IMODE(os.stat(f"{db}{suffix}").st_mode))
        for suffix in ("", "-wal", "-shm")
        if os.path.exists(f"{db}{suffix}")
    }


@pytest.mark.usefixtures("permissive_umask")
def test_database_wal_and_shm_files_are_0600(tmp_path: Path) -> None:
    db = tmp_path / "data" / "eventix.sqlite3"
    store = TaskStore(db)
    try:
        assert _modes(db) == {"": "0o600", "-wal": "0o600", "-shm": "0o600"}  # after start
        store.post(Task(task="t", namespace="modes").to_wire())
        store.health()  # a write on a connection of its own
        assert _modes(db) == {"": "0o600", "-wal": "0o600", "-shm": "0o600"}  # after a write
    finally:
        store.close()
    assert _modes(db) == {"": "0o600"}  # the log is checkpointed away at close
