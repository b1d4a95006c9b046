"""Connections for listings: a small pool beside the store's main connection.

In WAL mode a reader does not wait for writers nor they for it, so a long listing (a scan,
a $regex on every row), run in a thread on one of these, never holds up claims, writes or
``/healthz`` on the event loop. Every listing has a deadline: SQLite's progress handler and
the $regex function stop it there.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator

from eventix_cli.server.patterns import deadline


def stopped_at(exc: BaseException) -> float:
    """When the listing that raised ``exc`` was to stop (``inf`` if unknown)."""
    return getattr(exc, "stop_at", float("inf"))


class ReaderPool:
    def __init__(self, connect: Callable[[], sqlite3.Connection], size: int) -> None:
        self._connect = connect
        self._size = size
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._count = 0
        self._lock = threading.Lock()

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
            self._idle.put(db)

    def _take(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._count < self._size
            if grow:
                self._count += 1
        if not grow:
            return self._idle.get()  # all busy: wait for one (in a worker thread)
        try:
            return self._connect()
        except BaseException:
            with self._lock:
                self._count -= 1
            raise

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()
