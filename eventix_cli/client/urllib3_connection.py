"""urllib3's connections for :mod:`eventix_cli.client.transport`: answers read under the request's
deadline and held to what the worker's wire (:mod:`eventix_cli.client.keepalive`) accepts.

http.client reads an answer through ``sock.makefile("rb")``; the connections here hand it a
socket whose file (:class:`_AnswerReader` under a :class:`_AnswerFile`) does four things:

* every read of the socket first sets its timeout to what is left of the request's deadline
  (urllib3's timeouts bound each read, so a server dripping one byte at a time never times out);
* interim answers (``100 Continue``, ``103 Early Hints``) before the answer are skipped, as the
  worker's wire skips them (http.client skips only 100 and would return a 103 as the answer);
* a status line or headers cut off by the close, and a ``Content-Length`` no read can take, are
  :class:`BadAnswer` (http.client takes the end of the connection for the end of the headers);
* when http.client closes the file after the answer, bytes read with it that nobody asked for
  mark the connection as out of step, and it is not reused.

All of it through public interfaces: ``socket.makefile``, ``io``'s raw and buffered files,
``HTTPConnection.response_class`` and urllib3's ``is_connected``, which its pool asks before
reusing a connection (so a connection idle for more than :data:`IDLE_REUSE_LIMIT` seconds or
out of step is replaced there). The head is looked at, not parsed: http.client still parses it.
"""

from __future__ import annotations

import http.client
import io
import sys
import threading
import time
from typing import Any

from urllib3 import connection

from eventix_cli.client.answer import ANSWER_TOO_LARGE, MAX_ANSWER_BYTES

#: a connection idle longer than this is replaced before use: servers close idle keep-alive
#: connections (uvicorn after 5 s), and a request on a closed one fails ambiguously
IDLE_REUSE_LIMIT = 2.0
#: the longest status or header line and the most header lines, as http.client bounds them
MAX_LINE = 65536
MAX_HEADERS = 100
#: the largest body a ``Content-Length`` may announce (a read of more overflows)
MAX_LENGTH = sys.maxsize
_CUT = "the server closed the connection before a complete answer"

#: the deadline (``time.monotonic()``) of the request the current thread is sending; a pooled
#: connection serves one thread at a time, so its reads look here
_current = threading.local()


class DeadlineExceeded(TimeoutError):
    """The request's whole-request deadline passed while its answer was being read."""


class BadAnswer(http.client.HTTPException):
    """An answer http.client would take, but that is not one: cut off, or not HTTP."""


def set_deadline(deadline: float | None) -> None:
    """The deadline of the request this thread sends next (None: no deadline)."""
    _current.deadline = deadline


