"""The worker's wire (``EventixClient(keepalive=True)``, :mod:`eventix_cli.client.keepalive`) against
real sockets on loopback: servers that answer oddly, slowly, wrongly or not at all.

Where both ways must agree (the same client without ``keepalive`` sends through urllib3), a
test runs both ways (``BOTH``) and expects the same outcome; the last section holds urllib3's
way to what the kept-alive way does with interim answers, cut heads, overflowing lengths,
non-ASCII headers and dot ids, and runs ``eventix task show`` against such answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from eventix_cli.client import keepalive
from eventix_cli.client.answer import Answer
from eventix_cli.client.api import EventixClient
from eventix_cli.client.wire import segment
from eventix_cli.core.errors import (
    ApiError,
    CertificateVerifyFailed,
    ServerTimeout,
    ServerUnreachable,
    TransportError,
    UnexpectedResponse,
    UnsendableValue,
    UsageError,
)
from tests.support.cli_process import assert_one_error, run
from tests.support.hostile_servers import clear_proxy_variables, drip_server
from tests.support.raw_server import Peer, answer, raw_server, serve_all
from tests.support.servers import free_port, start_server

BOTH = pytest.mark.parametrize("kept", [False, True], ids=["urllib3", "keepalive"])
#: seconds past a deadline that a loaded machine may take to end the call: the deadline is
#: the guarantee, the margin only has to stay far short of what a missed deadline would take
LOADED_MARGIN = 10.0


@pytest.fixture(autouse=True)
def _direct(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_variables(monkeypatch)


def echo(method: str, target: str, body: bytes) -> bytes:
    return answer(json.dumps({"method": method, "target": target, "body": body.decode()}).encode())


def client(url: str, kept: bool, **options) -> EventixClient:
    options.setdefault("timeout", 5.0)
    return EventixClient(url, keepalive=kept, **options)


def get(c: EventixClient, path: str = "/healthz"):
    return c.request("GET", path, idempotent=True)


def claim(c: EventixClient):
    """The worker's non-idempotent claim: never repeated."""
    return c.request(
        "GET",
        "/tasks/next_scheduled",
        idempotent=False,
        params={"worker_id": "w", "namespace": "n"},
        ok=(200, 204),
    )


def test_the_worker_command_sends_through_kept_alive_connections() -> None:
    with client("http://127.0.0.1:1", True) as kept, client("http://127.0.0.1:1", False) as plain:
        assert kept._pool is not None
        assert kept._transport is None
        assert plain._pool is None


# -- bodies and framing ------------------------------------------------------------------------


@BOTH
def test_content_length_answers_reuse_one_connection(kept: bool) -> None:
    with raw_server(serve_all(echo)) as server, client(server.url, kept) as c:
        for i in range(5):
            reply = c.request("PUT", f"/task/{i}", idempotent=True, json={"i": i})
            assert json.loads(reply.content) == {
                "method": "PUT",
                "target": f"/task/{i}",
                "body": f'{{"i":{i}}}',
            }
        assert server.connections == 1


@BOTH
def test_both_ways_answer_in_one_vocabulary(kept: bool) -> None:
    """The same type, the same names: status, headers by lower-case name, body, the request."""

    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"a": 1}', headers="X-Multi: 1\r\nX-Multi: 2\r\n"))

    with raw_server(script) as server, client(server.url, kept) as c:
        reply = c.request("GET", "/task/x", idempotent=True, params={"q": "1"})
    assert type(reply) is Answer
    assert (reply.status_code, reply.content, reply.method, reply.path) == (
        200,
        b'{"a": 1}',
        "GET",
        "/task/x",
    )
    assert (reply.headers.get("content-type"), reply.headers.get("x-multi")) == ("application/json", "1, 2")


CHUNKED_BODY = bytes(range(256)) * 1100  # 281,600 bytes, more than four reads


def _drip_chunked(peer: Peer) -> None:
    while peer.request() is not None:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for i in range(0, len(head), 7):  # the head too, in pieces
            peer.send(head[i : i + 7])
            time.sleep(0.0005)
        for i in range(0, len(CHUNKED_BODY), 9000):
            piece = CHUNKED_BODY[i : i + 9000]
            peer.send(b"%x\r\n" % len(piece))
            time.sleep(0.0005)
            peer.send(piece + b"\r\n")
        peer.send(b"0\r\nX-Trailer: 1\r\n\r\n")


