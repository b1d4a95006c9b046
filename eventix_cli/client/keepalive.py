"""The worker's wire: kept-alive HTTP/1.1 connections to one server, answers parsed by httptools.

Every command talks through urllib3 (:mod:`eventix_cli.client.transport`). A worker is different: it
sends two small requests per task (the claim and the write-back), thousands of times, so the
cost of one request *is* its cost per task. Measured per no-op task against one embedded server
(a claim and a write-back, plain dicts, client CPU only, median of 3 interleaved rounds of
1,500 tasks; ``./dev bench wire``, ``benchmarks/README.md`` "wire"): urllib3's pool 474 µs,
``http.client`` 340 µs, h11 277 µs, these connections 130 µs. What urllib3 adds (its request
and response objects, header dicts, timeout objects) is most of a no-op task, so a worker's
client (``EventixClient(keepalive=True)``) sends through this module instead, for ``http``
and ``https`` URLs reached without a proxy.

What is ours here is small on purpose: the request is written as bytes, and the answer is
parsed by ``httptools`` (the C parser uvicorn uses; a dependency of the embedded server): status
line, headers, ``Content-Length``, chunked and read-to-close bodies, 1xx answers. The rest is
the same as the urllib3 layer: a deadline for the whole request (every read is bounded by what
is left of it), connections idle for more than :data:`IDLE_REUSE_LIMIT` seconds or closed by
the server are replaced before use, and failures are raised as httpx's transport errors, so
:class:`~eventix_cli.client.sender.HttpSender` applies one retry policy and one error mapping to both.
An answer followed by bytes nobody asked for stands (a claimed task is not lost) and its
connection is dropped; an answer the server sent before resetting the connection (a 413 to a
body it would not read) is read; headers are bounded by :data:`MAX_HEAD`.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import httptools

from eventix_cli.client.answer import ANSWER_TOO_LARGE, MAX_ANSWER_BYTES, Answer, TlsVerificationError
from eventix_cli.client.httpx_loader import httpx

#: a connection idle longer than this is replaced before use: servers close idle keep-alive
#: connections (uvicorn after 5 s), and a request sent as the server closes fails ambiguously
IDLE_REUSE_LIMIT = 2.0
#: bytes asked of the socket per read
READ_SIZE = 65536
#: the most an answer's status line and headers (interim answers included) may take, as
#: http.client bounds them: a server streaming headers forever is refused, not buffered
MAX_HEAD = 65536
#: what a request target must not hold: controls and spaces
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")


class _Extra(Exception):
    """Bytes after a complete answer: the answer stands, the connection is not reused."""


class _Answer:
    """httptools' callbacks for one response; 1xx answers before it (100 Continue) are skipped."""

    __slots__ = ("body", "complete", "framed", "headers", "headers_done", "keep_alive", "parser", "started")

    def __init__(self) -> None:
        self.parser: Any = httptools.HttpResponseParser(self)
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.complete = False
        self.started = False
        self.headers_done = False
        self.framed = False  # Content-Length or chunked: the end is known without EOF
        self.keep_alive = False

    def on_message_begin(self) -> None:
        if self.complete:  # bytes after the answer: the connection is out of step
            raise _Extra
        self.started = True
        self.headers = {}
        self.body = []
        self.headers_done = False
        self.framed = False

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.keep_alive = self.parser.should_keep_alive()  # llhttp forgets it once the body is read
        # a length, or chunked as the last coding; any other answer ends where the connection does
        coding = self.headers.get("transfer-encoding")
        self.framed = "content-length" in self.headers or (
            coding is not None and coding.rsplit(",", 1)[-1].strip().lower() == "chunked"
        )

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # 100 Continue, 103: the answer follows
            self.headers_done = False
        else:  # 101 too: the server switched protocols, and this is the last HTTP it sends
            self.complete = True


