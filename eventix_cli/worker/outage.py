"""Server outages as every worker thread sees them: one log line per outage, a capped backoff."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from eventix_cli.core.errors import ApiError, TransportError
from eventix_cli.core.times import format_elapsed

log = logging.getLogger(__name__)


class Outage:
    """Shared by the claim loops, the write-backs and the lease renewals of one worker."""

    def __init__(self, base: float, cap: float, on_start: Callable[[], None] | None = None) -> None:
        self.base = base
        self.cap = cap
        self.on_start = on_start  # called once when an outage begins (the metrics' counter)
        self._lock = threading.Lock()
        self._since: float | None = None
        self._attempts = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter, never more than ``cap`` seconds."""
        return min(self.cap, self.base * (2 ** min(attempt, 32))) * (0.5 + random.random() / 2)

    def next_delay(self) -> float:
        """The wait before the next claim during this outage (grows per attempt, capped)."""
        with self._lock:
            attempt = self._attempts
            self._attempts += 1
        return self.delay(attempt)

    def started(self, exc: TransportError | ApiError) -> None:
        """Logged once per outage, whichever request (claim, write-back, renewal) noticed it."""
        with self._lock:
            if self._since is not None:
                return
            self._since = time.monotonic()
            self._attempts = 0
        if self.on_start is not None:
            self.on_start()
        log.warning("server unreachable: %s; retrying with backoff", exc.message)

    def recovered(self, sent: float) -> None:
        """A request sent at ``sent`` succeeded. It ends an outage only if it was sent after the
        outage began: one already in flight says nothing about the server now."""
        if self._since is None:
            return
        with self._lock:
            since = self._since
            if since is None or sent < since:
                return
            self._since = None
        log.info("server reachable again after %s", format_elapsed(time.monotonic() - since))
