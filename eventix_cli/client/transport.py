"""The wire layer: an httpx transport over urllib3's connection pools.

The client builds ``httpx.Request`` objects and reads ``httpx.Response`` objects (tests inject
``httpx.MockTransport``); this transport carries them over urllib3, which does the pooling
(thread-safe, one pool per host), drops kept-alive connections the server has closed before
reusing them, speaks TLS with the context it is given, and tunnels through HTTP(S) proxies.

Its connections (:mod:`eventix_cli.client.urllib3_connection`) add three things on top:

* **a deadline for the whole request.** urllib3's timeouts (like every socket timeout) bound
  each read, so a server that drips one byte at a time never times out. Here every read of
  the response (status line, headers, body) first sets the socket's timeout to what is left
  of the request's deadline, and fails once it has passed.
* **an idle limit.** A connection idle for more than ``IDLE_REUSE_LIMIT`` seconds is
  replaced rather than reused: servers close idle connections (uvicorn after 5 s), and a
  request sent as the server closes fails in a way a client cannot safely repeat.
* **strict answers.** http.client is lenient where the worker's wire
  (:mod:`eventix_cli.client.keepalive`) is not, and that wire is the reference: interim answers
  (``103 Early Hints``) are skipped, not returned; a status line or headers cut off by the
  close are an error, not an empty answer; a ``Content-Length`` no read can take is an error;
  and a connection whose answer came with more bytes than the answer is closed rather than
  reused. Here, headers are passed on as read (latin-1).

urllib3 never retries or follows redirects here: the client owns the retry policy.
"""

from __future__ import annotations

import http.client
import ssl
import time
import warnings
from typing import Any
from urllib.parse import unquote

import urllib3
from urllib3 import connectionpool, exceptions

from eventix_cli.client.answer import TlsVerificationError
from eventix_cli.client.httpx_loader import httpx
from eventix_cli.client.urllib3_connection import (
    BadAnswer,
    DeadlineExceeded,
    HTTPConnection,
    HTTPSConnection,
    set_deadline,
)


class _HTTPPool(connectionpool.HTTPConnectionPool):
    ConnectionCls = HTTPConnection


class _HTTPSPool(connectionpool.HTTPSConnectionPool):
    ConnectionCls = HTTPSConnection


_POOL_CLASSES = {"http": _HTTPPool, "https": _HTTPSPool}
_NO_RETRIES = urllib3.Retry(total=False, redirect=False, raise_on_status=False)


def _tls_reason(exc: BaseException) -> BaseException | None:
    """The ssl error behind a urllib3 error, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__ or (seen.args[0] if seen.args else None)
        if not isinstance(seen, BaseException):
            return None
    return None


def _map_error(exc: Exception, timeout: float | None) -> httpx.TransportError:
    """urllib3's exceptions as the httpx ones the client understands."""
    if isinstance(exc, exceptions.ReadTimeoutError | DeadlineExceeded):
        return httpx.ReadTimeout(f"no complete answer within {timeout}s")
    if isinstance(exc, exceptions.SSLError):
        reason = _tls_reason(exc) or exc
        if isinstance(reason, ssl.SSLCertVerificationError):
            return TlsVerificationError(reason.verify_message or str(reason))
        return httpx.ConnectError(f"TLS handshake failed: {reason}")
    if isinstance(exc, exceptions.ProxyError):
        return httpx.ProxyError(
            f"proxy failed: {exc.original_error if hasattr(exc, 'original_error') else exc}"
        )
    if isinstance(exc, exceptions.NewConnectionError):
        return httpx.ConnectError(_short(exc))
    if isinstance(exc, exceptions.ConnectTimeoutError):
        return httpx.ConnectTimeout(f"connect timed out after {timeout}s")
    if isinstance(exc, exceptions.LocationValueError):
        return httpx.UnsupportedProtocol(str(exc))
    if isinstance(exc, exceptions.ProtocolError):
        reason = exc.args[1] if len(exc.args) > 1 else None
        if isinstance(reason, BadAnswer):
            return httpx.RemoteProtocolError(str(reason))
        if isinstance(reason, http.client.IncompleteRead):
            partial = reason.partial
            got = partial if isinstance(partial, int) else len(partial)
            return httpx.RemoteProtocolError(
                "the server closed the connection before a complete answer "
                f"({got} bytes of the body read, {reason.expected} more expected)"
            )
        return httpx.RemoteProtocolError(f"server closed the connection: {_short(exc)}")
    return httpx.ReadError(_short(exc))