@BOTH
def test_chunked_bodies_split_across_many_reads(kept: bool) -> None:
    with raw_server(_drip_chunked) as server, client(server.url, kept) as c:
        for _ in range(2):
            reply = get(c)
            assert reply.status_code == 200
            assert reply.content == CHUNKED_BODY
        assert server.connections == 1


@BOTH
def test_a_body_read_to_the_close_and_the_next_request_on_a_new_connection(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"n": ')
        time.sleep(0.01)
        peer.send(b"%d}" % peer.index)

    with raw_server(script) as server, client(server.url, kept) as c:
        assert json.loads(get(c).content) == {"n": 0}
        assert json.loads(get(c).content) == {"n": 1}
        assert server.connections == 2


@BOTH
def test_a_transfer_coding_other_than_chunked_is_read_to_the_close(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n{}")

    with raw_server(script) as server, client(server.url, kept) as c:
        assert get(c).content == b"{}"


@BOTH
def test_a_204_has_no_body_and_keeps_the_connection(kept: bool) -> None:
    def script(peer: Peer) -> None:
        while peer.request() is not None:
            peer.send(b"HTTP/1.1 204 No Content\r\n\r\n")

    with raw_server(script) as server, client(server.url, kept) as c:
        for _ in range(3):
            reply = claim(c)
            assert (reply.status_code, reply.content) == (204, b"")
        assert server.connections == 1


@BOTH
def test_100_continue_and_103_early_hints_come_before_the_answer(kept: bool) -> None:
    def script(peer: Peer) -> None:
        while peer.request() is not None:
            peer.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            peer.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            peer.send(answer(b'{"ok": true}'))

    with raw_server(script) as server, client(server.url, kept) as c:
        for _ in range(2):
            reply = get(c)
            assert (reply.status_code, reply.content) == (200, b'{"ok": true}')
            assert "link" not in reply.headers
        assert server.connections == 1


@BOTH
def test_a_close_after_an_interim_answer_is_no_answer(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 100 Continue\r\n\r\n")

    with (
        raw_server(script) as server,
        client(server.url, kept) as c,
        pytest.raises(TransportError, match="before a complete answer"),
    ):
        claim(c)


@BOTH
def test_connection_close_answers_end_the_connection(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index, headers="Connection: close\r\n"))
        assert peer.wait_closed(), "the client kept a connection the server closed"

    with raw_server(script) as server, client(server.url, kept) as c:
        assert [json.loads(get(c).content)["n"] for _ in range(3)] == [0, 1, 2]
        assert server.connections == 3


@BOTH
def test_http_1_0_answers(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index, version="HTTP/1.0"))  # no keep-alive in 1.0
        peer.request()
        peer.send(b'HTTP/1.0 200 OK\r\n\r\n{"to": "eof"}')

    with raw_server(script) as server, client(server.url, kept) as c:
        assert json.loads(get(c).content) == {"n": 0}
        assert json.loads(get(c).content) == {"n": 1}
        assert server.connections == 2


@BOTH
def test_multi_valued_headers_are_joined_as_httpx_joins_them(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(headers="Set-Cookie: a=1\r\nX-Many: 1\r\nset-cookie: b=2\r\nx-many: 2\r\n"))

    with raw_server(script) as server, client(server.url, kept) as c:
        reply = get(c)
        assert reply.headers["set-cookie"] == "a=1, b=2"
        assert reply.headers.get("x-many") == "1, 2"
        assert reply.headers.get("content-type") == "application/json"


@BOTH
def test_an_answer_larger_than_64_kib(kept: bool) -> None:
    big = json.dumps({"blob": "x" * 1_000_000}).encode()
    with raw_server(serve_all(lambda *_: answer(big))) as server, client(server.url, kept) as c:
        assert get(c).content == big
        assert get(c).content == big
        assert server.connections == 1


# -- servers that close, or write what nobody asked for ----------------------------------------


@BOTH
def test_a_server_closing_an_idle_connection_costs_no_request(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index))
        if peer.index == 0:
            peer.sock.close()  # right after the answer, without saying so
            peer.done.set()
            return
        while peer.request() is not None:
            peer.send(answer(b'{"n": %d}' % peer.index))

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        assert json.loads(claim(c).content) == {"n": 0}
        assert server.peers[0].done.wait(5)
        assert json.loads(claim(c).content) == {"n": 1}  # a claim is never repeated: no error
        assert server.connections == 2


