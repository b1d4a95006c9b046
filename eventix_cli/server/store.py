"""SQLite storage of the embedded server, with the semantics of the Eventix API.

Each task is one row: the whole JSON document in ``doc`` (authoritative, returned verbatim)
and the fields the hot paths query copied into indexed columns. Datetime columns hold
fixed-width ISO text (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), so text order is time order.

Every write runs in a ``BEGIN IMMEDIATE`` transaction and bumps the revision, so a claim or
a revision-checked PUT is atomic even when several processes share one database file.
The schema is versioned with ``PRAGMA user_version``; the migrations in
:mod:`eventix_cli.server.rows` upgrade older files. Files are kept with
``auto_vacuum = INCREMENTAL``, so the space of deleted tasks goes back to the filesystem
(:meth:`TaskStore.vacuum_step`); a file made before that is rebuilt once, at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eventix_cli.core.times import format_stored_time, utcnow
from eventix_cli.server.counts import CountCache
from eventix_cli.server.errors import (
    AlreadyExists,
    DatabaseUnavailable,
    NoTaskFoundForUniqueKey,
    NotFound,
    QueryTooSlow,
    RevisionConflict,
    StoreError,
    TaskUniqueKeyNotUnique,
    UnsupportedFilter,
    WrongTaskStatus,
)
from eventix_cli.server.filters import (
    SQL_FUNCTIONS,
    FilterError,
    compile_filter,
    compile_sort,
)
from eventix_cli.server.readers import ReaderPool, stopped_at
from eventix_cli.server.rows import (
    CLAIM_COLUMNS,
    ENDED_AT,
    ENDED_WHERE,
    INSERT_SQL,
    MIGRATIONS,
    PENDING_BY_KEY_SQL,
    ROW_SQL,
    SCHEMA_VERSION,
    UPDATE_SQL,
    StoredDoc,
    changed,
    normalize_datetimes,
    positions,
    revise,
    sort_key,
    to_row,
    update_sql,
)

log = logging.getLogger(__name__)

LEASE_SECONDS = 300
#: seconds a listing may run before it is stopped (422 QueryTooSlow)
QUERY_TIME_LIMIT = 30.0
#: connections for listings, each used by one listing at a time
MAX_READERS = 4
#: bytes of write-ahead log kept when SQLite restarts it (the scheduled checkpoint truncates it)
WAL_SIZE_LIMIT = 16 * 1024 * 1024
#: seconds ``/healthz`` waits for the write lock before it reports the database locked: short,
#: so a probe gets its answer within a second (a write holds the lock for milliseconds)
HEALTH_LOCK_LIMIT = 0.5
#: free bytes on the database's filesystem below which ``/healthz`` reports it full
MIN_FREE_BYTES = 64 * 1024
#: seconds a write waits for the write lock that another process (or thread) holds
BUSY_TIMEOUT = 5.0
#: the main connection's own wait for the lock, in milliseconds: short, because SQLite waits
#: holding the connection, which the event loop reads on; longer waits are pauses between tries
_BUSY_STEP_MS = 10
_BUSY_PAUSE = 0.02
#: ``--durability``: SQLite's ``synchronous`` setting for a database file (in WAL mode).
#: ``full`` syncs the log at every commit; ``normal`` syncs it at checkpoints only, so a power
#: loss can undo the last commits but never corrupts the file. Figures: benchmarks/README.md
DURABILITY = {"full": "FULL", "normal": "NORMAL"}
DEFAULT_DURABILITY = "normal"
#: ``PRAGMA auto_vacuum`` value of INCREMENTAL
_INCREMENTAL = 2
#: tasks one cleanup transaction deletes at most: a claim waits for the write lock while a batch
#: runs (100,000 deleted in batches: benchmarks/README.md, retention)
DELETE_BATCH = 100
#: pages one incremental vacuum step gives back at most (1 MiB with 4 KiB pages)
VACUUM_STEP = 256
#: seconds a background job pauses between two transactions at most (see TaskStore._give_way)
MAX_GIVE_WAY = 0.05
PENDING = ("scheduled", "retry")
BY_TASK_STATUS_ORDER = ("scheduled", "processing", "retry", "error", "done")
_CLAIMED = positions(CLAIM_COLUMNS)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)


def private_file(file: str) -> str:
    """``file``, created empty and readable by its owner only (0600) when it does not exist:
    SQLite gives the -wal and -shm files it makes the database file's permissions, and
    ``VACUUM INTO`` (a backup) writes into an empty file it is given, keeping its mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return file


