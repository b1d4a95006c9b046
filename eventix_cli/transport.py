"""A lean httpx transport over the standard library's ``http.client``.

httpx's default stack (httpx.Client -> httpcore -> h11, all pure Python) costs ~290 µs per
request on loopback; ``http.client`` with a kept-alive connection costs ~100 µs. A worker
sends two requests per task and a purge one per task, so the difference is most of the
client's share of the work. This transport keeps httpx's request/response model, error
types and the injectable-transport design (tests still use ``httpx.MockTransport``); it only
replaces the wire layer. One keep-alive connection per thread and host; no proxy support
(the client uses httpx's own transport when a proxy is configured).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from typing import Any

import httpx

#: a connection idle longer than this is replaced before use: servers close idle keep-alive
#: connections (uvicorn after 5 s), and a request on a closed one fails ambiguously
IDLE_REUSE_LIMIT = 2.0
_SEND_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def _peer_closed(conn: http.client.HTTPConnection) -> bool:
    """An idle kept-alive connection that is readable has been closed by the server (EOF) or
    holds bytes nobody asked for: either way it must not carry the next request. Checked
    before sending, so a request is never sent into a connection a restarted server dropped."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _Conn:
    __slots__ = ("conn", "last_used")

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.conn = conn
        self.last_used = time.monotonic()


class StdlibTransport(httpx.BaseTransport):
    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._local = threading.local()
        self._all: set[http.client.HTTPConnection] = set()  # open connections of every thread
        self._lock = threading.Lock()

    def _connections(self) -> dict[tuple[str, str, int], _Conn]:
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        return conns

    def _open(
        self, scheme: str, host: str, port: int, connect_timeout: float | None
    ) -> http.client.HTTPConnection:
        if scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=connect_timeout, context=context
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
        try:
            conn.connect()
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"connect timed out: {exc}") from exc
        except ssl.SSLError as exc:
            raise httpx.ConnectError(f"TLS handshake failed: {exc}") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        if conn.sock is not None and scheme == "http":
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._all.add(conn)
        return conn

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        port = url.port or (443 if scheme == "https" else 80)
        key = (scheme, url.host, port)
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        connect_timeout = timeouts.get("connect")
        read_timeout = timeouts.get("read")
        body = request.read()
        target = url.raw_path.decode("ascii")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw}
        conns = self._connections()

        for attempt in (1, 2):
            entry = conns.get(key)
            if entry is not None and (
                time.monotonic() - entry.last_used > IDLE_REUSE_LIMIT or _peer_closed(entry.conn)
            ):
                self._drop(conns, key)
                entry = None
            reused = entry is not None
            if entry is None:
                entry = conns[key] = _Conn(self._open(scheme, url.host, port, connect_timeout))
            conn = entry.conn
            if conn.sock is not None:
                conn.sock.settimeout(read_timeout)
            try:
                conn.request(request.method, target, body=body or None, headers=headers)
            except _SEND_ERRORS as exc:
                # nothing reached the server: always safe to send again on a new connection
                self._drop(conns, key)
                if reused and attempt == 1:
                    continue
                raise httpx.WriteError(str(exc)) from exc
            except TimeoutError as exc:
                self._drop(conns, key)
                raise httpx.WriteTimeout(str(exc)) from exc
            try:
                response = conn.getresponse()
                content = response.read()
            except TimeoutError as exc:
                self._drop(conns, key)
                raise httpx.ReadTimeout(f"no answer within {read_timeout}s") from exc
            except (http.client.RemoteDisconnected, *_SEND_ERRORS) as exc:
                # the request may have been processed: not sent again here (the client decides)
                self._drop(conns, key)
                raise httpx.RemoteProtocolError(f"server closed the connection: {exc}") from exc
            except (http.client.HTTPException, OSError) as exc:
                self._drop(conns, key)
                raise httpx.ReadError(str(exc)) from exc
            entry.last_used = time.monotonic()
            if response.will_close:
                self._drop(conns, key)
            return httpx.Response(
                response.status,
                headers=response.getheaders(),
                content=content,
                request=request,
                extensions={"http_version": b"HTTP/1.1"},
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop(self, conns: dict[tuple[str, str, int], _Conn], key: tuple[str, str, int]) -> None:
        entry = conns.pop(key, None)
        if entry is not None:
            entry.conn.close()
            with self._lock:
                self._all.discard(entry.conn)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, set()
        for conn in conns:
            conn.close()
