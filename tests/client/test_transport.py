"""Urllib3Transport: keep-alive reuse, stale connections, error mapping, proxies."""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading
import time
import types

import httpx
import pytest
import urllib3
from urllib3 import connection

from eventix_cli.client.api import EventixClient
from eventix_cli.client.sender import _default_transport
from eventix_cli.client.transport import Urllib3Transport
from eventix_cli.client.urllib3_connection import HTTPConnection
from eventix_cli.core.errors import ServerTimeout, ServerUnreachable
from tests.support.hostile_servers import clear_proxy_variables, drip_server, scripted_server
from tests.support.servers import free_port


@pytest.fixture(autouse=True)
def _direct(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback requests go straight to the test servers, whatever proxy the machine sets."""
    clear_proxy_variables(monkeypatch)


def _pool_of(transport: Urllib3Transport, url: str):
    return transport._manager.connection_from_url(url)


def test_keep_alive_is_reused_and_pooled_across_threads() -> None:
    with scripted_server(200, b'{"status": "healthy"}') as url:
        transport = Urllib3Transport()
        for _ in range(3):
            r = transport.handle_request(httpx.Request("GET", f"{url}/healthz"))
            assert r.status_code == 200
            assert r.json() == {"status": "healthy"}
        pool = _pool_of(transport, url)
        assert pool.num_connections == 1  # one connection carried all three
        seen: list[int] = []
        thread = threading.Thread(
            target=lambda: seen.append(transport.handle_request(httpx.Request("GET", f"{url}/x")).status_code)
        )
        thread.start()
        thread.join()
        assert seen == [200]
        assert pool.num_connections == 1  # the idle connection served the other thread too
        transport.close()


def test_idle_connection_is_replaced(monkeypatch) -> None:
    monkeypatch.setattr("eventix_cli.client.urllib3_connection.IDLE_REUSE_LIMIT", 0.05)
    with scripted_server(200, b"{}") as url:
        transport = Urllib3Transport()
        transport.handle_request(httpx.Request("GET", url))
        pool = _pool_of(transport, url)
        [conn] = [c for c in pool.pool.queue if c is not None]
        first = conn.sock
        transport.handle_request(httpx.Request("GET", url))
        assert conn.sock is first  # reused while fresh
        time.sleep(0.1)
        transport.handle_request(httpx.Request("GET", url))
        assert conn.sock is not first  # idle too long: closed and connected anew
        assert pool.num_connections == 1


def test_connection_closed_by_a_restarted_server_is_not_reused() -> None:
    """A server that went away (restart) leaves kept-alive connections at EOF; the next request,
    even a non-idempotent one, goes out on a fresh connection instead of failing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"

    old_closed = threading.Event()

    def serve() -> None:
        first, _ = listener.accept()  # one answer, kept alive, then closed: the old server
        first.recv(65536)
        first.sendall(answer)
        time.sleep(0.1)
        first.close()
        old_closed.set()
        second, _ = listener.accept()  # the restarted server
        second.recv(65536)
        second.sendall(answer)
        second.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    transport = Urllib3Transport()
    url = f"http://127.0.0.1:{port}/"
    assert transport.handle_request(httpx.Request("GET", url)).status_code == 200
    assert old_closed.wait(10)  # the old server closed the connection (was: a pause of 0.3 s)
    [kept] = [c for c in _pool_of(transport, url).pool.queue if c is not None]
    assert select.select([kept.sock], [], [], 10)[0]  # and its end of file has reached the client
    assert transport.handle_request(httpx.Request("GET", url + "tasks/next_scheduled")).status_code == 200
    thread.join(5)
    listener.close()


def test_errors_map_to_typed_client_errors() -> None:
    with (
        EventixClient(f"http://127.0.0.1:{free_port()}", retries=0) as client,
        pytest.raises(ServerUnreachable),
    ):
        client.health()

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:  # accepts the connection, never answers
        with (
            EventixClient(f"http://127.0.0.1:{port}", retries=0, timeout=0.3) as client,
            pytest.raises(ServerTimeout),
        ):
            client.health()
    finally:
        listener.close()


def test_server_closing_the_connection_is_a_transport_error() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve_once() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()  # no answer at all

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    with pytest.raises(httpx.RemoteProtocolError):
        Urllib3Transport().handle_request(httpx.Request("GET", f"http://127.0.0.1:{port}/"))
    listener.close()


def test_proxy_environment_selects_a_proxy_manager(monkeypatch) -> None:
    import urllib3

    monkeypatch.setenv("HTTP_PROXY", "http://user:p%40ss@proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    transport = _default_transport(httpx.URL("http://eventix.example:8000"), True, 4)
    assert isinstance(transport._manager, urllib3.ProxyManager)
    assert transport._manager.proxy_headers["proxy-authorization"] == "Basic dXNlcjpwQHNz"  # user:p@ss
    monkeypatch.setenv("NO_PROXY", "eventix.example")
    transport = _default_transport(httpx.URL("http://eventix.example:8000"), True, 4)
    assert not isinstance(transport._manager, urllib3.ProxyManager)
    monkeypatch.delenv("HTTP_PROXY")
    transport = _default_transport(httpx.URL("http://other:8000"), True, 4)
    assert not isinstance(transport._manager, urllib3.ProxyManager)


def test_requests_go_through_the_proxy(monkeypatch) -> None:
    """An HTTP proxy receives the absolute URL (a scripted server stands in for the proxy)."""
    seen: list[str] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve_once() -> None:
        conn, _ = listener.accept()
        seen.append(conn.recv(65536).split(b"\r\n", 1)[0].decode())
        conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n{"status": "healthy"}')
        conn.close()

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with EventixClient("http://eventix.example:8000", retries=0, timeout=5) as client:
        assert client.health() == {"status": "healthy"}
    thread.join(5)
    listener.close()
    assert seen == ["GET http://eventix.example:8000/healthz HTTP/1.1"]


def test_fast_path_validation_matches_upstream(embedded_url, upstream) -> None:
    """The embedded server's fast path answers bad claims and write-backs as upstream does."""
    for url in (embedded_url, upstream.url):
        r = httpx.get(f"{url}/tasks/next_scheduled", params={"namespace": "x"})
        assert r.status_code == 422
        [error] = r.json()["detail"]
        assert error["loc"] == ["query", "worker_id"]
        assert error["type"] == "missing"
        r = httpx.put(
            f"{url}/task/abc", content=b'{"priority": 1}', headers={"content-type": "application/json"}
        )
        assert r.status_code == 422
        assert {"type": "missing", "loc": ["body", "task"]}.items() <= r.json()["detail"][0].items()


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "status-and-headers"])
def test_a_dripping_server_meets_the_deadline_of_the_whole_request(headers_too: bool) -> None:
    """Each byte arrives well within any read timeout; the whole answer would take a minute.
    The call ends when its timeout has passed, retries included (the bound: the time-out,
    and a margin for a loaded machine far short of the minute)."""
    with drip_server(headers_too=headers_too, interval=0.1) as url:
        started = time.monotonic()
        with EventixClient(url, timeout=1.0, retries=3) as client, pytest.raises(ServerTimeout) as caught:
            client.health()
        elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 1.0 + 10
    assert "no complete answer within 1s" in caught.value.message


