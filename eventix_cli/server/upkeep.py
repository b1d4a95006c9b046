"""The server's periodic cleanup, and what it did: expired claims released, tasks past their
``expires`` deleted, finished tasks past their retention (``--keep-done``, ``--keep-error``)
deleted, and the pages they freed given back to the filesystem.

Each step is a short transaction of its own (:data:`~eventix_cli.server.store.DELETE_BATCH`
tasks, :data:`~eventix_cli.server.store.VACUUM_STEP` pages), run in a thread: a claim waits for
one step at most, and the event loop for none.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import asdict, dataclass, field

from eventix_cli.core.times import utcnow
from eventix_cli.server.store import VACUUM_STEP, TaskStore

log = logging.getLogger(__name__)

#: free pages below which the cleanup leaves them for new tasks to reuse (1 MiB of 4 KiB pages)
VACUUM_THRESHOLD = 256
#: vacuum steps one cleanup takes at most (the rest waits for the next cleanup)
MAX_VACUUM_STEPS = 1024


@dataclass(frozen=True)
class Retention:
    """How long finished tasks are kept after they ended; ``None`` keeps them (the default)."""

    keep_done: dt.timedelta | None = None
    keep_error: dt.timedelta | None = None

    def cutoffs(self, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
        """``(status, ended before)`` of the tasks to delete now."""
        kept = (("done", self.keep_done), ("error", self.keep_error))
        return [(status, now - keep) for status, keep in kept if keep is not None]


@dataclass
class CleanupFigures:
    """Totals since the server started, for ``/metrics``."""

    runs: int = 0
    failures: int = 0
    released: int = 0
    expired_deleted: int = 0
    retention_deleted: int = 0
    pages_given_back: int = 0
    last_run_seconds: float | None = None
    last_run_at: float | None = field(default=None, repr=False)  # time.time()

    def as_json(self) -> dict[str, object]:
        figures = asdict(self)
        at = figures.pop("last_run_at")
        figures["last_run_age_seconds"] = None if at is None else round(time.time() - at, 3)
        return figures


class Cleanup:
    """One store's cleanup, run by :func:`eventix_cli.server.app.cleanup_loop` in a thread."""

    def __init__(self, store: TaskStore, retention: Retention | None = None) -> None:
        self.store = store
        self.retention = retention or Retention()
        self.figures = CleanupFigures()
        self._lock = threading.Lock()  # one run at a time

    def run(self, now: dt.datetime | None = None) -> None:
        """One cleanup; its counts are added to :attr:`figures`, a failure counted and raised."""
        now = now or utcnow()
        started = time.monotonic()
        with self._lock:
            try:
                released, expired = self.store.cleanup(now)
                ended = 0
                for status, before in self.retention.cutoffs(now):
                    deleted = self.store.delete_ended(status, before)
                    if deleted:
                        log.info("Removed %d %s task(s) that ended before %s", deleted, status, before)
                    ended += deleted
                pages = self._give_space_back()
            except Exception:
                self.figures.failures += 1
                raise
            finally:
                self.figures.runs += 1
                self.figures.last_run_at = time.time()
                self.figures.last_run_seconds = round(time.monotonic() - started, 6)
            self.figures.released += released
            self.figures.expired_deleted += expired
            self.figures.retention_deleted += ended
            self.figures.pages_given_back += pages

    def _give_space_back(self) -> int:
        """Free pages back to the filesystem in steps, when there are enough to bother."""
        if self.store.space()["free_pages"] < VACUUM_THRESHOLD:
            return 0
        given = 0
        for _ in range(MAX_VACUUM_STEPS):
            step = self.store.vacuum_step(VACUUM_STEP)
            given += step
            if step < VACUUM_STEP:
                break
        if given:
            log.info("Gave %d free page(s) of the database back to the filesystem", given)
        return given
