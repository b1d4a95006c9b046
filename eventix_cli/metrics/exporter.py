"""The Prometheus exporter behind ``eventix exporter``: queue figures of any Eventix server.

A background loop refreshes the figures every ``interval`` seconds; a scrape only reads the
last refresh, so it never waits on the Eventix server. A refresh costs a fixed number of
requests however many tasks there are: one ``limit=1`` query per namespace and status (the
page's ``max_results`` is the count), one for the oldest due task of each namespace, and with
every namespace one ``GET /namespaces`` (the same queries as ``eventix stats``). A failed
refresh keeps the last values and sets ``eventix_exporter_up`` to 0.

No Typer, no rich: :mod:`eventix_cli.cli.commands.exporter` starts this.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from eventix_cli.client.monitor import STATUS_ORDER, namespace_counts
from eventix_cli.core.errors import EventixCliError
from eventix_cli.core.times import format_elapsed, utcnow

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient

log = logging.getLogger(__name__)

DEFAULT_PORT = 9464
DEFAULT_INTERVAL = 15.0


@dataclass(frozen=True)
class QueueFigures:
    """What one successful refresh saw."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # namespace -> status -> count
    oldest_due: dict[str, float] = field(default_factory=dict)  # namespace -> seconds waited (0: none)
    taken: float = 0.0  # unix time of the refresh


#: namespaces read per refresh with -A: each costs six requests and six series
MAX_NAMESPACES = 1000


class QueueCollector(Collector):
    """Refreshes queue figures from an Eventix server and exposes the last ones to Prometheus.

    Args:
        client: the Eventix server to read.
        namespace: one namespace, or None for every namespace the server lists.
        clock: wall-clock seconds (for the last-success timestamp).
    """

    def __init__(
        self,
        client: EventixClient,
        namespace: str | None,
        *,
        clock: Callable[[], float] = time.time,
        max_namespaces: int = MAX_NAMESPACES,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.max_namespaces = max_namespaces
        self._clock = clock
        self._lock = threading.Lock()
        self.figures = QueueFigures()
        self.up = False
        self.refresh_seconds = 0.0
        self.failures = 0
        self._failing = False
        # the same six threads on every refresh: the client keeps one connection per thread
        self._pool = ThreadPoolExecutor(6, thread_name_prefix="refresh")

    def close(self) -> None:
        """Stop the refresh threads (the client is the caller's to close)."""
        self._pool.shutdown(wait=True)

    # -- refreshing -------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Read the server once; True when it answered. A failure keeps the last figures."""
        started = time.perf_counter()
        try:
            figures = self._read()
        except (EventixCliError, ValueError) as exc:  # ValueError: a body that is not a page
            elapsed = time.perf_counter() - started
            reason = getattr(exc, "message", None) or str(exc)
            with self._lock:
                self.up = False
                self.refresh_seconds = elapsed
                self.failures += 1
                first = not self._failing
                self._failing = True
            if first:
                log.warning("refresh failed: %s; keeping the last values (eventix_exporter_up 0)", reason)
            else:
                log.debug("refresh failed again: %s", reason)
            return False
        elapsed = time.perf_counter() - started
        with self._lock:
            self.figures = figures
            self.up = True
            self.refresh_seconds = elapsed
            recovered = self._failing
            self._failing = False
        if recovered:
            log.info("refresh succeeded again")
        log.debug("refreshed %d namespace(s) in %s", len(figures.counts), format_elapsed(elapsed))
        return True

    def _read(self) -> QueueFigures:
        now = utcnow()
        names = self.client.namespaces() if self.namespace is None else [self.namespace]
        if len(names) > self.max_namespaces:
            log.warning(
                "the server lists %d namespaces; only the first %d (by name) are exported",
                len(names),
                self.max_namespaces,
            )
            names = sorted(names)[: self.max_namespaces]
        counts: dict[str, dict[str, int]] = {}
        oldest: dict[str, float] = {}
        for name in names:
            row = namespace_counts(self.client, name, now, self._pool)
            counts[name] = {status: int(row[status]) for status in STATUS_ORDER}
            oldest[name] = float(row["oldest_due_seconds"] or 0.0)
        return QueueFigures(counts, oldest, self._clock())

    def run(self, stop: threading.Event, interval: float) -> None:
        """Refresh every ``interval`` seconds (start to start) until ``stop`` is set."""
        next_at = time.monotonic()
        while not stop.is_set():
            self.refresh()
            next_at += interval
            delay = next_at - time.monotonic()
            if delay < 0:  # a refresh took longer than the interval: start again now
                next_at = time.monotonic()
                delay = 0
            stop.wait(delay)

    # -- scraping ---------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            figures, up, seconds, failures = self.figures, self.up, self.refresh_seconds, self.failures
        tasks = GaugeMetricFamily(
            "eventix_tasks",
            "Tasks per namespace and status, as of the last successful refresh.",
            labels=["namespace", "status"],
        )
        for name, counts in sorted(figures.counts.items()):
            for status in STATUS_ORDER:
                tasks.add_metric([name, status], counts.get(status, 0))
        yield tasks
        oldest = GaugeMetricFamily(
            "eventix_oldest_due_seconds",
            "How long the oldest due, unclaimed task of the namespace has waited; 0 when none.",
            labels=["namespace"],
        )
        for name, waited in sorted(figures.oldest_due.items()):
            oldest.add_metric([name], waited)
        yield oldest
        yield GaugeMetricFamily(
            "eventix_exporter_up", "1 when the last refresh succeeded, 0 when it failed.", value=int(up)
        )
        yield GaugeMetricFamily(
            "eventix_exporter_refresh_seconds", "How long the last refresh took.", value=seconds
        )
        yield GaugeMetricFamily(
            "eventix_exporter_last_success_timestamp_seconds",
            "Unix time of the last successful refresh (0: none yet); the values are that old.",
            value=figures.taken,
        )
        yield CounterMetricFamily(
            "eventix_exporter_refresh_failures", "Refreshes that failed.", value=failures
        )


def make_registry(collector: QueueCollector) -> CollectorRegistry:
    """A registry holding only ``collector`` (no process or platform metrics of this process)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
