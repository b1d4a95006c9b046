"""Online backups of a database file: a consistent copy taken while the server runs and
workers claim, checked, and written atomically; and the server's scheduled backups, rotated.

The copy is one read transaction on a connection of its own (``VACUUM INTO``): in WAL mode a
reader never blocks a writer, so claims go on meanwhile (p99 claim latency with and without a
backup running: benchmarks/README.md). SQLite's backup API in small steps would restart
after every write of another connection, which under a steady load never ends. The copy is
written to a temporary file next to the destination, checked (``PRAGMA integrity_check``),
synced, renamed over the destination and the directory synced: the destination is either the
previous file or the whole new copy, never a part.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from eventix_cli.core.durable import sync_path
from eventix_cli.core.times import utcnow
from eventix_cli.server.store import private_file

log = logging.getLogger(__name__)

#: the scheduled backups' names: ``eventix-`` and the UTC time, so name order is time order
PREFIX = "eventix-"
SUFFIX = ".sqlite3"
_STAMP = "%Y%m%dT%H%M%S%fZ"
#: exactly the names :meth:`BackupSchedule.take` makes; rotation removes nothing else
_SCHEDULED_NAME = re.compile(rf"{re.escape(PREFIX)}\d{{8}}T\d{{12}}Z{re.escape(SUFFIX)}")


#: the files SQLite keeps beside a database: writing over one of them corrupts or empties it
SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupFailed(Exception):
    """A backup could not be taken or did not pass its check; the destination is untouched."""


def destination_refusal(source: str | Path, dest: str | Path) -> str | None:
    """Why ``dest`` must not receive a backup of ``source``, in one line, or ``None``: it is the
    database itself or one of its side files (paths resolved, links followed), or a directory."""
    database = Path(source).resolve()
    target = Path(dest).resolve()
    if target == database:
        return "DEST is the database itself: name another file"
    for suffix in SIDE_FILES:
        if target == database.with_name(database.name + suffix):
            return f"DEST is the database's own {suffix[1:]} file: name another file"
    if target.is_dir():
        return f"DEST {dest} is a directory: name the backup file"
    return None


@dataclass(frozen=True)
class Copy:
    """A backup written: where, its size, its tasks and how long it took."""

    path: Path
    bytes: int
    tasks: int
    seconds: float


def make_directory(directory: str | Path) -> None:
    """Create the scheduled backups' directory (and its parents) if need be; raise
    :class:`BackupFailed` in one line when it cannot be one (a file, a file on its path, no
    permission), so a server is refused at start rather than failing every backup."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise BackupFailed(f"cannot keep backups in {directory}: it is a file, not a directory") from None
    except OSError as exc:
        raise BackupFailed(f"cannot keep backups in {directory}: {exc.strerror or exc}") from None


