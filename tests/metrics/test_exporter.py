"""The Prometheus exporter: figures from both servers, a constant refresh cost, scrapes that
never wait on the Eventix server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task, TaskStatus
from eventix_cli.metrics.exporter import QueueCollector, make_registry
from eventix_cli.metrics.http import serve_registry
from tests.support.metrics import CountingClient, scrape, value
from tests.support.tasks import ago, failed, seed


@pytest.fixture
def serve() -> Iterator:
    servers = []

    def start(collector: QueueCollector):
        served = serve_registry(make_registry(collector), "127.0.0.1", 0)
        servers.append(served)
        return served

    yield start
    for served in servers:
        served.close()


def test_counts_per_status_and_oldest_due_from_both_servers(server, namespace, serve) -> None:
    seed(server.url, namespace, 3)
    seed(server.url, namespace, 1, eta=ago(seconds=120))
    failed(server.url, namespace, 2)
    seed(server.url, namespace, 1, status=TaskStatus.done)
    seed(server.url, namespace, 1, status=TaskStatus.retry, eta=ago(seconds=-3600))  # not due yet
    other = f"{namespace}-other"
    seed(server.url, other, 4, status=TaskStatus.done)
    with EventixClient(server.url, retries=0) as client:
        collector = QueueCollector(client, namespace)
        assert collector.refresh()
        samples = scrape(serve(collector).url)

    expected = {"scheduled": 4, "processing": 0, "retry": 1, "error": 2, "done": 1}
    for status, count in expected.items():
        assert value(samples, "eventix_tasks", namespace=namespace, status=status) == count, status
    assert value(samples, "eventix_tasks", namespace=other, status="done") is None  # one namespace only
    waited = value(samples, "eventix_oldest_due_seconds", namespace=namespace)
    assert 120 <= waited < 120 + 60
    assert value(samples, "eventix_exporter_up") == 1
    assert 0 < value(samples, "eventix_exporter_refresh_seconds") < 10
    assert abs(value(samples, "eventix_exporter_last_success_timestamp_seconds") - time.time()) < 60
    assert value(samples, "eventix_exporter_refresh_failures_total") == 0


def test_every_namespace_and_zero_when_nothing_is_due(embedded_url, namespace, serve) -> None:
    seed(embedded_url, namespace, 2, status=TaskStatus.done)
    seed(embedded_url, f"{namespace}-b", 1, eta=ago(seconds=-3600))
    with EventixClient(embedded_url, retries=0) as client:
        collector = QueueCollector(client, None)
        assert collector.refresh()
        names = client.namespaces()
        samples = scrape(serve(collector).url)
    assert value(samples, "eventix_tasks", namespace=namespace, status="done") == 2
    assert value(samples, "eventix_tasks", namespace=f"{namespace}-b", status="scheduled") == 1
    # nothing due: 0, not absent
    assert value(samples, "eventix_oldest_due_seconds", namespace=namespace) == 0
    assert value(samples, "eventix_oldest_due_seconds", namespace=f"{namespace}-b") == 0
    reported = {dict(labels)["namespace"] for name, labels in samples if name == "eventix_tasks"}
    assert reported == set(names)


def _refresh_cost(url: str, namespace: str | None) -> tuple[int, int]:
    with CountingClient(url, retries=0) as client:
        assert QueueCollector(client, namespace).refresh()
        return len(client.sent), sum(size for _, _, size in client.sent)


def test_refresh_sends_a_constant_number_of_small_requests(embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 3)
    failed(embedded_url, namespace, 2)
    few_requests, few_bytes = _refresh_cost(embedded_url, namespace)
    assert few_requests == 7  # five statuses, and the oldest due task of each pending status

    # more than two pages of the client's keyset walk (500), in several statuses
    with EventixClient(embedded_url) as client:
        for i in range(1_100):
            client.post_task(
                Task(task="job", namespace=namespace, status=("scheduled", "done")[i % 2]).to_wire()
            )
    many_requests, many_bytes = _refresh_cost(embedded_url, namespace)
    assert many_requests == few_requests
    assert many_bytes < few_bytes * 1.5  # one-item pages, whatever the count

    with EventixClient(embedded_url) as client:
        names = len(client.namespaces())
    every_requests, _ = _refresh_cost(embedded_url, None)
    assert every_requests == 1 + 7 * names


def test_a_scrape_never_waits_on_a_hanging_server(serve) -> None:
    """Load-independent: the scrape answers while the first refresh still waits on a server
    that accepted its connection and never answers (the refresh waits longer than the test)."""
    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(16)
    hanging.settimeout(30)
    url = f"http://127.0.0.1:{hanging.getsockname()[1]}"
    stop = threading.Event()
    accepted: list[socket.socket] = []
    with EventixClient(url, retries=0, timeout=120.0) as client:
        collector = QueueCollector(client, "default")
        refreshed: list[bool] = []
        refresh = collector.refresh

        def counted_refresh() -> bool:
            refreshed.append(refresh())
            return refreshed[-1]

        collector.refresh = counted_refresh  # type: ignore[method-assign]
        loop = threading.Thread(target=collector.run, args=(stop, 0.2))
        loop.start()
        try:
            served = serve(collector)
            accepted.append(hanging.accept()[0])  # the first refresh is now waiting on it
            samples = scrape(served.url, timeout=30)
            assert refreshed == [], "the scrape answered only once the refresh had ended"
        finally:
            stop.set()
            for conn in accepted:
                conn.close()
            hanging.close()  # the refresh fails at once, and the loop ends
            loop.join(30)
    assert not loop.is_alive()
    assert value(samples, "eventix_exporter_up") == 0
    assert value(samples, "eventix_exporter_last_success_timestamp_seconds") == 0


def test_a_failed_refresh_keeps_the_last_values(embedded_url, namespace, serve) -> None:
    seed(embedded_url, namespace, 2)
    with EventixClient(embedded_url, retries=0) as good:
        collector = QueueCollector(good, namespace)
        assert collector.refresh()
        first = scrape(serve(collector).url)
    # the same collector now reads a port nothing listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with EventixClient(dead, retries=0, timeout=2.0) as bad:
        collector.client = bad
        assert not collector.refresh()
        assert not collector.refresh()
    after = scrape(serve(collector).url)
    assert value(after, "eventix_exporter_up") == 0
    assert value(after, "eventix_exporter_refresh_failures_total") == 2
    assert value(after, "eventix_tasks", namespace=namespace, status="scheduled") == 2
    assert value(after, "eventix_exporter_last_success_timestamp_seconds") == value(
        first, "eventix_exporter_last_success_timestamp_seconds"
    )


def test_refreshes_reuse_their_connections(embedded_url, namespace) -> None:
    """A long-running exporter must not open new connections on every refresh."""
    import psutil

    port = int(embedded_url.rsplit(":", 1)[1])

    def open_connections() -> set[int]:
        return {
            conn.laddr.port
            for conn in psutil.Process().net_connections("tcp")
            if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
        }

    seed(embedded_url, namespace, 2)
    seen: set[int] = set()
    with EventixClient(embedded_url, retries=0) as client:
        collector = QueueCollector(client, namespace)
        try:
            for refresh in range(1, 23):
                assert collector.refresh()
                if refresh in (2, 12, 22):  # new connections on every refresh: new ports each time
                    seen |= open_connections()
        finally:
            collector.close()
    # one connection per refresh thread (six), kept across the refreshes: load-independent,
    # unlike comparing counts after the first refreshes and after the last (a loaded machine
    # may spread the first refreshes' requests over fewer of the threads)
    assert 0 < len(seen) <= 6, seen


def test_a_huge_namespace_list_is_capped_and_said_so(embedded_url, namespace, caplog) -> None:
    # -A against a server with a flood of namespaces: six requests per namespace per refresh and
    # a series per namespace and status would have no bound; the first ones (by name) are kept
    class ManyNamespaces(EventixClient):
        def namespaces(self) -> list[str]:
            return [f"{namespace}-{i:02d}" for i in range(10, 0, -1)]

    with ManyNamespaces(embedded_url) as client:
        collector = QueueCollector(client, None, max_namespaces=3)
        try:
            assert collector.refresh()
        finally:
            collector.close()
    assert sorted(collector.figures.counts) == [f"{namespace}-{i:02d}" for i in (1, 2, 3)]
    assert "10 namespaces; only the first 3 (by name) are exported" in caplog.text