class _Connection:
    __slots__ = ("idle_since", "poller", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.idle_since = time.monotonic()
        # poll, not select: select() cannot watch descriptors above 1023, which a worker whose
        # tasks hold many files open gets for its connections
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)

    def close(self) -> None:
        self.sock.close()

    def reusable(self) -> bool:
        """Not idle for too long, and not closed (nor written to) by the server meanwhile."""
        if time.monotonic() - self.idle_since > IDLE_REUSE_LIMIT:
            return False
        try:
            if not self.poller.poll(0):
                return True
        except OSError:
            return False
        if isinstance(self.sock, ssl.SSLSocket):  # TLS 1.3 session tickets make it readable
            self.sock.setblocking(False)
            try:
                self.sock.recv(1)
            except ssl.SSLWantReadError:
                return True  # only TLS records: no answer, no EOF
            except OSError:
                return False
            return False
        return False  # EOF, or bytes nobody asked for

    def exchange(self, data: bytes, deadline: float | None) -> tuple[int, dict[str, str], bytes, bool]:
        """Send ``data`` (a whole request), read one answer: status, headers, body, keep-alive."""
        sock = self.sock
        _bound(sock, deadline)
        try:
            sock.sendall(data)
        except ConnectionError as exc:
            # a server refusing the request (413 for a body too large) may answer and close
            # before reading it all: the send fails, the answer is there to read
            try:
                status, headers, content, _ = self._read(deadline)
            except (httpx.TransportError, OSError):
                raise exc from None
            return status, headers, content, False
        return self._read(deadline)

    def _read(self, deadline: float | None) -> tuple[int, dict[str, str], bytes, bool]:
        sock = self.sock
        answer = _Answer()
        keep = True
        head = 0  # bytes read while the head (status line and headers) was not complete
        received = 0  # bytes read in all
        while not answer.complete:
            _bound(sock, deadline)
            chunk = sock.recv(READ_SIZE)
            if not chunk:
                if answer.headers_done and not answer.framed:
                    keep = False  # an answer whose end is the end of the connection
                    break
                raise httpx.RemoteProtocolError(
                    "the server closed the connection before a complete answer"
                    if answer.started
                    else "the server closed the connection without an answer"
                )
            try:
                answer.parser.feed_data(chunk)
            except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
                if not answer.complete:
                    raise httpx.RemoteProtocolError(f"not an HTTP answer: {exc}") from None
                keep = False  # more bytes than the answer, or another protocol: not reused
            if not answer.headers_done:
                head += len(chunk)
                if head > MAX_HEAD:
                    raise httpx.RemoteProtocolError(f"the answer's headers exceed {MAX_HEAD:,} bytes")
            elif not answer.complete and _announced(answer.headers) > MAX_ANSWER_BYTES:
                raise httpx.RemoteProtocolError(ANSWER_TOO_LARGE)
            received += len(chunk)
            if received > MAX_ANSWER_BYTES:
                raise httpx.RemoteProtocolError(ANSWER_TOO_LARGE)
        parser, answer.parser = answer.parser, None  # no reference cycle left for the collector
        keep = keep and answer.keep_alive
        return parser.get_status_code(), answer.headers, b"".join(answer.body), keep


def _announced(headers: dict[str, str]) -> int:
    """The body's length as its ``Content-Length`` announces it (0 without a readable one)."""
    try:
        return int(headers.get("content-length", "0").strip())
    except ValueError:
        return 0


def _bound(sock: socket.socket, deadline: float | None) -> None:
    """The socket's timeout: what is left of the request's deadline."""
    if deadline is None:
        sock.settimeout(None)
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise httpx.ReadTimeout("the request's deadline passed")
    sock.settimeout(remaining)


def _check_header(name: str, value: str) -> None:
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"the {name} header holds a line break or NUL")


