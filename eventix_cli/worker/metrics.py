"""Worker metrics for Prometheus (``eventix worker --metrics-port``).

The worker reports through a :class:`WorkerMetrics` recorder at three points: a task's end
(:meth:`~WorkerMetrics.record_outcome`, after its write-back), the run of a task
(:meth:`~WorkerMetrics.busy`, around the call) and the start of a server outage
(:meth:`~WorkerMetrics.outage`). The default recorder, :data:`NO_METRICS`, does nothing and
imports nothing: without the flag, prometheus_client is never loaded and the hot path pays
one no-op call per hook. :func:`start_metrics` builds the Prometheus recorder and serves it:

- ``eventix_worker_tasks_total{task,outcome}`` (counter; outcome done, retry, error,
  released, discarded),
- ``eventix_worker_task_duration_seconds{task}`` (histogram of run times),
- ``eventix_worker_busy_threads`` (gauge: tasks running now),
- ``eventix_worker_server_outages_total`` (counter: outages begun).

No Typer, no rich.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from eventix_cli.metrics.http import LOOPBACK, MetricsServer, serve_registry

OUTCOMES = ("done", "retry", "error", "released", "discarded")
#: the worker's end-of-task words that are not outcome names: an outcome that could not be
#: written (the task was changed, deleted or released by someone else meanwhile) is discarded
_ALIASES = {"lost": "discarded", "abandoned": "discarded"}
#: run times from 5 ms to an hour
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
)

_NOT_BUSY = contextlib.nullcontext()


class WorkerMetrics:
    """A recorder that records nothing: the worker's default when metrics are off."""

    def record_outcome(self, task_name: str, outcome: str, seconds: float | None) -> None:
        """A task ended with ``outcome`` after running ``seconds`` (None: it did not finish)."""

    def busy(self) -> contextlib.AbstractContextManager[Any]:
        """Held while a task runs: the busy-threads gauge."""
        return _NOT_BUSY

    def outage(self) -> None:
        """An outage of the Eventix server began."""

    def close(self) -> None:
        """Stop serving (a no-op when nothing is served)."""


NO_METRICS = WorkerMetrics()


class PrometheusWorkerMetrics(WorkerMetrics):
    """Counts into a registry of its own (no process-wide state), served by :meth:`serve`."""

    def __init__(self, task_names: Iterable[str] = ()) -> None:
        # only with --metrics-port: a worker without it never loads prometheus_client
        # (tests/test_startup.py)
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        self.tasks = Counter(
            "eventix_worker_tasks",
            "Tasks this worker ended, by task name and outcome.",
            ["task", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "eventix_worker_task_duration_seconds",
            "How long tasks ran in this worker (the call only, not the write-back).",
            ["task"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.busy_threads = Gauge(
            "eventix_worker_busy_threads", "Threads running a task now.", registry=self.registry
        )
        self.outages = Counter(
            "eventix_worker_server_outages",
            "Outages of the Eventix server this worker met (each counted once, when it began).",
            registry=self.registry,
        )
        # the registered tasks start at 0, so rate() and increase() see their first error
        for name in task_names:
            for outcome in OUTCOMES:
                self.tasks.labels(name, outcome)
            self.duration.labels(name)
        self.server: MetricsServer | None = None

    def record_outcome(self, task_name: str, outcome: str, seconds: float | None) -> None:
        self.tasks.labels(task_name, _ALIASES.get(outcome, outcome)).inc()
        if seconds is not None:
            self.duration.labels(task_name).observe(seconds)

    def busy(self) -> contextlib.AbstractContextManager[Any]:
        return self.busy_threads.track_inprogress()

    def outage(self) -> None:
        self.outages.inc()

    def serve(self, host: str = LOOPBACK, port: int = 0) -> MetricsServer:
        """Serve ``/metrics`` on ``host:port`` (0 picks a free port); OSError when it cannot bind."""
        self.server = serve_registry(self.registry, host, port)
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


def start_metrics(host: str, port: int, task_names: Iterable[str] = ()) -> PrometheusWorkerMetrics:
    """A Prometheus recorder for a worker, already serving on ``host:port``."""
    metrics = PrometheusWorkerMetrics(task_names)
    metrics.serve(host, port)
    return metrics