def _identity(file: str) -> tuple[int, int]:
    """What tells a file from another one later put at its path: device and inode."""
    found = os.stat(file)
    return found.st_dev, found.st_ino


class StoreBusy(sqlite3.OperationalError):
    """A write asked on an event loop found the store busy (its lock held by a thread, or the
    database's write lock by another process): an event loop never waits, so the caller
    retries in a thread (:func:`eventix_cli.server.offloop.write`). Nothing was done."""


def _may_wait() -> bool:
    """Whether this thread may wait for a lock: not when it runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


class _Transaction:
    """The context manager of :meth:`TaskStore.transaction` (a class: cheaper than a generator
    on the hot path, where every claim and write-back opens one).

    A thread waits for the locks up to :data:`BUSY_TIMEOUT`, pausing between tries with the
    connection free; on an event loop the transaction does not wait: :class:`StoreBusy`."""

    __slots__ = ("check", "db", "lock", "writing")

    def __init__(
        self, lock: threading.RLock, db: sqlite3.Connection, check: Callable[[], None], writing: _Writing
    ) -> None:
        self.lock = lock
        self.db = db
        self.check = check
        self.writing = writing

    def __enter__(self) -> sqlite3.Connection:
        waits = _may_wait()
        deadline = None
        while True:
            if not self.lock.acquire(blocking=waits):
                raise StoreBusy("the store is busy with another write")
            try:
                self.check()
                self.db.execute("BEGIN IMMEDIATE")
                self.writing.since = time.monotonic()
                return self.db
            except sqlite3.OperationalError as exc:
                self.lock.release()
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
                if not waits:
                    raise StoreBusy(str(exc)) from None
                deadline = deadline or time.monotonic() + BUSY_TIMEOUT
                if time.monotonic() >= deadline:
                    raise
            except BaseException:
                self.lock.release()
                raise
            time.sleep(_BUSY_PAUSE)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            self.db.execute("ROLLBACK" if kind is not None else "COMMIT")
        finally:
            self.writing.since = None
            self.lock.release()


class _Writing:
    """Since when a write of this store holds the database's write lock (``None``: none
    does); :meth:`TaskStore.health` tells a lock held here from one held elsewhere with it."""

    __slots__ = ("since",)

    def __init__(self) -> None:
        self.since: float | None = None


class _Own:
    """A thread's connection (an object the thread-local holds, so its end can be seen)."""

    __slots__ = ("__weakref__", "db")

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db