def test_retries_stop_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection failures are retried with backoff only while the call's time lasts.
    Load-independent: the call's clock is a fake one that only its backoff advances."""
    from eventix_cli.client import sender

    now = [time.monotonic() + 1000.0]  # later than any real deadline: connections never wait
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    clock = types.SimpleNamespace(monotonic=lambda: now[0], perf_counter=time.perf_counter)
    monkeypatch.setattr(sender, "time", clock)
    with (
        EventixClient(
            f"http://127.0.0.1:{free_port()}", timeout=0.5, retries=50, backoff=0.05, sleep=sleep
        ) as client,
        pytest.raises(ServerUnreachable),
    ):
        client.health()
    assert len(slept) >= 2  # it did retry
    assert sum(slept) < 0.5  # but started no backoff that would end past the deadline
    assert len(slept) < 50  # and stopped for the deadline, not for want of retries


def test_a_chunked_answer_is_read_whole() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve_once() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        )
        for part in (b'{"status": ', b'"healthy"}'):
            conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        conn.sendall(b"0\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    response = Urllib3Transport().handle_request(httpx.Request("GET", f"http://127.0.0.1:{port}/"))
    assert response.json() == {"status": "healthy"}
    thread.join(5)
    listener.close()


def test_many_requests_at_once_need_no_pool_warning(caplog) -> None:
    """Bulk commands run up to 64 requests at once on the default client: no connection is
    discarded with urllib3's 'pool is full' warning."""
    from concurrent.futures import ThreadPoolExecutor

    with (
        scripted_server(200, b'{"status": "healthy"}') as url,
        EventixClient(url) as client,
        ThreadPoolExecutor(32) as pool,
    ):
        assert all(r["status"] == "healthy" for r in pool.map(lambda _: client.health(), range(200)))
    assert not [r for r in caplog.records if r.name.startswith("urllib3")]


@pytest.mark.parametrize("protocol", ["HTTP/1.0", "HTTP/1.1 with Connection: close"])
def test_a_server_that_closes_after_each_answer_is_read_in_full(protocol: str) -> None:
    # HTTP/1.0 servers, and HTTP/1.1 ones answering ``Connection: close``, hand the socket to
    # the response; its body must still be readable, and the next request opens a new connection.
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps({"status": "healthy"}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0" if protocol == "HTTP/1.0" else "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if protocol != "HTTP/1.0":
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with EventixClient(f"http://127.0.0.1:{httpd.server_address[1]}", retries=0, timeout=5) as client:
            assert [client.health() for _ in range(3)] == [{"status": "healthy"}] * 3
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_public_hooks_the_connections_ride_on_are_there() -> None:
    """The answer checks and the idle limit stand on public interfaces of urllib3 2.x: its
    connections are http.client's (which reads each answer through ``response_class`` and
    ``sock.makefile``), and its pool asks a connection's ``is_connected`` before reusing it.
    urllib3 is pinned below 3 for that; a release that changes it fails here first."""
    assert urllib3.__version__.split(".")[0] == "2"
    assert issubclass(connection.HTTPConnection, http.client.HTTPConnection)
    assert isinstance(connection.HTTPConnection.is_connected, property)
    with scripted_server(200, b"{}") as url:
        transport = Urllib3Transport()
        transport.handle_request(httpx.Request("GET", url))
        [conn] = [c for c in _pool_of(transport, url).pool.queue if c is not None]
        assert isinstance(conn, HTTPConnection)
        asked: list[bool] = []
        real = HTTPConnection.is_connected

        class Watched(HTTPConnection):
            @property
            def is_connected(self) -> bool:
                asked.append(True)
                return real.fget(self)  # type: ignore[attr-defined]

        conn.__class__ = Watched
        transport.handle_request(httpx.Request("GET", url))
        assert asked  # the pool asked before reusing the connection
        transport.close()


def _answer_once(data: bytes) -> tuple[str, socket.socket]:
    """A server that reads one request, sends ``data`` and keeps the connection until the
    client closes it: a client that waited for more would meet its read time-out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve_once() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(data)
        conn.settimeout(60)
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                pass
        conn.close()

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/", listener


@pytest.mark.parametrize("status", [204, 304])
def test_an_absurd_content_length_on_an_answer_without_body_is_no_error(status: int) -> None:
    """As http.client reads it: a 204 or 304 has no body, whatever its Content-Length says."""
    url, listener = _answer_once(
        b"HTTP/1.1 %d Nothing\r\nContent-Length: 99999999999999999999999\r\n\r\n" % status
    )
    response = Urllib3Transport().handle_request(httpx.Request("GET", url))
    assert (response.status_code, response.content) == (status, b"")
    listener.close()


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 103 Early Hints\r\n" + b"Link: </a>\r\n" * 101 + b"\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
    ids=["too-many-headers", "too-long-a-line"],
)
def test_an_interim_answer_is_bounded_as_http_client_bounds_an_answer(head: bytes) -> None:
    url, listener = _answer_once(head + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    # refused as read, not at the deadline: the server holds the connection open, so a client
    # that waited for more would end with its read time-out instead
    with pytest.raises(httpx.RemoteProtocolError, match=r"got more than 100 headers|header line"):
        Urllib3Transport().handle_request(httpx.Request("GET", url, extensions={"timeout": {"read": 5.0}}))
    listener.close()