@BOTH
def test_a_server_resetting_an_idle_connection_costs_no_request(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index))
        if peer.index == 0:
            time.sleep(0.05)
            peer.reset()
            peer.done.set()
            return
        while peer.request() is not None:
            peer.send(answer(b'{"n": %d}' % peer.index))

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        assert json.loads(claim(c).content) == {"n": 0}
        assert server.peers[0].done.wait(5)
        assert json.loads(claim(c).content) == {"n": 1}
        assert server.connections == 2


def test_the_embedded_server_restarted_between_two_claims(tmp_path: Path) -> None:
    port = free_port()
    args = ["--db", str(tmp_path / "restart.sqlite3")]
    server = start_server("embedded", tmp_path, port=port, extra_args=args)
    try:
        with client(server.url, True, retries=0) as c:
            assert claim(c).status_code == 204
            assert claim(c).status_code == 204
            (kept,) = c._pool._idle
            assert server.stop(signal.SIGTERM) == 0
            server = start_server("embedded", tmp_path, port=port, extra_args=args)
            assert claim(c).status_code == 204  # a claim is never repeated: no error
            assert c._pool._idle[0] is not kept
    finally:
        server.stop()


def test_a_connection_idle_longer_than_the_limit_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keepalive, "IDLE_REUSE_LIMIT", 0.1)
    closed: list[bool] = []

    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index))
        if peer.index == 0:
            closed.append(peer.wait_closed())

    with raw_server(script) as server, client(server.url, True, retries=0) as c:
        assert json.loads(claim(c).content) == {"n": 0}
        time.sleep(0.3)
        assert json.loads(claim(c).content) == {"n": 1}
        assert server.connections == 2
    assert closed == [True]  # the stale connection was closed, not leaked


@BOTH
def test_junk_after_the_answer_keeps_the_answer_and_drops_the_connection(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index) + b"GARBAGE\r\n\r\n")
        peer.wait_closed()

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        assert json.loads(claim(c).content) == {"n": 0}  # a claimed task is not lost
        assert json.loads(claim(c).content) == {"n": 1}
        assert server.connections == 2


@BOTH
def test_a_second_answer_after_the_answer_drops_the_connection(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index) + answer(b'{"stray": true}'))
        peer.wait_closed()

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        assert json.loads(claim(c).content) == {"n": 0}
        assert json.loads(claim(c).content) == {"n": 1}
        assert server.connections == 2