class _AnswerReader(io.RawIOBase):
    """One answer's bytes off the socket; its head is checked before http.client reads it."""

    def __init__(self, sock: Any, method: str | None) -> None:
        self._sock = sock
        self._file = sock.makefile("rb", buffering=0)  # counted, so a close waits for this reader
        self._method = method
        self._pending = bytearray()  # read ahead while the head was checked, not yet handed on
        self._checked = False
        self._received = 0  # bytes of this answer read so far, its head included
        self.eof = False  # the server closed its end
        self.probing = False  # reads return "nothing yet" without touching the socket

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()

    def readinto(self, buffer: Any) -> int | None:
        if self.probing:
            return None
        if not self._checked:
            self._checked = True
            self._check_head()
        if self._pending:
            count = min(len(buffer), len(self._pending))
            buffer[:count] = self._pending[:count]
            del self._pending[:count]
            return count
        return self._receive(buffer)

    def _receive(self, buffer: Any) -> int | None:
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded("the request's deadline passed")
            self._sock.settimeout(remaining)
        read = self._file.readinto(buffer)
        if read == 0:
            self.eof = True
        elif read:
            self._received += read
            if self._received > MAX_ANSWER_BYTES:
                raise BadAnswer(ANSWER_TOO_LARGE)
        return read

    def _read_more(self) -> bool:
        chunk = bytearray(16384)
        read = self._receive(chunk)
        if not read:
            return False
        self._pending += memoryview(chunk)[:read]
        return True

    def _line_at(self, start: int) -> bytes:
        """The line from ``start`` with its end, read as needed; as http.client reads one, at most
        ``MAX_LINE + 1`` bytes, and without its end when the connection ends first."""
        while True:
            end = self._pending.find(b"\n", start, start + MAX_LINE + 1)
            if end >= 0:
                return bytes(self._pending[start : end + 1])
            if len(self._pending) - start > MAX_LINE or not self._read_more():
                return bytes(self._pending[start : start + MAX_LINE + 1])

    def _check_head(self) -> None:
        """Skip interim answers; refuse a head cut off by the close or a length beyond reading."""
        interim = False
        while True:
            line = self._line_at(0)
            if len(line) > MAX_LINE:
                return  # http.client refuses the line
            version, status = _status_of(line)
            if status is None or not 100 <= status < 200 or status == 101:  # 101: switched protocols
                break
            end = self._end_of_head(len(line), interim=True)
            del self._pending[:end]  # 100, 103: the answer follows
            interim = True
        if status is None:
            if interim or (line and self.eof):
                raise BadAnswer(_CUT)
            return  # nothing at all, or not HTTP: http.client says which
        if version in ("HTTP/1.0", "HTTP/0.9") or version.startswith("HTTP/1."):
            self._end_of_head(len(line), interim=False, status=status)

    def _end_of_head(self, start: int, *, interim: bool, status: int = 0) -> int:
        """Where the head whose header lines start at ``start`` ends. An interim head too long
        is refused as http.client refuses one; the answer's is left to http.client to refuse."""
        lengths: list[bytes] = []
        codings: list[bytes] = []
        for count in range(MAX_HEADERS + 1):
            line = self._line_at(start)
            if len(line) > MAX_LINE:
                if interim:
                    raise http.client.LineTooLong("header line")
                return start
            if count == MAX_HEADERS:
                if interim:
                    raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
                return start
            if line in (b"\r\n", b"\n"):
                if not interim:
                    self._check_length(status, lengths, codings)
                return start + len(line)
            if not line.endswith(b"\n"):
                raise BadAnswer(_CUT)
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                lengths.append(value)
            elif name == b"transfer-encoding":
                codings.append(value)
            start += len(line)
        return start  # pragma: no cover - the loop returns

    def _check_length(self, status: int, lengths: list[bytes], codings: list[bytes]) -> None:
        """As http.client reads the first ``Content-Length`` (ignored when chunked, or when the
        answer has no body): one that no read can take is no answer."""
        if not lengths or status in (204, 304) or 100 <= status < 200 or self._method == "HEAD":
            return
        if codings and codings[0].lstrip(b" \t").rstrip(b"\r\n").lower() == b"chunked":
            return
        try:
            length = int(lengths[0].lstrip(b" \t").rstrip(b"\r\n"))
        except ValueError:
            return
        if length > MAX_LENGTH:
            raise BadAnswer(f"the answer's Content-Length {length} is beyond any body")
        if length > MAX_ANSWER_BYTES:
            raise BadAnswer(ANSWER_TOO_LARGE)


def _status_of(line: bytes) -> tuple[str, int | None]:
    """The version and status of a status line, as http.client reads them (None: not one)."""
    parts = line.decode("iso-8859-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        return "", None
    try:
        status = int(parts[1])
    except ValueError:
        return parts[0], None
    return parts[0], status if 100 <= status <= 999 else None


class _AnswerFile(io.BufferedReader):
    """The buffered file http.client reads an answer from; closed once the answer is read."""

    def __init__(self, raw: _AnswerReader, owner: Any) -> None:
        super().__init__(raw)
        self._owner = owner  # the connection, told when it must not be reused

    def close(self) -> None:
        if not self.closed:
            reader: _AnswerReader = self.raw  # type: ignore[assignment]
            reader.probing = True
            try:
                if self.peek(1):  # bytes nobody asked for, read with the answer: out of step
                    self._owner.reusable = False
            finally:
                reader.probing = False
            self._owner.idle_since = time.monotonic()
        super().close()


class _AnswerSocket:
    """What http.client's response sees of the socket: ``makefile`` is all it calls."""

    __slots__ = ("_method", "_owner", "_sock")

    def __init__(self, sock: Any, owner: Any, method: str | None) -> None:
        self._sock = sock
        self._owner = owner
        self._method = method

    def makefile(self, mode: str) -> io.BufferedReader:
        return _AnswerFile(_AnswerReader(self._sock, self._method), self._owner)


class _Checked:
    """Connection mixin: answers read through :class:`_AnswerSocket`; a connection idle too
    long, or whose last answer came with more bytes than the answer, is not connected as far
    as urllib3's pool is concerned, which then closes it and connects anew."""

    reusable = True
    idle_since: float | None = None

    def response_class(
        self, sock: Any, debuglevel: int = 0, method: str | None = None
    ) -> http.client.HTTPResponse:
        return http.client.HTTPResponse(_AnswerSocket(sock, self, method), debuglevel, method)  # type: ignore[arg-type]

    @property
    def is_connected(self) -> bool:
        if not self.reusable:
            return False
        if self.idle_since is not None and time.monotonic() - self.idle_since > IDLE_REUSE_LIMIT:
            return False
        return super().is_connected  # type: ignore[misc]

    def close(self) -> None:
        self.reusable = True
        self.idle_since = None
        super().close()  # type: ignore[misc]


class HTTPConnection(_Checked, connection.HTTPConnection):
    pass


class HTTPSConnection(_Checked, connection.HTTPSConnection):
    pass
