"""Connections for listings: a small pool beside the store's main connection.

In WAL mode a reader does not wait for writers nor they for it, so a long listing (a scan,
a $regex on every row), run in a thread on one of these, never holds up claims, writes or
``/healthz`` on the event loop; only the scheduled checkpoint holds new listings back a
moment. Every listing has a deadline: SQLite's progress handler and the $regex function
stop it there.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator

from eventix_cli.server.patterns import deadline


def stopped_at(exc: BaseException) -> float:
    """When the listing that raised ``exc`` was to stop (``inf`` if unknown)."""
    return getattr(exc, "stop_at", float("inf"))


class ReaderPool:
    """At most ``size`` reader connections, made as needed and kept. A checkpoint can hold new
    listings back until those running have ended (:meth:`paused`): a reader on an older
    snapshot keeps SQLite from restarting the write-ahead log, and readers that always overlap
    would let it grow without end."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], size: int) -> None:
        self._connect = connect
        self._size = size
        self._idle: list[sqlite3.Connection] = []
        self._count = 0  # connections made
        self._busy = 0  # connections in use
        self._paused = False
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def connection(self, time_limit: float) -> Iterator[sqlite3.Connection]:
        """A connection for one listing, which stops after ``time_limit`` seconds (an
        ``sqlite3.OperationalError`` carrying its deadline, see :func:`stopped_at`)."""
        db = self._take()
        stop_at = time.monotonic() + time_limit
        db.set_progress_handler(lambda: time.monotonic() > stop_at, 10_000)
        try:
            with deadline(stop_at):
                yield db
        except sqlite3.OperationalError as exc:
            exc.stop_at = stop_at  # type: ignore[attr-defined]
            raise
        finally:
            db.set_progress_handler(None, 0)
            if db.in_transaction:
                db.execute("ROLLBACK")
            with self._changed:
                self._idle.append(db)
                self._busy -= 1
                self._changed.notify_all()

    def _take(self) -> sqlite3.Connection:
        """An idle connection, or a new one while fewer than ``size`` exist; otherwise (or while
        paused) wait for one (in a worker thread)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._paused and (self._idle or self._count < self._size))
            self._busy += 1
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            return self._connect()
        except BaseException:
            with self._changed:
                self._count -= 1
                self._busy -= 1
                self._changed.notify_all()
            raise

    @contextlib.contextmanager
    def paused(self, wait: float) -> Iterator[bool]:
        """No listing starts meanwhile; yields True once none runs, False when one still runs
        after ``wait`` seconds. One pause at a time (the checkpoint's)."""
        with self._changed:
            self._paused = True
            quiet = self._changed.wait_for(lambda: self._busy == 0, wait)
        try:
            yield quiet
        finally:
            with self._changed:
                self._paused = False
                self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            for db in self._idle:
                db.close()
            self._idle.clear()
