"""The server's HTTP protocol: uvicorn's, with each answer sent in one write."""

from __future__ import annotations

import asyncio
import http.client
import socket
from pathlib import Path

import uvicorn
from uvicorn.server import ServerState

from eventix_cli.server.protocol import BatchedWrites, HttpProtocol
from tests.support.servers import running_server


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_the_writes_of_one_turn_leave_together_and_in_order() -> None:
    async def scenario() -> list[list[bytes]]:
        transport = _Transport()
        batched = BatchedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        seen = []
        batched.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        batched.write(b"{}")
        seen.append(list(transport.writes))  # nothing sent during the turn
        await asyncio.sleep(0)
        seen.append(list(transport.writes))
        batched.write(b"next")
        await asyncio.sleep(0)
        seen.append(list(transport.writes))
        return seen

    during, after, later = asyncio.run(scenario())
    assert during == []
    assert after == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    assert later == [after[0], b"next"]


def test_closing_sends_what_is_pending_first_and_nothing_after() -> None:
    async def scenario() -> _Transport:
        transport = _Transport()
        batched = BatchedWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
        batched.write(b"last answer")
        batched.close()
        assert transport.writes == [b"last answer"]
        assert transport.closed
        await asyncio.sleep(0)  # the flush scheduled for the turn finds nothing to send
        batched.write(b"too late")
        await asyncio.sleep(0)
        assert batched.get_extra_info("peername") == "info:peername"
        return transport

    assert asyncio.run(scenario()).writes == [b"last answer"]


def test_answers_on_a_kept_alive_connection_head_and_100_continue(tmp_path: Path) -> None:
    # the batching under the real server: kept-alive answers, a HEAD (no body written) and
    # a request waiting for 100-continue are all answered
    with running_server("embedded", tmp_path) as srv:
        port = int(srv.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            for _ in range(3):
                sock.sendall(b"GET /version HTTP/1.1\r\nhost: x\r\n\r\n")
                answer = b""
                while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                    answer += sock.recv(65536)
                assert answer.startswith(b"HTTP/1.1 200 ")
                assert b'"server":"eventix-cli"' in answer
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("HEAD", "/version")
            r = conn.getresponse()
            assert r.status == 405  # /version is GET only; the answer has its head and no body
            assert r.getheader("allow") == "GET"
            assert r.read() == b""
            conn.request(
                "POST",
                "/task",
                body=b'{"task": "x"}',
                headers={"expect": "100-continue", "content-type": "application/json"},
            )
            r = conn.getresponse()
            assert r.status == 200
            assert b'"task":"x"' in r.read()
        finally:
            conn.close()


class _SocketTransport(_Transport):
    """What uvicorn's protocol asks of a TCP transport."""

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def test_uvicorns_protocol_still_sends_a_whole_answer_through_the_transport_it_is_given() -> None:
    """What :class:`HttpProtocol` assumes of uvicorn's private ``HttpToolsProtocol`` (uvicorn's
    range is pinned in pyproject.toml for it): built as uvicorn builds it, it keeps the
    transport handed to ``connection_made`` and writes an answer's head and body through it,
    so the answer leaves in one write."""
    body = b'{"ok":true}'

    async def app(scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def scenario() -> list[bytes]:
        config = uvicorn.Config(app, http=HttpProtocol, log_config=None, lifespan="off", access_log=False)
        config.load()
        assert config.http_protocol_class is HttpProtocol
        protocol = config.http_protocol_class(config=config, server_state=ServerState(), app_state={})
        transport = _SocketTransport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocol.data_received(b"GET /version HTTP/1.1\r\nhost: x\r\n\r\n")
        for _ in range(50):
            await asyncio.sleep(0)
            if transport.writes:
                break
        protocol.connection_lost(None)
        return transport.writes

    writes = asyncio.run(scenario())
    assert len(writes) == 1, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\n" + body)
