"""The worker's metrics recorder, scraped over HTTP and parsed by prometheus_client's parser."""

from __future__ import annotations

import threading

from eventix_cli.worker.metrics import NO_METRICS, PrometheusWorkerMetrics
from tests.support.metrics import scrape, value


def test_recorder_counts_outcomes_durations_busy_threads_and_outages() -> None:
    metrics = PrometheusWorkerMetrics(task_names=["add"])
    served = metrics.serve("127.0.0.1", 0)
    try:
        before = scrape(served.url)
        metrics.record_outcome("add", "done", 0.02)
        metrics.record_outcome("add", "done", 3.0)
        metrics.record_outcome("boom", "error", 0.5)
        metrics.record_outcome("boom", "retry", 0.5)
        metrics.record_outcome("add", "lost", 0.01)  # the worker's word for a dropped outcome
        metrics.record_outcome("add", "released", None)  # never finished: no duration
        metrics.outage()
        entered, leave = threading.Event(), threading.Event()

        def run() -> None:
            with metrics.busy():
                entered.set()
                leave.wait(10)

        thread = threading.Thread(target=run)
        thread.start()
        entered.wait(10)
        with metrics.busy():
            during = scrape(served.url)
        leave.set()
        thread.join(10)
        after = scrape(served.url)
    finally:
        metrics.close()

    # registered tasks are exported at 0 before anything ran, so rate() sees the first error
    for outcome in ("done", "retry", "error", "released", "discarded"):
        assert value(before, "eventix_worker_tasks_total", task="add", outcome=outcome) == 0
    assert value(before, "eventix_worker_task_duration_seconds_count", task="add") == 0
    assert value(before, "eventix_worker_busy_threads") == 0

    assert value(during, "eventix_worker_busy_threads") == 2
    assert value(after, "eventix_worker_busy_threads") == 0
    assert value(after, "eventix_worker_tasks_total", task="add", outcome="done") == 2
    assert value(after, "eventix_worker_tasks_total", task="add", outcome="discarded") == 1
    assert value(after, "eventix_worker_tasks_total", task="add", outcome="released") == 1
    assert value(after, "eventix_worker_tasks_total", task="boom", outcome="error") == 1
    assert value(after, "eventix_worker_tasks_total", task="boom", outcome="retry") == 1
    assert value(after, "eventix_worker_task_duration_seconds_count", task="add") == 3
    assert abs(value(after, "eventix_worker_task_duration_seconds_sum", task="add") - 3.03) < 1e-9
    assert value(after, "eventix_worker_task_duration_seconds_bucket", task="add", le="0.025") == 2
    assert value(after, "eventix_worker_task_duration_seconds_bucket", task="add", le="2.5") == 2
    assert value(after, "eventix_worker_task_duration_seconds_bucket", task="add", le="5.0") == 3
    assert value(after, "eventix_worker_server_outages_total") == 1


def test_close_frees_the_port() -> None:
    import socket

    metrics = PrometheusWorkerMetrics()
    port = metrics.serve("127.0.0.1", 0).port
    metrics.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_the_default_recorder_does_nothing() -> None:
    NO_METRICS.record_outcome("add", "done", 1.0)
    NO_METRICS.outage()
    with NO_METRICS.busy(), NO_METRICS.busy():  # reusable, re-entrant
        pass
    NO_METRICS.close()