class TaskStore:
    """The task table of one SQLite database (a file, or ``:memory:``)."""

    def __init__(self, path: str | Path = ":memory:", *, durability: str = DEFAULT_DURABILITY) -> None:
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {', '.join(DURABILITY)}, got {durability!r}")
        self.path = str(path)
        self.durability = durability
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.RLock()
        self._writing = _Writing()
        self._readers = ReaderPool(self._connect, MAX_READERS)
        self._counts = CountCache()
        # a connection of its own for the health probe and the checkpoints, one at a time
        self._side: sqlite3.Connection | None = None
        self._side_lock = threading.Lock()
        self._own = threading.local()  # each thread's connection, in an _Own
        self._connections: dict[int, sqlite3.Connection] = {}
        self._closed = False
        try:
            self._file = private_file(self._database_file())
            self._identity = _identity(self._file)
            self._migrate()
            self._check_writable()
        except StoreError:
            self._discard()
            raise
        except (sqlite3.Error, OSError) as exc:
            self._discard()
            raise StoreError(f"cannot use database {self.path}: {_reason(exc)}") from None

    def _database_file(self) -> str:
        """The file behind the store. ``:memory:`` is a throwaway file removed at close: unlike a
        memory database it lets listings read on connections of their own while writes go on."""
        if self.path == ":memory:":
            self._tempdir = tempfile.TemporaryDirectory(prefix="eventix-memory-")
            return str(Path(self._tempdir.name) / "eventix.sqlite3")
        file = Path(self.path).expanduser()
        if file.is_dir():
            raise StoreError(f"cannot use database {self.path}: it is a directory")
        existing = next((p for p in file.parents if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise StoreError(f"cannot use database {self.path}: {existing} is not a directory")
        file.parent.mkdir(parents=True, exist_ok=True)
        return str(file)

    def _connect(self, busy_ms: int = int(BUSY_TIMEOUT * 1000)) -> sqlite3.Connection:
        """A connection to the database file, which :func:`private_file` created: ``mode=rw``, so a
        file deleted under the server is never silently replaced by an empty one."""
        uri = f"file:{quote(self._file)}?mode=rw"
        db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            db.execute(f"PRAGMA busy_timeout = {busy_ms}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")  # kept after a restart
            # a throwaway database needs no durability
            db.execute(f"PRAGMA synchronous = {'OFF' if self._tempdir else DURABILITY[self.durability]}")
            for name, nargs, func in SQL_FUNCTIONS:
                db.create_function(name, nargs, func, deterministic=True)
        except BaseException:
            db.close()
            raise
        return db

    def _check_writable(self) -> None:
        """A database opened read-only (file or directory permissions) fails here, at start,
        rather than on every write."""
        with self.transaction():
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_file(self) -> None:
        """Raises :class:`DatabaseUnavailable` when the file behind the store was deleted or
        replaced: SQLite would go on writing into the deleted file, lost when it is closed."""
        try:
            same = _identity(self._file) == self._identity
        except FileNotFoundError:
            raise DatabaseUnavailable(
                f"the database file {self.path} was deleted while the server ran"
            ) from None
        except OSError as exc:
            raise DatabaseUnavailable(
                f"the database file {self.path} cannot be reached: {_reason(exc)}"
            ) from None
        if not same:
            raise DatabaseUnavailable(f"the database file {self.path} was replaced while the server ran")

    def health(self) -> str | None:
        """Why the database cannot be written now, or ``None`` when it can: its file deleted
        or replaced, its filesystem full, its write lock held elsewhere for more than
        :data:`HEALTH_LOCK_LIMIT` seconds, or a real write (on a connection of its own) failing."""
        with self._side_lock:
            try:
                self._check_file()
            except DatabaseUnavailable as exc:
                return exc.message
            space = os.statvfs(self._file)
            free = space.f_bavail * space.f_frsize
            if free < MIN_FREE_BYTES:
                return f"no space left for the database {self.path} ({free:,} bytes free)"
            try:
                side = self._side_connection()
                side.execute("BEGIN IMMEDIATE")
                try:
                    side.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")  # a write, unchanged
                    side.execute("COMMIT")
                finally:
                    if side.in_transaction:
                        side.execute("ROLLBACK")
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    return self._locked_reason()
                return f"the database {self.path} cannot be written: {exc}"
        return None

    def _locked_reason(self) -> str | None:
        """Why the database's write lock, which the health probe waited for in vain, makes it
        unwritable; ``None`` when a write of this server holds it, and not for long: with
        large documents a write can hold the lock a second and more, each time its thread
        waits for the interpreter (another thread parsing 15 MB holds it that long), and that
        is the database being written."""
        since = self._writing.since
        if since is None:
            return f"the database {self.path} stayed locked for more than {HEALTH_LOCK_LIMIT:g} s"
        held = time.monotonic() - since
        if held < BUSY_TIMEOUT:
            return None
        return f"a write has held the database {self.path} for {held:.1f} s"

    def checkpoint(self) -> tuple[int, int] | None:
        """Copy the write-ahead log into the database and truncate it; ``(frames in the log,
        frames copied)`` before the truncation, or ``None`` when the file is gone.

        New listings are held back until the running ones have ended (at most
        :data:`QUERY_TIME_LIMIT` seconds): a reader on an older snapshot keeps SQLite from
        restarting the log, and listings that always overlap would let it grow without end.
        The copy runs first without blocking writers (``PASSIVE``); the truncation, which
        waits for the write lock, then has little left to copy, and is skipped when the copy
        could not take every frame: a reader the listings' pause does not know is running."""
        try:
            self._check_file()
        except DatabaseUnavailable:
            return None
        with self._readers.paused(QUERY_TIME_LIMIT) as quiet, self._side_lock:
            side = self._side_connection()
            _busy, frames, copied = side.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            # an empty log is left alone: truncating it would count as a change of the
            # database (data_version) and drop every kept count (server/counts.py); a frame
            # left uncopied means a reader on an older snapshot (a backup, another process):
            # truncating would hold the write lock, and every claim, until it ends
            if quiet and frames and copied == frames:
                _busy, frames, copied = side.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return frames, copied

    def _side_connection(self) -> sqlite3.Connection:
        """The connection of the health probe and the checkpoints (under ``_side_lock``); it
        waits for the write lock at most :data:`HEALTH_LOCK_LIMIT` seconds."""
        if self._side is None:
            self._side = self._connect()
            self._side.execute(f"PRAGMA busy_timeout = {int(HEALTH_LOCK_LIMIT * 1000)}")
        return self._side

    def _discard(self) -> None:
        for db in self._connections.values():
            db.close()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    # -- plumbing ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        current = self.db.execute("PRAGMA user_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {current}, newer than this eventix-cli "
                f"understands ({SCHEMA_VERSION}); upgrade eventix-cli"
            )
        self._incremental_vacuum_on(current)
        if current == 0:  # a new database: made at the current version in one transaction
            with self.transaction():
                for migration in MIGRATIONS:
                    for statement in migration:
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            # a throwaway database is news to nobody; a new file may be a mistyped --db
            log.log(
                logging.DEBUG if self._tempdir else logging.INFO,
                "database %s created at schema version %d",
                self.path,
                SCHEMA_VERSION,
            )
            return
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction():
                for statement in MIGRATIONS[version - 1]:
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {version}")
            log.info("database %s migrated to schema version %d", self.path, version)

    def _incremental_vacuum_on(self, version: int) -> None:
        """``auto_vacuum = INCREMENTAL``, which takes effect with a VACUUM once the file has its
        header (WAL mode writes it): instant on a new file; a file of an earlier schema (which
        kept the space of every deleted task) is rebuilt once, holding the write lock for as
        long as it copies the file."""
        if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] == _INCREMENTAL:
            return
        started = time.monotonic()
        if version:
            log.info("database %s: rebuilding it once so that deleted tasks give their space back", self.path)
        with self._lock:
            self.db.execute(f"PRAGMA auto_vacuum = {_INCREMENTAL}")
            self.db.execute("VACUUM")
        if version:
            log.info("database %s rebuilt in %.1f s", self.path, time.monotonic() - started)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection to the database. A connection is never shared by threads:
        one thread's statements on it would disturb another's transaction (seen: a write in a
        ``BEGIN IMMEDIATE`` transaction failing "database is locked" while the event loop read
        on the same connection)."""
        try:
            return self._own.it.db
        except AttributeError:
            pass
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            own = self._own.it = _Own(self._connect(_BUSY_STEP_MS))
            self._connections[id(own)] = own.db
            # closed when its thread ends (and the thread's _Own with it)
            weakref.finalize(own, self._forget, id(own))
        return own.db

    def _forget(self, key: int) -> None:
        with self._lock:
            db = self._connections.pop(key, None)
        if db is not None:
            db.close()

    @property
    def file(self) -> str:
        """The database file (for ``:memory:``, the throwaway one)."""
        return self._file

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def transaction(self) -> _Transaction:
        """``with store.transaction() as db:`` a ``BEGIN IMMEDIATE`` transaction, committed at
        the end, rolled back on an exception."""
        # the file check is one stat() per write: claims and write-backs measured 720 against
        # 725 µs of server CPU per task with and without it and the rest of the round's changes
        # (./dev bench server_cpu --baseline b8fe4b7, benchmarks/README.md)
        return _Transaction(self._lock, self.db, self._check_file, self._writing)

    def close(self) -> None:
        with self._lock, self._side_lock:
            self._readers.close()
            if self._side is not None:
                self._side.close()
            if self._tempdir is None:
                with contextlib.suppress(sqlite3.Error):
                    self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            for db in self._connections.values():
                db.close()
            self._connections.clear()
            self._closed = True  # no thread opens another connection
            if self._tempdir is not None:
                self._tempdir.cleanup()

    def _load(self, uid: str) -> tuple[int, dict[str, Any]] | None:
        row = self.db.execute("SELECT rowid, doc FROM tasks WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    @staticmethod
    def _stamped(doc: dict[str, Any], now: dt.datetime) -> StoredDoc:
        """``doc`` as it is written now: times normalised, ``updated_time``, the next revision
        and the JSON text."""
        doc = StoredDoc(doc)
        normalize_datetimes(doc)
        doc["updated_time"] = format_stored_time(now)
        revise(doc)
        return doc

    def _insert(self, doc: StoredDoc) -> StoredDoc:
        """Insert ``doc``, which :meth:`_stamped` gave its text."""
        try:
            self.db.execute(INSERT_SQL, to_row(doc))
        except sqlite3.IntegrityError:
            raise AlreadyExists(doc["uid"]) from None
        return doc

    def _update(
        self,
        rowid: int,
        doc: StoredDoc,
        *,
        picked: tuple[int, ...] | None = None,
        stored: tuple[Any, ...] | None = None,
    ) -> StoredDoc:
        """Write ``doc``, setting only the columns that change (each set column costs its
        indexes a write): ``picked``, the positions of the only ones that can have changed, or
        those that differ from ``stored`` (the row before, see :data:`ROW_SQL`); by default all.
        :meth:`_stamped` gave ``doc`` its text."""
        row = to_row(doc)
        if stored is not None:
            picked = changed(row, stored)
        if picked is None:
            self.db.execute(UPDATE_SQL, (*row, rowid))
        else:
            self.db.execute(update_sql(picked), (*[row[i] for i in picked], rowid))
        return doc

    def insert_all(self, docs: Iterable[dict[str, Any]], now: dt.datetime | None = None) -> int:
        """Insert task documents as they are, in one transaction (fills a database: tests,
        benchmarks); the count. ``now`` is their ``updated_time`` (default now)."""
        now = now or utcnow()
        count = 0
        with self.transaction():
            for doc in docs:
                self._insert(self._stamped(doc, now))
                count += 1
        return count

    # -- single tasks -----------------------------------------------------------------------

    def get(self, uid: str) -> str:
        """The stored JSON text of a task."""
        row = self.db.execute("SELECT doc FROM tasks WHERE uid = ?", (uid,)).fetchone()
        if row is None:
            raise NotFound(uid)
        return row[0]

    def post(self, doc: dict[str, Any]) -> StoredDoc:
        """POST /task: insert, or update the pending task with the same unique key.

        The document is merged and encoded before the write lock is taken (see
        :data:`PENDING_BY_KEY_SQL`), so that a large one holds back no other write: encoding
        15 MB takes from 0.4 s to seconds, its insert some milliseconds."""
        now = utcnow()
        key = doc.get("unique_key")
        if key is None:
            new = self._stamped(doc, now)
            with self.transaction():
                return self._insert(new)
        namespace = doc.get("namespace")
        seen = self.db.execute(PENDING_BY_KEY_SQL, (key, namespace)).fetchone()
        written = self._posted(doc, seen, now)
        with self.transaction():
            pending = self.db.execute(PENDING_BY_KEY_SQL, (key, namespace)).fetchone()
            if pending != seen:  # another write came between: merged again, under the lock
                written = self._posted(doc, pending, now)
            return self._insert(written) if pending is None else self._update(pending[0], written)

    def _posted(
        self, doc: dict[str, Any], pending: tuple[int, str, str] | None, now: dt.datetime
    ) -> StoredDoc:
        """What POST /task writes: ``doc``, or the ``pending`` task with the same unique key
        (a row of :data:`PENDING_BY_KEY_SQL`) updated by it."""
        if pending is None:
            return self._stamped(doc, now)
        existing = json.loads(pending[2])
        # the earlier eta and the smaller stored priority win; arguments and status are new
        if sort_key(doc.get("eta")) is not None and (
            sort_key(existing.get("eta")) is None or sort_key(doc["eta"]) < sort_key(existing["eta"])
        ):
            existing["eta"] = doc["eta"]
        existing["priority"] = min(existing.get("priority", 0), doc.get("priority", 0))
        existing["args"] = doc.get("args", [])
        existing["kwargs"] = doc.get("kwargs", {})
        existing["status"] = doc.get("status", "scheduled")
        return self._stamped(existing, now)

    def put(self, uid: str, doc: dict[str, Any]) -> StoredDoc:
        """PUT /task/{uid}: write when the revision matches the stored one; insert when absent."""
        doc["uid"] = uid
        expected = doc.get("revision") or "0-0"
        new = self._stamped(doc, utcnow())  # encoded before the write lock (see post)
        with self.transaction():
            row = self.db.execute(ROW_SQL, (uid,)).fetchone()
            if row is None:
                return self._insert(new)
            stored_revision = row[-1]
            if stored_revision != expected:
                raise RevisionConflict(stored_revision or "0-0")
            return self._update(row[0], new, stored=row[1:])

    def delete(self, uid: str) -> None:
        with self.transaction():
            if self.db.execute("DELETE FROM tasks WHERE uid = ?", (uid,)).rowcount == 0:
                raise NotFound(uid)

    def reschedule(self, uid: str, eta: dt.datetime | None) -> StoredDoc:
        """Only from error or retry: back to scheduled at ``eta`` (default now), no worker."""
        now = utcnow()
        with self.transaction():
            found = self._load(uid)
            if found is None:
                raise NotFound(uid)
            rowid, doc = found
            if doc.get("status") not in ("error", "retry"):
                raise WrongTaskStatus(uid, str(doc.get("status")))
            doc["status"] = "scheduled"
            doc["eta"] = format_stored_time(eta or now)
            doc["worker_id"] = None
            return self._update(rowid, self._stamped(doc, now))

    def by_unique_key(self, unique_key: str, namespace: str | None, stati: Sequence[str]) -> str:
        sql = "SELECT doc FROM tasks WHERE unique_key = ? AND status IN ({})".format(
            ",".join("?" * len(stati))
        )
        params: list[Any] = [unique_key, *stati]
        if namespace is not None:
            sql += " AND namespace = ?"
            params.append(namespace)
        rows = self.db.execute(sql + " ORDER BY rowid LIMIT 2", params).fetchall()
        if not rows:
            raise NoTaskFoundForUniqueKey(unique_key)
        if len(rows) > 1 and namespace is None:
            raise TaskUniqueKeyNotUnique(unique_key)
        return rows[0][0]

    def delete_by_unique_key(self, unique_key: str) -> None:
        with self.transaction():
            uid = json.loads(self.by_unique_key(unique_key, None, PENDING))["uid"]
            self.db.execute("DELETE FROM tasks WHERE uid = ?", (uid,))

    # -- workers ----------------------------------------------------------------------------

    def claim(self, worker_id: str, namespace: str, lease: int = LEASE_SECONDS) -> StoredDoc | None:
        """The next due task of the namespace, set to processing for ``worker_id``."""
        now = utcnow()
        with self.transaction():
            row = self.db.execute(
                "SELECT rowid, doc FROM tasks INDEXED BY tasks_claim"
                " WHERE namespace = ? AND worker_id IS NULL AND status IN ('scheduled', 'retry')"
                " AND eta <= ? ORDER BY priority, eta, rowid LIMIT 1",
                (namespace, sort_key(now)),
            ).fetchone()
            if row is None:
                return None
            doc = json.loads(row[1])
            doc["status"] = "processing"
            doc["worker_id"] = worker_id
            doc["worker_expires"] = format_stored_time(now + dt.timedelta(seconds=lease))
            return self._update(row[0], self._stamped(doc, now), picked=_CLAIMED)

    def cleanup(self, now: dt.datetime | None = None) -> tuple[int, int]:
        """Release claims whose lease ran out; delete tasks past ``expires``. Returns the counts."""
        now = now or utcnow()
        key = sort_key(now)
        with self.transaction():
            rows = self.db.execute(
                "SELECT rowid, doc FROM tasks WHERE worker_expires IS NOT NULL AND worker_expires < ?", (key,)
            ).fetchall()
            for rowid, text in rows:
                doc = json.loads(text)
                worker = doc.get("worker_id")
                doc["status"] = "scheduled"
                doc["worker_id"] = None
                doc["worker_expires"] = None
                self._update(rowid, self._stamped(doc, now))
                log.info("Released task %s (lease of worker %s ran out)", doc["uid"], worker)
        deleted = self._delete_all(
            "SELECT rowid FROM tasks WHERE expires IS NOT NULL AND expires < ? LIMIT ?", (key,)
        )
        if deleted:
            log.info("Removed %d expired task(s)", deleted)
        return len(rows), deleted

    def delete_ended(self, status: str, before: dt.datetime) -> int:
        """Delete the tasks of ``status`` (done or error) whose last write was before ``before``
        (retention); the count."""
        return self._delete_all(
            f"SELECT rowid FROM tasks INDEXED BY tasks_ended WHERE {ENDED_WHERE}"
            f" AND status = ? AND {ENDED_AT} < ? LIMIT ?",
            (status, format_stored_time(before)),
        )

    def _delete_all(self, select: str, params: tuple[Any, ...]) -> int:
        """Delete the rows ``select`` (rowids, ending in ``LIMIT ?``) picks, in transactions of
        at most :data:`DELETE_BATCH` rows, so a claim never waits for all of them; the count."""
        deleted = 0
        while True:
            started = time.monotonic()
            with self.transaction():
                batch = self.db.execute(
                    f"DELETE FROM tasks WHERE rowid IN ({select})", (*params, DELETE_BATCH)
                ).rowcount
            deleted += batch
            if batch < DELETE_BATCH:
                return deleted
            self._give_way(started)

    def vacuum_step(self, pages: int = VACUUM_STEP) -> int:
        """Give at most ``pages`` free pages back to the filesystem (the file shrinks at the
        next checkpoint); the number given back. A full step is followed by
        :meth:`_give_way`."""
        started = time.monotonic()
        with self.transaction():
            before = self.db.execute("PRAGMA freelist_count").fetchone()[0]
            if before:
                # each row of the pragma is one page moved: it only runs as far as it is read
                self.db.execute(f"PRAGMA incremental_vacuum({int(pages)})").fetchall()
            given = before - self.db.execute("PRAGMA freelist_count").fetchone()[0]
        if given >= pages:
            self._give_way(started)
        return given

    def _give_way(self, started: float) -> None:
        """Between two transactions of a background job (cleanup, vacuum), begun at ``started``:

        - copy the log into the database (``PASSIVE``: no lock taken, claims go on), so the
          log never grows to SQLite's automatic checkpoint, which the next commit would run
          holding the store's lock (seen: a claim waiting 477 ms in 100,000 deletions);
        - pause as long as the transaction held the lock (at most :data:`MAX_GIVE_WAY`
          seconds): a thread's lock is not fair, and a job taking it again at once starves
          the claims waiting for it (seen: 16 claims in 0.6 s of deletions, against ~900 a
          second otherwise). Background work so takes at most half of the write time."""
        held = time.monotonic() - started
        with contextlib.suppress(sqlite3.OperationalError):  # a checkpoint already under way
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        time.sleep(min(held, MAX_GIVE_WAY))

    def space(self) -> dict[str, int]:
        """Bytes of the database file and of its write-ahead log, pages and free pages."""
        page_size = self.db.execute("PRAGMA page_size").fetchone()[0]
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        sizes = {}
        for name, file in (("file_bytes", self._file), ("wal_bytes", f"{self._file}-wal")):
            try:
                sizes[name] = os.stat(file).st_size
            except OSError:
                sizes[name] = 0
        return {**sizes, "page_size": page_size, "pages": pages, "free_pages": free}

    # -- listings ---------------------------------------------------------------------------

    def query(
        self,
        filter: Mapping[str, Any] | None,
        *,
        sort: str | None = None,
        skip: int | None = None,
        limit: int | None = None,
        by_task_order: bool = False,
    ) -> tuple[list[tuple[str, str]], int]:
        """``([(uid, doc_text), ...], max_results)`` for a MongoDB filter, sort and page."""
        self._check_file()  # a reader connection opened now could not find a deleted file
        try:
            where, params = compile_filter(filter)
            extra = (
                [
                    (
                        "CASE status "
                        + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(BY_TASK_STATUS_ORDER))
                        + " ELSE 5 END",
                        "ASC",
                    ),
                    ("eta", "DESC"),
                ]
                if by_task_order
                else []
            )
            order = compile_sort(None if by_task_order else sort, extra)
        except FilterError as exc:
            raise UnsupportedFilter(str(exc)) from None
        skip = skip or None
        limit = limit or None
        sql = f"SELECT uid, doc FROM tasks WHERE {where} ORDER BY {order}"
        page_params = list(params)
        if limit is not None or skip is not None:
            sql += " LIMIT ? OFFSET ?"
            page_params += [limit if limit is not None else -1, skip or 0]
        try:
            with self._readers.connection(QUERY_TIME_LIMIT) as db:
                db.execute("BEGIN")  # one snapshot for the page and its count
                rows = db.execute(sql, page_params).fetchall()
                paged = limit is not None or skip is not None
                total = self._counts.count(db, where, params) if paged else len(rows)
        except sqlite3.OperationalError as exc:
            # stopped by the progress handler, or by the deadline check in the $regex function
            if str(exc) == "interrupted" or time.monotonic() >= stopped_at(exc):
                raise QueryTooSlow(QUERY_TIME_LIMIT) from None
            raise
        return rows, total

    def namespaces(self) -> list[str]:
        rows = self.db.execute(
            "SELECT DISTINCT namespace FROM tasks"
            " WHERE namespace IS NOT NULL AND namespace != '' ORDER BY namespace"
        ).fetchall()
        return [r[0] for r in rows]

    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("scheduled", "processing", "retry", "error", "done"), 0)
        for status, count in self.db.execute("SELECT status, COUNT(*) FROM tasks GROUP BY status"):
            counts[status] = count
        return counts