@BOTH
def test_junk_on_an_idle_connection_before_the_next_request(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index))
        if peer.index == 0:
            time.sleep(0.05)
            peer.send(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
            peer.done.set()
            peer.wait_closed()
            return
        while peer.request() is not None:
            peer.send(answer(b'{"n": %d}' % peer.index))

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        assert json.loads(claim(c).content) == {"n": 0}
        assert server.peers[0].done.wait(5)
        assert json.loads(claim(c).content) == {"n": 1}
        assert server.connections == 2


@BOTH
def test_a_banner_before_the_request_is_not_an_answer(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.send(b"220 mail.example ESMTP ready\r\n")
        peer.request()
        peer.send(answer())

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        with pytest.raises(TransportError) as caught:
            claim(c)
        assert not isinstance(caught.value, ServerTimeout | ServerUnreachable)


@pytest.mark.parametrize(
    "cut",
    [b"HTTP/1.1 200 OK\r\nContent-Le", b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{}", b"HTTP/1.1 2"],
    ids=["mid-headers", "mid-body", "mid-status"],
)
@BOTH
def test_a_close_mid_answer_is_a_transport_error(kept: bool, cut: bytes) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(cut)

    with (
        raw_server(script) as server,
        client(server.url, kept, retries=0) as c,
        pytest.raises(TransportError, match="before a complete answer"),
    ):
        claim(c)


@BOTH
def test_a_close_mid_body_is_a_transport_error_both_ways(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{}")

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        with pytest.raises(TransportError) as caught:
            claim(c)
        assert type(caught.value) is TransportError


@BOTH
@pytest.mark.parametrize(
    "junk",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"HTTP/1.1 999999 Huh\r\n\r\n",
    ],
)
def test_an_answer_that_is_not_http(kept: bool, junk: bytes) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(junk)
        peer.wait_closed(timeout=120)

    # the server holds the connection until the client closes it: a client that waited for
    # more would end at its deadline, a ServerTimeout (load-independent: no bound on the time)
    with raw_server(script) as server, client(server.url, kept, retries=0, timeout=60) as c:
        with pytest.raises(TransportError) as caught:
            claim(c)
        assert type(caught.value) is TransportError


@BOTH
def test_endless_headers_are_refused_before_the_deadline(kept: bool) -> None:
    """Load-independent: counted in header lines sent before the client gave up, not timed:
    100 read, and what the sockets' buffers hold (a few MB), against 100,000 (100 MB)."""
    sent = [0]

    def script(peer: Peer) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        for _ in range(100_000):
            try:
                peer.send(line)
            except OSError:  # the client refused the answer and closed the connection
                return
            sent[0] += 1

    with raw_server(script) as server, client(server.url, kept, retries=0, timeout=60) as c:
        with pytest.raises(TransportError) as caught:
            claim(c)
        assert not isinstance(caught.value, ServerTimeout)
    assert sent[0] < 50_000, "the client read on through the endless headers"


@BOTH
def test_a_header_line_without_end_is_refused(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 200 OK\r\nX-Filler: ")
        for _ in range(10_000):
            peer.send(b"a" * 10_000)

    with raw_server(script) as server, client(server.url, kept, retries=0, timeout=20) as c:
        with pytest.raises(TransportError) as caught:
            claim(c)
        assert not isinstance(caught.value, ServerTimeout)


@BOTH
def test_a_protocol_switch_is_an_unexpected_answer(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        peer.wait_closed()

    with (
        raw_server(script) as server,
        client(server.url, kept, retries=0) as c,
        pytest.raises(UnexpectedResponse, match="HTTP 101"),
    ):
        claim(c)


@BOTH
def test_an_answer_sent_before_the_body_was_read_is_not_lost(kept: bool) -> None:
    """A server refusing a body too large answers and closes without reading it: the client's
    send fails (connection reset), and the answer is there to read all the same."""

    def script(peer: Peer) -> None:
        peer.sock.settimeout(5)
        while b"\r\n\r\n" not in peer.buffer:
            peer.buffer += peer.sock.recv(65536)
        peer.send(
            answer(b'{"detail": "request body too large"}', "413 Content Too Large", "Connection: close\r\n")
        )
        time.sleep(0.2)  # then closed with the body unread: a reset

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        with pytest.raises(ApiError, match="413: request body too large"):
            c.request("PUT", "/task/x", idempotent=True, json={"blob": "x" * 20_000_000})
        assert server.connections == 1


# -- time limits and unreachable servers -------------------------------------------------------


@BOTH
def test_a_server_dripping_its_answer_ends_at_the_deadline(kept: bool) -> None:
    with drip_server(headers_too=True, interval=1.0) as url, client(url, kept, timeout=1.5) as c:
        started = time.monotonic()
        with pytest.raises(ServerTimeout):
            get(c)
        assert time.monotonic() - started < 1.5 + LOADED_MARGIN  # the whole answer: minutes


@BOTH
def test_a_server_dripping_its_body_ends_at_the_deadline(kept: bool) -> None:
    with drip_server(headers_too=False, interval=0.2) as url, client(url, kept, timeout=1.0) as c:
        started = time.monotonic()
        with pytest.raises(ServerTimeout):
            get(c)
        assert time.monotonic() - started < 1.0 + LOADED_MARGIN  # the whole answer: over a minute


@BOTH
def test_a_server_that_never_answers(kept: bool) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.wait_closed(timeout=120)

    with raw_server(script) as server, client(server.url, kept, timeout=1.0) as c:
        started = time.monotonic()
        with pytest.raises(ServerTimeout, match="within 1s"):
            get(c)
        assert time.monotonic() - started < 1.0 + LOADED_MARGIN  # the server: two minutes


@BOTH
def test_connect_refused_is_server_unreachable(kept: bool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        with (
            client(f"http://127.0.0.1:{port}", kept, retries=1, backoff=0.01) as c,
            pytest.raises(ServerUnreachable, match="Connection refused"),
        ):
            get(c)


@BOTH
def test_a_name_that_does_not_resolve_is_server_unreachable(
    kept: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # no lookup leaves the machine
        if host == "eventix.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with (
        client("http://eventix.invalid:8000", kept, retries=0) as c,
        pytest.raises(ServerUnreachable, match="Name or service not known"),
    ):
        get(c)


def test_a_plain_request_to_a_tls_server(tls: ssl.SSLContext) -> None:
    with raw_server(serve_all(echo), tls=tls) as server:
        url = server.url.replace("https://", "http://")
        for kept in (False, True):
            with client(url, kept, retries=0) as c, pytest.raises(TransportError) as caught:
                claim(c)
            assert not isinstance(caught.value, ServerTimeout)


@contextlib.contextmanager
def many_files_open(count: int = 1100) -> Iterator[None]:
    """Descriptors 0..count taken: the next socket's descriptor is above select()'s 1023."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count + 100, hard))
    taken = [os.open(os.devnull, os.O_RDONLY) for _ in range(count)]  # the lowest free ones
    try:
        yield
    finally:
        for fd in taken:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@BOTH
def test_connections_are_reused_when_the_process_has_many_files_open(kept: bool) -> None:
    with raw_server(serve_all(echo)) as server, many_files_open(), client(server.url, kept) as c:
        for _ in range(3):
            assert json.loads(get(c).content)["target"] == "/healthz"
        assert server.connections == 1


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@BOTH
def test_tls_verified_reuses_its_connection(kept: bool, tls: ssl.SSLContext, ca_file: Path) -> None:
    with raw_server(serve_all(echo), tls=tls) as server, client(server.url, kept, verify=str(ca_file)) as c:
        for i in range(3):
            assert json.loads(get(c, f"/x/{i}").content)["target"] == f"/x/{i}"
        assert server.connections == 1


def test_tls_connection_closed_by_the_server_is_replaced(tls: ssl.SSLContext, ca_file: Path) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(answer(b'{"n": %d}' % peer.index))
        if peer.index == 0:
            peer.sock.setblocking(False)  # close_notify sent, the client's not awaited
            with contextlib.suppress(ssl.SSLWantReadError):
                peer.sock.unwrap()
            peer.sock.close()
            peer.done.set()
            return
        while peer.request() is not None:
            peer.send(answer(b'{"n": %d}' % peer.index))

    with raw_server(script, tls=tls) as server, client(server.url, True, verify=str(ca_file), retries=0) as c:
        assert json.loads(claim(c).content) == {"n": 0}
        assert server.peers[0].done.wait(5)
        assert json.loads(claim(c).content) == {"n": 1}
        assert server.connections == 2


@BOTH
def test_tls_with_an_unknown_ca(kept: bool, tls: ssl.SSLContext, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with (
        raw_server(serve_all(echo), tls=tls) as server,
        client(server.url, kept, verify=str(other)) as c,
        pytest.raises(CertificateVerifyFailed, match="not accepted: unable to get local issuer"),
    ):
        get(c)


@BOTH
def test_tls_without_verification(kept: bool, tls: ssl.SSLContext) -> None:
    with raw_server(serve_all(echo), tls=tls) as server, client(server.url, kept, verify=False) as c:
        assert json.loads(get(c).content)["target"] == "/healthz"
        assert json.loads(get(c).content)["target"] == "/healthz"
        assert server.connections == 1


# -- what goes out -----------------------------------------------------------------------------


@BOTH
def test_a_base_url_with_a_path_prefix(kept: bool) -> None:
    seen: list[tuple[str, str]] = []

    def script(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            seen.append((request[1], request[2]["host"]))
            peer.send(answer())

    with raw_server(script) as server, client(server.url + "/eventix/", kept) as c:
        get(c)
        claim(c)
    port = server.url.rsplit(":", 1)[1]
    assert seen == [
        ("/eventix/healthz", f"127.0.0.1:{port}"),
        ("/eventix/tasks/next_scheduled?worker_id=w&namespace=n", f"127.0.0.1:{port}"),
    ]


@BOTH
def test_an_ipv6_literal_host(kept: bool) -> None:
    seen: list[str] = []

    def script(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            seen.append(request[2]["host"])
            peer.send(answer())

    with raw_server(script, host="::1", family=socket.AF_INET6) as server, client(server.url, kept) as c:
        get(c)
        get(c)
        assert server.connections == 1
    assert seen == [server.url.removeprefix("http://")] * 2


IDS = ["a b", "caf\u00e9", "50%", "a/b", "a?b#c", "+", "\U0001f600", "x\r\ny"]


@pytest.mark.parametrize("value", IDS)
def test_ids_and_params_go_out_as_urllib3_sends_them(value: str) -> None:
    sent: dict[bool, str] = {}
    for kept in (False, True):
        with raw_server(serve_all(echo)) as server, client(server.url, kept) as c:
            reply = c.request(
                "GET", f"/task/{segment(value, 'task id')}", idempotent=True, params={"q": value}
            )
            sent[kept] = json.loads(reply.content)["target"]
    assert sent[True] == sent[False]


@pytest.mark.parametrize(
    "path", ["/task/a b", "/task/a\r\nX-Injected: 1", "/task/a\x00", "/task/a\x7f", "/task/caf\u00e9"]
)
def test_a_path_that_is_not_quoted_is_refused_before_sending(path: str) -> None:
    with raw_server(serve_all(echo)) as server, client(server.url, True) as c:
        with pytest.raises(UsageError, match="not ASCII without spaces and control characters"):
            c.request("GET", path, idempotent=True)
        assert json.loads(get(c, "/task/a%20b").content)["target"] == "/task/a%20b"
        assert server.connections == 1


@BOTH
def test_a_lone_surrogate_is_refused_before_sending(kept: bool) -> None:
    with raw_server(serve_all(echo)) as server, client(server.url, kept) as c:
        with pytest.raises(UnsendableValue):
            c.request("GET", f"/task/{segment('x\udcff', 'task id')}", idempotent=True)
        with pytest.raises(UnsendableValue):
            c.request("GET", "/tasks", idempotent=True, params={"q": "x\udcff"})
        with pytest.raises(UnsendableValue):
            c.request("PUT", "/task/x", idempotent=True, json={"q": "x\udcff"})
    assert server.connections == 0


@BOTH
@pytest.mark.parametrize("token", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b", "caf\u00e9"])
def test_a_token_that_cannot_be_a_header_is_refused_before_sending(kept: bool, token: str) -> None:
    with raw_server(serve_all(echo)) as server:
        with pytest.raises(UsageError, match="token") as caught, client(server.url, kept, token=token) as c:
            get(c)
        assert token not in caught.value.message
        assert server.connections == 0


def test_the_worker_refuses_a_token_with_a_line_break(tmp_path: Path) -> None:
    with raw_server(serve_all(echo)) as server:
        proc = run(
            "worker", "--burst", "-t", "tests.support.sample_tasks",
            url=server.url, tmp_path=tmp_path, env={"EVENTIX_TOKEN": "secret\r\nX-Injected: 1"},
        )  # fmt: skip
        assert server.connections == 0
    line = assert_one_error(proc, 2, "token")
    assert "secret" not in line


# -- threads -----------------------------------------------------------------------------------


def test_threads_sharing_one_pool_never_share_a_connection() -> None:
    overlap: list[str] = []

    def script(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            time.sleep(0.001 * (peer.index % 3))
            if peer.pipelined():
                overlap.append(request[1])
            peer.send(echo(*request[:2], request[3]))

    wrong: list[tuple[str, str]] = []
    with raw_server(script) as server, client(server.url, True, max_connections=4, timeout=2) as c:

        def work(n: int) -> None:
            for i in range(40):
                target = f"/task/{n}-{i}"
                got = json.loads(c.request("PUT", target, idempotent=True, json=[n, i]).content)
                if got["target"] != target or json.loads(got["body"]) != [n, i]:
                    wrong.append((target, got["target"]))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(c._pool._idle) <= 4
    assert not wrong
    assert not overlap


def test_the_idle_list_is_bounded_by_max_idle() -> None:
    gate = threading.Barrier(8, timeout=10)
    closed: list[bool] = []

    def script(peer: Peer) -> None:
        peer.request()
        gate.wait()  # eight requests in flight at once: eight connections
        peer.send(answer())
        closed.append(peer.wait_closed(timeout=1.0))

    with raw_server(script) as server, client(server.url, True, max_connections=3) as c:
        threads = [threading.Thread(target=get, args=(c,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert server.connections == 8
        assert len(c._pool._idle) == 3
        for _ in range(100):
            if len(closed) == 8:
                break
            time.sleep(0.05)
        assert sorted(closed) == [False] * 3 + [True] * 5


def test_close_while_requests_run() -> None:
    started = threading.Barrier(5, timeout=10)
    release = threading.Event()
    closed: list[bool] = []

    def script(peer: Peer) -> None:
        peer.request()
        started.wait()
        release.wait(10)
        peer.send(answer(b'{"n": 1}'))
        closed.append(peer.wait_closed())

    results: list[object] = []
    with raw_server(script) as server:
        c = client(server.url, True)
        threads = [threading.Thread(target=lambda: results.append(get(c).content)) for _ in range(4)]
        for thread in threads:
            thread.start()
        started.wait()
        c.close()
        release.set()
        for thread in threads:
            thread.join()
        assert results == [b'{"n": 1}'] * 4
        assert c._pool._idle == []
        for _ in range(50):
            if len(closed) == 4:
                break
            time.sleep(0.05)
    assert closed == [True] * 4  # none kept after the close


# -- retries -----------------------------------------------------------------------------------


def _drop_first(peer: Peer) -> None:
    request = peer.request()
    if peer.index == 0:
        return  # read the request, closed without an answer
    peer.send(echo(request[0], request[1], request[3]))


@BOTH
def test_an_idempotent_put_is_repeated_after_a_dropped_connection(kept: bool) -> None:
    with raw_server(_drop_first) as server, client(server.url, kept, retries=2, backoff=0.01) as c:
        reply = c.request("PUT", "/task/x", idempotent=True, json={"a": 1})
        assert json.loads(reply.content)["body"] == '{"a":1}'
        assert server.connections == 2


@BOTH
def test_a_claim_is_not_repeated_after_a_dropped_connection(kept: bool) -> None:
    with raw_server(_drop_first) as server, client(server.url, kept, retries=2, backoff=0.01) as c:
        with pytest.raises(TransportError, match=r"without an answer|without response"):
            claim(c)
        time.sleep(0.1)
        assert server.connections == 1


# -- what urllib3's reading let through, held to the kept-alive reference -----------------------


@BOTH
@pytest.mark.parametrize(
    ("value", "sent"), [(".", "%2E"), ("..", "%2E%2E"), ("...", "..."), ("a..", "a.."), (".x", ".x")]
)
def test_dot_ids_go_out_escaped_not_as_dot_segments(kept: bool, value: str, sent: str) -> None:
    with raw_server(serve_all(echo)) as server, client(server.url, kept) as c:
        reply = c.request("GET", f"/task/{segment(value, 'task id')}/reschedule", idempotent=True)
        assert json.loads(reply.content)["target"] == f"/task/{sent}/reschedule"


@BOTH
def test_an_interim_answer_of_any_kind_is_skipped(kept: bool) -> None:
    def script(peer: Peer) -> None:
        while peer.request() is not None:
            peer.send(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
            peer.send(answer(b'{"n": %d}' % peer.index))

    with raw_server(script) as server, client(server.url, kept) as c:
        assert [json.loads(claim(c).content) for _ in range(2)] == [{"n": 0}] * 2
        assert server.connections == 1


@BOTH
@pytest.mark.parametrize("length", ["99999999999999999999999", str(2**64 + 5)])
def test_a_content_length_beyond_any_body_is_a_transport_error(kept: bool, length: str) -> None:
    def script(peer: Peer) -> None:
        peer.request()
        peer.send(f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n{{}}".encode())
        peer.wait_closed()

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        with pytest.raises(TransportError) as caught:
            claim(c)
        assert type(caught.value) is TransportError


@BOTH
@pytest.mark.parametrize("value", [b"caf\xe9", "caf\u00e9 \u2713".encode(), b"\xff\xfe"])
def test_a_header_that_is_not_ascii_is_read_as_latin_1(kept: bool, value: bytes) -> None:
    def script(peer: Peer) -> None:
        while peer.request() is not None:
            peer.send(answer(headers=f"X-Note: {value.decode('latin-1')}\r\n"))

    with raw_server(script) as server, client(server.url, kept) as c:
        for _ in range(2):
            reply = get(c)
            assert reply.headers["x-note"] == value.decode("latin-1")
            assert reply.headers["content-type"] == "application/json"
        assert server.connections == 1


def _task_answer(uid: str) -> bytes:
    from eventix_cli.core.task import Task

    return answer(json.dumps(Task(uid=uid, task="demo").to_wire()).encode())


def test_dot_ids_on_the_command_line_reach_their_task(tmp_path: Path) -> None:
    targets: list[str] = []

    def script(peer: Peer) -> None:
        while (request := peer.request()) is not None:
            method, target, _, _ = request
            targets.append(f"{method} {target}")
            uid = target.removeprefix("/task/").replace("%2E", ".")
            peer.send(_task_answer(uid) if method == "GET" else answer(b"null"))

    with raw_server(script) as server:
        for uid in (".", ".."):
            shown = run(
                "task", "show", uid, "-o", "json", "--url", server.url, url=server.url, tmp_path=tmp_path
            )
            assert shown.returncode == 0, shown.stderr
            assert json.loads(shown.stdout)["uid"] == uid
            cancelled = run(
                "task", "cancel", uid, "--yes", "--url", server.url, url=server.url, tmp_path=tmp_path
            )
            assert cancelled.returncode == 0, cancelled.stderr
    assert targets == [
        "GET /task/%2E",
        "GET /task/%2E",
        "DELETE /task/%2E",
        "GET /task/%2E%2E",
        "GET /task/%2E%2E",
        "DELETE /task/%2E%2E",
    ]


UID = "0123456789abcdef0123456789abcdef"

ODD_ANSWERS = {
    "early-hints": (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + _task_answer(UID), 0, ""),
    "non-ascii-header": (
        _task_answer(UID).replace(b"\r\n\r\n", b"\r\nX-Note: caf\xc3\xa9 \xe9\r\n\r\n", 1),
        0,
        "",
    ),
    "headers-cut-by-close": (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Le",
        3,
        "before a complete answer",
    ),
    "status-cut-by-close": (b"HTTP/1.1 2", 3, "before a complete answer"),
    "body-cut-by-close": (b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{}", 3, "before a complete answer"),
    "content-length-overflow": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n{}",
        3,
        "Content-Length 99999999999999999999999",
    ),
}


@pytest.mark.parametrize("case", list(ODD_ANSWERS))
def test_task_show_against_an_odd_answer(tmp_path: Path, case: str) -> None:
    """What a user sees: the task, or one line on stderr and the documented exit code."""
    data, code, expected = ODD_ANSWERS[case]

    def script(peer: Peer) -> None:
        if peer.request() is not None:
            peer.send(data)

    with raw_server(script) as server:
        proc = run("task", "show", UID, "-o", "json", "--url", server.url, url=server.url, tmp_path=tmp_path)
    if code == 0:
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["uid"] == UID
        assert b"Traceback" not in proc.stderr
    else:
        assert_one_error(proc, code, expected)


@BOTH
@pytest.mark.parametrize(
    "first",
    [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ],
    ids=["chunked", "no-content"],
)
def test_bytes_after_any_kind_of_answer_drop_the_connection(kept: bool, first: bytes) -> None:
    def script(peer: Peer) -> None:
        while peer.request() is not None:
            if peer.index == 0:
                peer.send(first + answer(b'{"stray": true}'))
            else:
                peer.send(answer(b'{"n": %d}' % peer.index))

    with raw_server(script) as server, client(server.url, kept, retries=0) as c:
        assert claim(c).content == (b"" if b" 204 " in first else b"{}")
        assert json.loads(claim(c).content) == {"n": 1}
        assert server.connections == 2


# -- answers larger than the client reads ------------------------------------------------------

MIB = 1024 * 1024


@BOTH
@pytest.mark.parametrize("framing", ["content-length", "chunked", "close"])
def test_an_answer_beyond_the_size_limit_is_refused_naming_it(kept: bool, framing: str) -> None:
    """A server that sends 80 MiB: the client stops at the limit (64 MiB) with an error that
    names it, whatever the framing, instead of reading (and holding) all of it."""
    total = 80 * MIB
    block = b"x" * MIB

    def script(peer: Peer) -> None:
        peer.request()
        framings = {
            "content-length": f"Content-Length: {total}\r\n",
            "chunked": "Transfer-Encoding: chunked\r\n",
            "close": "Connection: close\r\n",
        }
        with contextlib.suppress(OSError):  # the client hangs up once it has had enough
            peer.send(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framings[framing]}\r\n".encode()
            )
            for _ in range(total // MIB):
                peer.send(b"%x\r\n%s\r\n" % (MIB, block) if framing == "chunked" else block)
            peer.send(b"0\r\n\r\n" if framing == "chunked" else b"")
            peer.sock.close()

    with (
        raw_server(script) as server,
        client(server.url, kept, retries=0, timeout=60) as c,
        pytest.raises(TransportError) as caught,
    ):
        claim(c)
    assert "64 MiB" in caught.value.message, caught.value.message
    assert "MAX_ANSWER_BYTES" in caught.value.message
