"""uvicorn's HTTP/1.1 protocol (httptools), each answer sent in one write.

uvicorn writes a response's head and its body to the socket separately: two TCP segments
for every answer, so two wake-ups of the client and twice the kernel's work on both sides of
a loopback connection, for a claim or a write-back whose whole answer is a few hundred
bytes. Here the connection's transport gathers what is written during one turn of the
event loop and sends it at the end of that turn (or at once when the connection closes);
parsing, keep-alive, flow control and everything else stay uvicorn's.

No public API of uvicorn does this: an ASGI app or middleware cannot merge the writes (uvicorn
writes the head when the app sends ``http.response.start``), and ``Config(http=...)`` takes
a protocol class but names no public one to build on. Hence the subclass of the private
``httptools_impl.HttpToolsProtocol``, which uses only its constructor (as uvicorn calls it),
``connection_made`` and ``loop``. Measured against the public ``http="httptools"``
(``./dev bench server_cpu``, 5 rounds of 2,000 tasks, interleaved, load 6): 615 µs against
680 µs of server CPU per claim + write-back, 1.11x more without it. uvicorn's version range
is pinned in pyproject.toml for it, and tests/server/test_protocol.py fails when uvicorn stops
sending an answer through the transport given to ``connection_made``.

The same subclass bounds what a client can hold before the app sees its request (before
authentication, then): uvicorn's httptools protocol keeps reading a request head without
limit (httptools gathers a header line in memory until it ends: eight connections sending
endless headers took the server to 2 GB) and waits for the rest of a half-sent request for
good. No setting of uvicorn bounds these for httptools (``h11_max_incomplete_event_size`` is
h11's), so here: the head of a request is refused with 431 past :data:`MAX_HEAD_BYTES` or
:data:`MAX_HEADERS` lines, and a request not received whole within ``request_timeout``
seconds is answered 408 (or, once its answer has begun, cut). A connection idle before its
first request is closed after uvicorn's keep-alive time, as uvicorn closes one idle after an
answer. Beyond ``data_received``, ``connection_made`` and ``connection_lost`` this uses the
parser callbacks ``on_message_begin``, ``on_header``, ``on_headers_complete`` and
``on_message_complete``, and uvicorn's keep-alive handle, all of the same version range.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)

#: bytes of a request head (request line and header lines) at most; about one read more is
#: read before the limit is seen
MAX_HEAD_BYTES = 64 * 1024
#: header lines of a request at most
MAX_HEADERS = 100
#: seconds a client has to send a whole request, from its first byte
REQUEST_TIMEOUT = 60.0


class BatchedWrites:
    """A transport whose writes during one turn of the event loop leave in one ``write``."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [data]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the transport's own
        return getattr(self._transport, name)


def _refusal(status: bytes) -> bytes:
    return b"HTTP/1.1 " + status + b"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over :class:`BatchedWrites`, with the bounds above."""

    def __init__(self, *args: Any, request_timeout: float = REQUEST_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_timeout = request_timeout
        self._in_head = False  # between a request's first byte and the end of its head
        self._head_bytes = 0
        self._headers_seen = 0
        self._header_bytes = 0  # of the header lines parsed so far in this head
        self._head_refused = False  # a head over the bounds: nothing more of this connection is parsed
        self._request_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(BatchedWrites(transport, self.loop))  # type: ignore[arg-type]
        # idle before a first request: closed as uvicorn closes one idle after an answer
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_request_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_refused:
            return
        in_head = self._in_head
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._head_refused:  # a whole head over the bounds, parsed within this read
            self._refuse_head()
            return
        if not self._in_head:
            return
        # still reading a head: count what it has taken (the read it began in is not
        # counted: it may hold the end of the request before)
        if in_head:
            self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES or self._headers_seen > MAX_HEADERS:
            self._refuse_head()

    def _refuse_head(self) -> None:
        log.warning(
            "request head from %s over %d bytes or %d lines: refused",
            self.client,
            MAX_HEAD_BYTES,
            MAX_HEADERS,
        )
        self._head_refused = True
        self._refuse(b"431 Request Header Fields Too Large")

    # The parser's callbacks. Once a head is over the bounds, the rest of what it parses
    # (that request's end, pipelined requests after it) is ignored: uvicorn never builds a
    # request from it, and data_received answers 431 and closes after the parser returns.

    def on_message_begin(self) -> None:
        if self._head_refused:
            return
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0
        self._headers_seen = 0
        self._header_bytes = 0
        self._stop_request_timer()
        self._request_timer = self.loop.call_later(self.request_timeout, self._request_too_slow)

    def on_url(self, url: bytes) -> None:
        if not self._head_refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._head_refused:
            return
        self._headers_seen += 1
        self._header_bytes += len(name) + len(value) + 4  # "name: value\r\n"
        if self._headers_seen > MAX_HEADERS or self._header_bytes > MAX_HEAD_BYTES:
            self._head_refused = True
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_refused:
            return
        self._in_head = False
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._head_refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._head_refused:
            return
        self._stop_request_timer()
        super().on_message_complete()

    def _stop_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _request_too_slow(self) -> None:
        self._request_timer = None
        log.warning(
            "request from %s not received whole within %g s: closed", self.client, self.request_timeout
        )
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # answering already: the answer is cut
        else:
            self._refuse(b"408 Request Timeout")

    def _refuse(self, status: bytes) -> None:
        """Answer ``status`` and close, without the app."""
        self._stop_request_timer()
        self.transport.write(_refusal(status))
        self.transport.close()