class KeepAlivePool:
    """Kept-alive connections to one ``http``/``https`` origin, shared by threads.

    A request takes an idle connection (the most recently used one) or opens one, and puts it
    back after a complete answer the server did not end with ``Connection: close``; at most
    ``max_idle`` are kept.
    """

    def __init__(
        self,
        url: httpx.URL,
        headers: Iterable[tuple[str, str]],
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_idle: int = 8,
    ) -> None:
        if url.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme {url.scheme!r}")
        self.host = url.host
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.ssl_context = ssl_context if url.scheme == "https" else None
        self.prefix = url.raw_path.decode("ascii").rstrip("/")  # a server mounted under a path
        host = f"[{self.host}]" if ":" in self.host else self.host
        if url.port is not None:
            host = f"{host}:{url.port}"
        lines = [("Host", host), *headers]
        for name, value in lines:
            _check_header(name, value)
        self._head = "".join(f"{name}: {value}\r\n" for name, value in lines).encode("latin-1")
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.max_idle = max_idle

    def encode(self, method: str, target: str, body: bytes | None, content_type: str | None) -> bytes:
        """The whole request as bytes. ``target`` is the path and query, already quoted;
        ``httpx.InvalidURL`` when it is not sendable as it is (not ASCII, spaces, controls)."""
        path = self.prefix + target
        if not path.isascii() or _UNSENDABLE.search(path):
            raise httpx.InvalidURL("the path is not ASCII without spaces and control characters")
        head = f"{method} {path} HTTP/1.1\r\n".encode("ascii") + self._head
        if body is None:
            return head + (b"Content-Length: 0\r\n\r\n" if method in ("POST", "PUT") else b"\r\n")
        extra = f"Content-Type: {content_type}\r\n" if content_type else ""
        return head + f"{extra}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body

    def send(self, data: bytes, deadline: float | None, method: str, path: str) -> Answer:
        """Send one encoded request and read its answer; httpx's transport errors on failure."""
        conn = self._take(deadline)
        try:
            status, headers, content, keep = conn.exchange(data, deadline)
        except BaseException as exc:
            conn.close()
            mapped = _as_transport_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        if keep:
            self._give_back(conn)
        else:
            conn.close()
        return Answer(status, headers, content, method, path)

    def _take(self, deadline: float | None) -> _Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._open(deadline)
            if conn.reusable():
                return conn
            conn.close()

    def _give_back(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            if not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def _open(self, deadline: float | None) -> _Connection:
        timeout = None if deadline is None else deadline - time.monotonic()
        if timeout is not None and timeout <= 0:
            raise httpx.ConnectTimeout("the request's deadline passed before it was sent")
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connect timed out after {timeout:.3g}s") from None
        except OSError as exc:
            raise httpx.ConnectError(_reason(exc)) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is None:
            return _Connection(sock)
        try:
            _bound(sock, deadline)
            return _Connection(self.ssl_context.wrap_socket(sock, server_hostname=self.host))
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise TlsVerificationError(exc.verify_message or str(exc)) from None
        except TimeoutError:
            sock.close()
            raise httpx.ConnectTimeout("the TLS handshake timed out") from None
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise httpx.ConnectError(f"TLS handshake failed: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror or exc}"
    if exc.strerror:
        return f"[Errno {exc.errno}] {exc.strerror}"
    return str(exc) or type(exc).__name__


def _as_transport_error(exc: BaseException) -> BaseException:
    """What a failed exchange raises: httpx's errors as they are, OS errors mapped onto them."""
    if isinstance(exc, httpx.TransportError):
        return exc
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout("no complete answer in time")
    if isinstance(exc, ssl.SSLError):
        return httpx.ReadError(f"TLS error: {exc}")
    if isinstance(exc, OSError):
        return httpx.ReadError(_reason(exc))
    return exc  # KeyboardInterrupt and the like go on as they are


def target_of(path: str, params: Any) -> str:
    """``path`` with its query (a mapping or pairs; lists repeat a key), quoted as httpx would."""
    if not params:
        return path
    items = params.items() if hasattr(params, "items") else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        for item in value if isinstance(value, list | tuple) else (value,):
            pairs.append((key, _primitive(item)))
    return f"{path}?{urlencode(pairs)}"


def _primitive(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)