def _short(exc: BaseException) -> str:
    """The useful end of urllib3's nested messages (``[Errno 111] Connection refused``)."""
    inner = exc.__context__ or exc.__cause__
    if isinstance(inner, OSError) and inner.strerror:
        return f"[Errno {inner.errno}] {inner.strerror}"
    text = str(exc)
    return text.rsplit(": ", 1)[-1] if "Failed to establish" in text else text


class Urllib3Transport(httpx.BaseTransport):
    """An httpx transport over urllib3.

    Args:
        ssl_context: the TLS settings for https URLs (trust, verification).
        proxy: an ``http://`` or ``https://`` proxy URL that every request goes through.
        max_connections: connections kept per host; more are opened when more requests run
            at once, and closed afterwards.
    """

    def __init__(
        self, *, ssl_context: ssl.SSLContext | None = None, proxy: str | None = None, max_connections: int = 8
    ) -> None:
        options: dict[str, Any] = {"maxsize": max_connections, "block": False, "retries": _NO_RETRIES}
        if ssl_context is not None:
            options["ssl_context"] = ssl_context
            if ssl_context.verify_mode == ssl.CERT_NONE:
                # verification was turned off on purpose (EVENTIX_VERIFY=false): no warning per request
                warnings.filterwarnings("ignore", category=exceptions.InsecureRequestWarning)
        if proxy:
            self._manager: urllib3.PoolManager = urllib3.ProxyManager(
                proxy, proxy_headers=_proxy_headers(proxy), **options
            )
        else:
            self._manager = urllib3.PoolManager(**options)
        self._manager.pool_classes_by_scheme = _POOL_CLASSES  # type: ignore[assignment]
        self._direct = not proxy
        self._pools: dict[tuple[str, str, int | None], connectionpool.HTTPConnectionPool] = {}

    def _send(self, request: httpx.Request, **options: Any) -> urllib3.BaseHTTPResponse:
        url = request.url
        if not self._direct:  # the proxy manager rewrites the request for the proxy
            return self._manager.urlopen(request.method, str(url), assert_same_host=False, **options)
        key = (url.scheme, url.host, url.port)
        pool = self._pools.get(key)
        if pool is None:  # the manager's pool for the host, looked up once instead of per request
            pool = self._pools[key] = self._manager.connection_from_host(url.host, url.port, url.scheme)
        return pool.urlopen(request.method, url.raw_path.decode("ascii"), **options)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {request.url.scheme!r}")
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        limit = max((t for t in timeouts.values() if t is not None), default=None)
        deadline = request.extensions.get("deadline")
        if deadline is None and limit is not None:
            deadline = time.monotonic() + limit
        body = request.read()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw}
        set_deadline(deadline)
        try:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise httpx.ConnectTimeout("the request's deadline passed before it was sent")
                timeout = urllib3.Timeout(connect=remaining, read=remaining)
            else:
                timeout = urllib3.Timeout(connect=None, read=None)
            try:
                response = self._send(
                    request,
                    body=body or None,
                    headers=headers,
                    timeout=timeout,
                    retries=_NO_RETRIES,
                    redirect=False,
                    preload_content=True,  # the whole body, read under the deadline
                    decode_content=False,
                )
                content = response.data
            except (exceptions.HTTPError, DeadlineExceeded) as exc:
                raise _map_error(exc, limit) from exc
            except OSError as exc:  # raised by the socket outside urllib3's own wrapping
                raise httpx.ReadError(str(exc)) from exc
        finally:
            set_deadline(None)
        answer = httpx.Response(
            response.status,
            # as read (latin-1, as http.client decodes them): httpx would encode them as ASCII
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.iteritems()],
            content=content,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )
        answer.headers.encoding = "latin-1"
        return answer

    def close(self) -> None:
        self._pools.clear()
        self._manager.clear()


def _proxy_headers(proxy: str) -> dict[str, str] | None:
    """``Proxy-Authorization`` for a proxy URL with credentials (``http://user:pass@host:3128``)."""
    auth = urllib3.util.parse_url(proxy).auth
    if not auth:
        return None
    return urllib3.make_headers(proxy_basic_auth=unquote(auth))