def backup(source: str | Path, dest: str | Path) -> Copy:
    """Copy the database ``source`` to ``dest`` consistently, while others read and write it."""
    started = time.monotonic()
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise BackupFailed(f"no database file at {source}")
    refusal = destination_refusal(source, dest)
    if refusal is not None:
        raise BackupFailed(refusal)
    temp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        _copy(source, temp)
        tasks = _check(temp)
        sync_path(temp)
        temp.replace(dest)
        sync_path(dest.parent, directory=True)  # the rename survives a power loss too
    except (sqlite3.Error, OSError) as exc:
        raise BackupFailed(f"backup of {source} to {dest} failed: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return Copy(dest, dest.stat().st_size, tasks, time.monotonic() - started)


def _copy(source: Path, temp: Path) -> None:
    # the copy holds every task: owner-only (0600) like the database, set before the data goes
    # in (a temp file left by a killed backup is replaced)
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    private_file(str(temp))
    # mode=rw: a reader of a WAL database writes its shared-memory index; never creates a file
    db = sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("VACUUM INTO ?", (str(temp),))
    finally:
        db.close()


def _check(file: Path) -> int:
    """The number of tasks in the copy, after SQLite's integrity check passed."""
    db = sqlite3.connect(f"file:{quote(str(file))}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupFailed(f"the copy failed its integrity check: {'; '.join(problems[:3])}")
        return db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    finally:
        db.close()


# -- scheduled backups -------------------------------------------------------------------------


@dataclass
class BackupFigures:
    """The scheduled backups' results, for ``/metrics``."""

    taken: int = 0
    failures: int = 0
    last_ok: bool | None = None
    last_error: str | None = None
    last_seconds: float | None = None
    last_bytes: int | None = None
    last_at: float | None = None  # time.time() of the last attempt

    def as_json(self) -> dict[str, object]:
        return {
            "taken": self.taken,
            "failures": self.failures,
            "last_ok": self.last_ok,
            "last_error": self.last_error,
            "last_seconds": self.last_seconds,
            "last_bytes": self.last_bytes,
            "last_age_seconds": None if self.last_at is None else round(time.time() - self.last_at, 3),
        }


class BackupSchedule:
    """A backup of ``source`` into ``directory`` every ``every`` seconds, keeping the newest
    ``keep``. The first is due ``every`` seconds after the newest backup already there (at
    once when there is none), so restarts neither skip nor multiply backups."""

    def __init__(self, source: str | Path, directory: str | Path, every: float, keep: int) -> None:
        if every <= 0 or keep < 1:
            raise ValueError("a backup schedule needs every > 0 and keep >= 1")
        self.source = Path(source)
        self.directory = Path(directory)
        self.every = every
        self.keep = keep
        self.figures = BackupFigures()

    def backups(self) -> list[Path]:
        """The scheduled backups in the directory, oldest first: the files named exactly as
        :meth:`take` names them, never the database itself (which may sit there under such a
        name) nor any other file."""
        found = (
            path
            for path in self.directory.glob(f"{PREFIX}*{SUFFIX}")
            if _SCHEDULED_NAME.fullmatch(path.name) and path.is_file() and not self._is_source(path)
        )
        return sorted(found)

    def _is_source(self, path: Path) -> bool:
        try:
            return path.samefile(self.source)
        except OSError:  # the database gone: the name still must not match it
            return path.resolve() == self.source.resolve()

    def due_in(self) -> float:
        """Seconds until the next backup is due."""
        existing = self.backups()
        if not existing:
            return 0.0
        newest = existing[-1].stat().st_mtime
        return max(0.0, newest + self.every - time.time())

    def take(self) -> Copy | None:
        """One backup, then the oldest beyond ``keep`` removed; the result is recorded in
        :attr:`figures` (a failure logged, not raised)."""
        self.figures.last_at = time.time()
        name = f"{PREFIX}{utcnow().strftime(_STAMP)}{SUFFIX}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            copy = backup(self.source, self.directory / name)
        except (BackupFailed, OSError) as exc:
            self.figures.failures += 1
            self.figures.last_ok = False
            self.figures.last_error = str(exc)
            log.error("scheduled backup failed: %s", exc)
            return None
        self.figures.taken += 1
        self.figures.last_ok = True
        self.figures.last_error = None
        self.figures.last_seconds = round(copy.seconds, 3)
        self.figures.last_bytes = copy.bytes
        log.info(
            "backup %s written: %d task(s), %d bytes in %.1f s",
            copy.path,
            copy.tasks,
            copy.bytes,
            copy.seconds,
        )
        self.rotate()
        return copy

    def rotate(self) -> list[Path]:
        """Remove the oldest backups beyond ``keep``; the ones removed."""
        existing = self.backups()
        removed = existing[: max(0, len(existing) - self.keep)]
        for old in removed:
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
            log.info("backup %s removed (keeping the newest %d)", old, self.keep)
        return removed

    def run(self, stop: threading.Event) -> None:
        """Take the backups when due until ``stop`` is set (a thread's target)."""
        wait = self.due_in()
        while not stop.wait(wait):
            self.take()
            wait = self.every  # after a failure too: no retry storm
