"""The worker's metrics recorder, scraped over HTTP and parsed by prometheus_client's parser."""

from __future__ import annotations

import socket
import threading

import pytest

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
    metrics = PrometheusWorkerMetrics()
    served = metrics.serve("127.0.0.1", 0)
    metrics.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", served.port), timeout=5).close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", served.port))
        assert sock.getsockname()[1] == served.port


def test_the_default_recorder_does_nothing() -> None:
    threads = set(threading.enumerate())
    NO_METRICS.record_outcome("add", "done", 1.0)
    NO_METRICS.outage()
    with NO_METRICS.busy(), NO_METRICS.busy():  # reusable, re-entrant
        pass
    NO_METRICS.close()
    assert NO_METRICS.busy() is NO_METRICS.busy()  # nothing allocated per task
    assert vars(NO_METRICS) == {}  # nothing recorded
    assert set(threading.enumerate()) == threads  # nothing served


def test_worker_process_serves_metrics_of_the_tasks_it_ran(tmp_path) -> None:
    """A real `eventix worker --metrics-port` process: outcomes, durations and the busy gauge
    match the tasks the test enqueued; an outage is counted; the exporter agrees on the counts."""
    import signal

    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.task import Task
    from eventix_cli.metrics.exporter import QueueCollector, make_registry
    from eventix_cli.metrics.http import serve_registry
    from tests.support.servers import free_port, start_server
    from tests.support.workers import WorkerProcess, wait_for

    server = start_server("embedded", tmp_path, extra_args=["--db", str(tmp_path / "db.sqlite3")])
    ns = "metrics"
    marker = tmp_path / "started"
    with EventixClient(server.url) as client:
        for task, args, retry in (
            ("add", [1, 2], True),
            ("add", [3, 4], True),
            ("fails_once_for_good", [], False),
            ("flaky", ["again"], True),
            ("sleep_for", [0.6, str(marker)], True),
        ):
            client.post_task(Task(task=task, namespace=ns, args=args, retry=retry).to_wire())
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    worker = WorkerProcess(
        server.url,
        ns,
        tmp_path,
        ["--metrics-port", str(port), "--concurrency", "2", "--poll-interval", "0.1"],
    )

    def samples() -> dict:
        try:
            return scrape(url, timeout=2.0)
        except OSError:
            return {}

    try:
        wait_for(marker.exists, timeout=60, what=worker.log)
        wait_for(lambda: value(samples(), "eventix_worker_busy_threads") == 1, timeout=10, what=worker.log)

        def ended() -> float:
            return sum(v for (name, _), v in samples().items() if name == "eventix_worker_tasks_total")

        wait_for(lambda: ended() == 5, timeout=30, what=worker.log)
        ran = samples()
        with EventixClient(server.url) as client:
            collector = QueueCollector(client, ns)
            assert collector.refresh()
            served = serve_registry(make_registry(collector))
            try:
                queue = scrape(served.url)
            finally:
                served.close()
        server.stop()
        wait_for(
            lambda: value(samples(), "eventix_worker_server_outages_total") == 1, timeout=30, what=worker.log
        )
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0
    finally:
        worker.stop()
        server.stop()

    def tasks_total(task: str, outcome: str) -> float | None:
        return value(ran, "eventix_worker_tasks_total", task=task, outcome=outcome)

    assert tasks_total("add", "done") == 2
    assert tasks_total("add", "error") == 0  # registered tasks start at 0
    assert tasks_total("fails_once_for_good", "error") == 1
    assert tasks_total("flaky", "retry") == 1
    assert tasks_total("sleep_for", "done") == 1
    assert value(ran, "eventix_worker_task_duration_seconds_count", task="add") == 2
    assert value(ran, "eventix_worker_task_duration_seconds_count", task="sleep_for") == 1
    assert 0.6 <= value(ran, "eventix_worker_task_duration_seconds_sum", task="sleep_for") < 10
    assert value(ran, "eventix_worker_busy_threads") == 0
    assert value(ran, "eventix_worker_server_outages_total") == 0
    # the exporter counts the same tasks on the server
    for status, count in {"done": 3, "error": 1, "retry": 1, "scheduled": 0, "processing": 0}.items():
        assert value(queue, "eventix_tasks", namespace=ns, status=status) == count, status
    assert "metrics at http://127.0.0.1:" in worker.log()


def test_worker_without_the_flag_serves_nothing(embedded_url, namespace, tmp_path) -> None:
    from tests.support.workers import WorkerProcess

    worker = WorkerProcess(embedded_url, namespace, tmp_path, ["--burst"])
    assert worker.wait(60) == 0
    assert "metrics at" not in worker.log()


def test_metrics_port_in_use_is_a_one_line_error(embedded_url, namespace, tmp_path) -> None:
    import socket

    from tests.support.workers import WorkerProcess

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        worker = WorkerProcess(embedded_url, namespace, tmp_path, ["--burst", "--metrics-port", str(port)])
        assert worker.wait(60) == 2
    log = worker.log()
    assert f"error: cannot listen on 127.0.0.1:{port} for --metrics-port" in log
    assert "Traceback" not in log
