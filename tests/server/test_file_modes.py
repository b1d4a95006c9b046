"""The database and its -wal and -shm files are readable by their owner only (0600), like the
config file, whatever the umask lets through."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventix_cli.core.task import Task
from eventix_cli.server.backup import BackupSchedule, backup
from eventix_cli.server.store import TaskStore
from tests.support.cli_process import run


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


@pytest.mark.usefixtures("permissive_umask")
def test_backups_are_0600_like_the_database(tmp_path: Path) -> None:
    """A backup holds every task the database holds: the command's and the scheduled ones."""
    store = TaskStore(tmp_path / "eventix.sqlite3")
    store.post(Task(task="t", namespace="modes").to_wire())
    replaced = tmp_path / "replaced.sqlite3"
    replaced.write_text("an older backup, 0644")
    try:
        written = [
            backup(store.file, tmp_path / "copy.sqlite3").path,
            backup(store.file, replaced).path,
            BackupSchedule(store.file, tmp_path / "backups", every=60, keep=2).take().path,
        ]
        proc = run("server", "backup", "--db", store.file, "by-command.sqlite3", url="", tmp_path=tmp_path)
        assert proc.returncode == 0, proc.stderr.decode()
        written.append(tmp_path / "by-command.sqlite3")
    finally:
        store.close()
    assert {p.name: _modes(p)[""] for p in written} == {p.name: "0o600" for p in written}
