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
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


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


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over :class:`BatchedWrites`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(BatchedWrites(transport, self.loop))  # type: ignore[arg-type]
