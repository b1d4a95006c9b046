"""Sending one request to an Eventix server: headers, the deadline, retries, error mapping.

:class:`HttpSender` owns the base URL, the token, the timeout (a deadline for the whole call,
retries and their backoff included) and the transport (urllib3's pools by default, an injected
``httpx.MockTransport`` in tests). Idempotent requests are retried on connection failures and
gateway errors with capped exponential backoff; requests a repeat could double never are.
Failures become exceptions from :mod:`eventix_cli.core.errors`; bodies go out through
:mod:`eventix_cli.client.wire`, which refuses what no server can store.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from eventix_cli import __version__
from eventix_cli.client.answer import Answer, TlsVerificationError
from eventix_cli.client.error_answers import error_from_answer
from eventix_cli.client.httpx_loader import httpx
from eventix_cli.client.keepalive import KeepAlivePool, target_of
from eventix_cli.client.tls import ssl_context, verification_hint
from eventix_cli.core.errors import (
    CertificateVerifyFailed,
    ServerTimeout,
    ServerUnreachable,
    TransportError,
    UnsendableValue,
    UsageError,
)
from eventix_cli.core.jsonrules import encode_json
from eventix_cli.core.text import sendable_token
from eventix_cli.core.times import format_elapsed

if TYPE_CHECKING:
    from eventix_cli.client.transport import Urllib3Transport

log = logging.getLogger("eventix_cli.client")  # the client's requests log under the client's name

USER_AGENT = f"eventix-cli/{__version__}"
DEFAULT_TIMEOUT = 10.0
RETRY_STATUS_CODES = frozenset({502, 503, 504})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers safe to log: credentials replaced by ``***``."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        if key.lower() in ("authorization", "proxy-authorization", "cookie"):
            scheme = value.split(" ", 1)[0] if " " in value else ""
            out[key] = f"{scheme} ***".strip()
        else:
            out[key] = value
    return out


class HttpSender:
    """Sends requests to one server; :class:`~eventix_cli.client.api.EventixClient` adds the endpoints."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
        retries: int = 3,
        backoff: float = 0.2,
        backoff_max: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        max_connections: int = 64,
        keepalive: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, retries)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._sleep = sleep
        self.timeout = timeout
        self._verify = verify
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token and not sendable_token(token):
            raise UsageError(
                "the token holds a line break, a control character or non-ASCII text, "
                "so it cannot be sent in a header",
                hint="check EVENTIX_TOKEN and the profile's token",
            )
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._headers = httpx.Headers(headers)
        self._json_headers = httpx.Headers({**headers, "Content-Type": "application/json"})
        self._timeout = httpx.Timeout(timeout).as_dict()
        try:
            parsed = httpx.URL(self.base_url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise UsageError(f"invalid server URL {base_url!r}: {exc}") from exc
        self._pool: KeepAlivePool | None = None
        self._transport: httpx.BaseTransport | None = transport
        if transport is None and keepalive and parsed.scheme in ("http", "https") and not _proxy_for(parsed):
            context = _ssl_context(parsed, verify)
            self._pool = KeepAlivePool(parsed, headers.items(), ssl_context=context, max_idle=max_connections)
        elif transport is None:
            self._transport = _default_transport(parsed, verify, max_connections)

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._transport is not None:
            self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _transport_error(self, exc: httpx.TransportError, method: str, path: str) -> TransportError:
        where = f"{self.base_url}{path}"
        if isinstance(exc, httpx.TimeoutException):
            return ServerTimeout(
                f"{method} {where} got no complete answer within {self.timeout:g}s ({type(exc).__name__})",
                hint="the server is slow or hanging; raise --request-timeout or check the server",
            )
        if isinstance(exc, TlsVerificationError):
            return CertificateVerifyFailed(
                f"the TLS certificate of {self.base_url} was not accepted: {exc}",
                hint=verification_hint(self._verify),
            )
        if isinstance(exc, httpx.ConnectError):
            reason = str(exc) or type(exc).__name__
            return ServerUnreachable(
                f"cannot reach {self.base_url}: {reason}",
                hint="is the server running? start a local one with `eventix server`, or pass --url",
            )
        if isinstance(exc, httpx.UnsupportedProtocol):
            raise UsageError(f"invalid server URL {self.base_url!r}: {exc}") from exc
        return TransportError(f"{method} {where} failed: {exc or type(exc).__name__}")

    def _delay(self, attempt: int) -> float:
        base = min(self.backoff_max, self.backoff * (2**attempt))
        return base * (0.5 + random.random() / 2)

    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = None,
        ok: Sequence[int] = (200,),
    ) -> Answer:
        """Send one request; raise a typed error for anything but a status in ``ok``.

        The whole call, retries and their backoff included, ends within ``timeout`` seconds.
        Both ways of sending (urllib3's pools, a kept-alive sender's connections) answer with
        an :class:`~eventix_cli.client.answer.Answer`.
        """
        deadline = time.monotonic() + self.timeout
        body = encode_json(json) if json is not None else None
        try:
            if self._pool is not None:
                send = self._keepalive_sender(method, path, params, body, deadline)
            else:
                send = self._httpx_sender(method, path, params, body, deadline)
        except httpx.InvalidURL as exc:
            shown = path if len(path) <= 60 else f"{path[:57]}... ({len(path):,} characters)"
            raise UsageError(f"cannot send {method} {shown}: {exc}") from None
        except UnicodeEncodeError:
            raise UnsendableValue(
                f"cannot send {method} {path[:60]}: a parameter is not valid Unicode text"
            ) from None
        return self._with_retries(send, method, path, idempotent, ok, deadline, params)

    def _httpx_sender(
        self, method: str, path: str, params: Any, body: bytes | None, deadline: float
    ) -> Callable[[], Answer]:
        headers = self._headers if body is None else self._json_headers
        request = httpx.Request(
            method,
            self.base_url + path,
            params=params,
            content=body,
            headers=headers,
            extensions={"timeout": self._timeout, "deadline": deadline},
        )
        transport = self._transport
        assert transport is not None

        def send() -> Answer:
            response = transport.handle_request(request)
            content = response.read()
            return Answer(response.status_code, response.headers, content, method, request.url.path)

        return send

    def _keepalive_sender(
        self, method: str, path: str, params: Any, body: bytes | None, deadline: float
    ) -> Callable[[], Answer]:
        pool = self._pool
        assert pool is not None
        data = pool.encode(method, target_of(path, params), body, "application/json" if body else None)
        return lambda: pool.send(data, deadline, method, path)

    def _with_retries(
        self,
        send: Callable[[], Answer],
        method: str,
        path: str,
        idempotent: bool,
        ok: Sequence[int],
        deadline: float,
        params: Any = None,
    ) -> Answer:
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                response = send()
            except httpx.TransportError as exc:
                error = self._transport_error(exc, method, path)
                delay = self._delay(attempt)
                retry = attempt + 1 < attempts and not isinstance(error, CertificateVerifyFailed)
                if retry and time.monotonic() + delay < deadline:
                    log.debug("%s %s failed (%s); retry %d in %.2fs", method, path, exc, attempt + 1, delay)
                    self._sleep(delay)
                    continue
                raise error from exc
            if log.isEnabledFor(logging.DEBUG):
                elapsed_ms = (time.perf_counter() - started) * 1000
                log.debug(
                    "%s %s -> %d in %s; headers %s",
                    method,
                    httpx.URL(self.base_url + path, params=params),
                    response.status_code,
                    format_elapsed(elapsed_ms / 1000),
                    redact_headers(self._headers),
                )
            if response.status_code in ok:
                return response
            delay = self._delay(attempt)
            if (
                idempotent
                and response.status_code in RETRY_STATUS_CODES
                and attempt + 1 < attempts
                and time.monotonic() + delay < deadline
            ):
                log.debug(
                    "%s %s -> %d; retry %d in %.2fs", method, path, response.status_code, attempt + 1, delay
                )
                self._sleep(delay)
                continue
            raise error_from_answer(
                response.status_code, response.content, response.headers.get("content-type", "")
            )
        raise AssertionError("unreachable")  # pragma: no cover


def _proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) sets for ``url``."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy


def _default_transport(url: httpx.URL, verify: bool | str, max_connections: int) -> Urllib3Transport:
    """urllib3's pools, through the proxy the environment names for ``url`` if any."""
    # deferred: a worker sends through kept-alive connections and never loads urllib3 (~45 ms
    # of import; tests/test_startup.py pins it off the worker's start-up)
    from eventix_cli.client.transport import Urllib3Transport

    proxy = _proxy_for(url)
    if proxy and not proxy.lower().startswith(("http://", "https://")):
        raise UsageError(
            f"unsupported proxy {proxy!r} for {url.scheme} URLs: only http:// and https:// proxies work",
            hint="set HTTP_PROXY / HTTPS_PROXY to an HTTP proxy, or NO_PROXY to bypass it",
        )
    context = _ssl_context(url, verify)
    return Urllib3Transport(ssl_context=context, proxy=proxy, max_connections=max_connections)


def _ssl_context(url: httpx.URL, verify: bool | str) -> ssl.SSLContext | None:
    """The TLS settings for an https URL (None for http)."""
    if url.scheme != "https":
        return None
    return ssl_context(verify)
