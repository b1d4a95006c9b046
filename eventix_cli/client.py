"""EventixClient: one typed method per endpoint of the Eventix REST API, over httpx.

The client knows HTTP and the wire format, nothing about terminals. Every failure becomes
an exception from :mod:`eventix_cli.errors`. Idempotent requests are retried on connection
failures and gateway errors with capped exponential backoff; requests that change state in
a way a repeat could double (POST /task, claims, reschedules, deletes by unique key, events)
are never retried silently. ``timeout`` is a deadline for the whole call, retries included.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

# httpx's own command line (httpx._main) pulls in rich, pygments and click at import time,
# a third of httpx's import cost; we never use it. A None entry in sys.modules is Python's
# documented way to make that one import fail, and httpx falls back to a stub `main`.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx

from eventix_cli import __version__
from eventix_cli.errors import (
    CertificateVerifyFailed,
    ServerTimeout,
    ServerUnreachable,
    TransportError,
    UnsendableValue,
    UsageError,
    error_from_response,
)
from eventix_cli.wire import decode_model, encode_json, expect, invalid, segment

if TYPE_CHECKING:
    import datetime as dt

    from eventix_cli.models import Event, Page, Task, TaskStatus

log = logging.getLogger(__name__)

USER_AGENT = f"eventix-cli/{__version__}"
DEFAULT_TIMEOUT = 10.0
DEFAULT_PAGE_SIZE = 500
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


class EventixClient:
    """A client for one Eventix server.

    Args:
        base_url: the server's base URL, e.g. ``http://127.0.0.1:8000``.
        token: sent as ``Authorization: Bearer <token>`` when given.
        timeout: seconds for a whole call (connect, send, read, and any retries).
        verify: TLS verification: ``True`` (SSL_CERT_FILE / SSL_CERT_DIR when set, else the
            system trust store and certifi), ``False``, or the path of a CA bundle.
        transport: an httpx transport (tests inject ``httpx.MockTransport``).
        retries: how many times an idempotent request is repeated after a connection failure.
        backoff: first backoff delay in seconds; doubles per attempt up to ``backoff_max``.
        max_connections: the connection pool's size; match it to the requests sent at once.
    """

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
        max_connections: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, retries)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._sleep = sleep
        self.timeout = timeout
        self._verify = verify
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._headers = httpx.Headers(headers)
        self._json_headers = httpx.Headers({**headers, "Content-Type": "application/json"})
        self._timeout = httpx.Timeout(timeout).as_dict()
        try:
            parsed = httpx.URL(self.base_url)
        except (httpx.InvalidURL, ValueError) as exc:
            raise UsageError(f"invalid server URL {base_url!r}: {exc}") from exc
        if transport is None:
            transport = _default_transport(parsed, verify, max_connections)
        self._transport = transport

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> EventixClient:
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
        from eventix_cli.transport import TlsVerificationError

        if isinstance(exc, TlsVerificationError):
            from eventix_cli.tls import verification_hint

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
    ) -> httpx.Response:
        """Send one request; raise a typed error for anything but a status in ``ok``.

        The whole call, retries and their backoff included, ends within ``timeout`` seconds.
        """
        deadline = time.monotonic() + self.timeout
        attempts = 1 + (self.retries if idempotent else 0)
        body = encode_json(json) if json is not None else None
        headers = self._headers if body is None else self._json_headers
        try:
            request = httpx.Request(
                method,
                self.base_url + path,
                params=params,
                content=body,
                headers=headers,
                extensions={"timeout": self._timeout, "deadline": deadline},
            )
        except httpx.InvalidURL as exc:
            shown = path if len(path) <= 60 else f"{path[:57]}... ({len(path):,} characters)"
            raise UsageError(f"cannot send {method} {shown}: {exc}") from None
        except UnicodeEncodeError:
            raise UnsendableValue(
                f"cannot send {method} {path[:60]}: a parameter is not valid Unicode text"
            ) from None
        for attempt in range(attempts):
            started = time.perf_counter()
            try:
                response = self._transport.handle_request(request)
                response.request = request  # as httpx.Client does (injected transports leave it unset)
                response.read()
            except httpx.TransportError as exc:
                error = self._transport_error(exc, method, path)
                delay = self._delay(attempt)
                retry = attempt + 1 < attempts and not isinstance(error, CertificateVerifyFailed)
                if retry and time.monotonic() + delay < deadline:
                    log.debug("%s %s failed (%s); retry %d in %.2fs", method, path, exc, attempt + 1, delay)
                    self._sleep(delay)
                    continue
                raise error from exc
            elapsed_ms = (time.perf_counter() - started) * 1000
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s -> %d in %.1f ms; headers %s",
                    method,
                    request.url,
                    response.status_code,
                    elapsed_ms,
                    redact_headers(request.headers),
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
            raise error_from_response(
                response.status_code, response.content, response.headers.get("content-type", "")
            )
        raise AssertionError("unreachable")  # pragma: no cover

    # -- server -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /healthz``: the server's health document, ``{"status": "healthy"}`` when well."""
        return expect(self.request("GET", "/healthz", idempotent=True), dict, "a health document")

    def version(self) -> str:
        """``GET /version``: the server's version string."""
        body = expect(self.request("GET", "/version", idempotent=True), dict, "a version document")
        return str(body.get("version", "unknown"))

    def namespaces(self) -> list[str]:
        """``GET /namespaces``: the sorted distinct namespaces that hold tasks."""
        response = self.request("GET", "/namespaces", idempotent=True)
        names = expect(response, dict, "a namespace list").get("namespaces", [])
        if not isinstance(names, list):
            raise invalid(response, "namespaces is not a list")
        return [str(name) for name in names]

    def metrics(self) -> dict[str, Any]:
        """``GET /metrics``: memory, worker and task counters, as the server reports them."""
        return expect(self.request("GET", "/metrics", idempotent=True), dict, "a metrics document")

    # -- single tasks -----------------------------------------------------------------------

    def post_task(self, task: Task) -> Task:
        """``POST /task``: store a new task, or update the pending one with the same unique key."""
        for name in ("task", "namespace"):
            if not getattr(task, name):
                raise UsageError(f"the task's {'name' if name == 'task' else name} must not be empty")
        if task.unique_key == "":
            raise UsageError("the unique key must not be empty: leave it out for a task without one")
        response = self.request("POST", "/task", idempotent=False, json=task.to_wire())
        return _task(response)

    def get_task(self, uid: str) -> Task:
        """``GET /task/{uid}``; raises :class:`~eventix_cli.errors.TaskNotFound`."""
        return _task(self.request("GET", f"/task/{segment(uid, 'task id')}", idempotent=True))

    def put_task(self, task: Task) -> Task:
        """``PUT /task/{uid}``: write the whole document; its revision must match the stored one.

        Raises :class:`~eventix_cli.errors.RevisionConflict` when someone wrote in between.
        Inserts when the uid does not exist.
        """
        response = self.request(
            "PUT", f"/task/{segment(task.uid, 'task id')}", idempotent=True, json=task.to_wire()
        )
        return _task(response)

    def delete_task(self, uid: str) -> None:
        """``DELETE /task/{uid}``; raises :class:`~eventix_cli.errors.TaskNotFound`."""
        self.request("DELETE", f"/task/{segment(uid, 'task id')}", idempotent=True)

    def reschedule(self, uid: str, eta: dt.datetime | None = None) -> Task:
        """``GET /task/{uid}/reschedule``: error/retry -> scheduled at ``eta`` (default now).

        Raises :class:`~eventix_cli.errors.WrongTaskStatus` for other statuses.
        """
        params = None
        if eta is not None:
            from eventix_cli.models import as_utc

            params = {"eta": as_utc(eta).isoformat()}
        response = self.request(
            "GET", f"/task/{segment(uid, 'task id')}/reschedule", idempotent=False, params=params
        )
        return _task(response)

    def get_by_unique_key(
        self, namespace: str, unique_key: str, stati: Sequence[TaskStatus | str] | None = None
    ) -> Task:
        """``GET /task/by_unique_key/{namespace}/{unique_key}``: the first task with that key
        in one of ``stati`` (server default: scheduled, retry)."""
        params = [("stati", str(s)) for s in stati] if stati else None
        response = self.request(
            "GET",
            f"/task/by_unique_key/{segment(namespace, 'namespace')}/{segment(unique_key, 'unique key')}",
            idempotent=True,
            params=params,
        )
        return _task(response)

    def delete_by_unique_key(self, unique_key: str) -> None:
        """``DELETE /task/by_unique_key/{unique_key}``: the one pending task with that key."""
        self.request("DELETE", f"/task/by_unique_key/{segment(unique_key, 'unique key')}", idempotent=False)

    # -- workers ----------------------------------------------------------------------------

    def next_scheduled(self, worker_id: str, namespace: str) -> Task | None:
        """``GET /tasks/next_scheduled``: claim the next due task, or ``None`` when nothing is due."""
        response = self.request(
            "GET",
            "/tasks/next_scheduled",
            idempotent=False,
            params={"worker_id": worker_id, "namespace": namespace},
            ok=(200, 204),
        )
        if response.status_code == 204 or not response.content:
            return None
        return _task(response)

    # -- listings ---------------------------------------------------------------------------

    @staticmethod
    def _query_body(**fields: Any) -> dict[str, Any]:
        return {key: value for key, value in fields.items() if value is not None}

    def by_status(
        self,
        *,
        status: TaskStatus | str | None = None,
        namespace: str | None = None,
        skip: int | None = None,
        limit: int | None = None,
        sort: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> Page:
        """``PUT /tasks/by_status``: a page of tasks matching ``filter`` (a MongoDB query).

        ``status`` and ``namespace`` are merged into the filter by the server.
        """
        body = self._query_body(
            status=str(status) if status is not None else None,
            namespace=namespace,
            skip=skip,
            limit=limit,
            sort=sort,
            filter=dict(filter) if filter else None,
        )
        response = self.request("PUT", "/tasks/by_status", idempotent=True, json=body)
        return _page(response)

    def by_task(
        self, task: str, *, namespace: str | None = None, skip: int | None = None, limit: int | None = None
    ) -> Page:
        """``PUT /tasks/by_task``: tasks of one function, pending first, then by eta descending."""
        body = self._query_body(task=task, namespace=namespace, skip=skip, limit=limit)
        response = self.request("PUT", "/tasks/by_task", idempotent=True, json=body)
        return _page(response)

    def dump(self, *, skip: int | None = None, limit: int | None = None) -> Page:
        """``PUT /tasks/dump``: all tasks of every namespace, sorted by uid."""
        body = self._query_body(skip=skip, limit=limit)
        response = self.request("PUT", "/tasks/dump", idempotent=True, json=body)
        return _page(response)

    def count(
        self,
        *,
        status: TaskStatus | str | None = None,
        namespace: str | None = None,
        filter: Mapping[str, Any] | None = None,
    ) -> int:
        """How many tasks match, from ``max_results`` of a one-item page."""
        return self.by_status(status=status, namespace=namespace, filter=filter, limit=1).max_results

    def iter_tasks(
        self,
        *,
        status: TaskStatus | str | None = None,
        namespace: str | None = None,
        filter: Mapping[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Task]:
        """Every task matching the query, in uid order, by keyset paging.

        Each page asks for ``_id > last uid`` sorted by ``_id``, so memory stays at one page
        and the server does O(n) work in total (``skip`` paging would be O(n²)).
        """
        base = dict(filter or {})
        last: str | None = None
        while True:
            page = self.by_status(
                status=status, namespace=namespace, filter=_after(base, last), sort="_id", limit=page_size
            )
            tasks = page.tasks
            yield from tasks
            if len(tasks) < page_size:
                return
            last = tasks[-1].uid

    def iter_documents(
        self,
        *,
        namespace: str | None = None,
        filter: Mapping[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Like :meth:`iter_tasks`, as plain JSON documents: no model validation, for bulk
        operations that only need a few fields of many tasks."""
        base = dict(filter or {})
        last: str | None = None
        while True:
            body = self._query_body(
                namespace=namespace, filter=_after(base, last), sort="_id", limit=page_size
            )
            response = self.request("PUT", "/tasks/by_status", idempotent=True, json=body)
            page = expect(response, dict, "a page of tasks")
            ids, data = page.get("ids"), page.get("data")
            if not isinstance(ids, list) or not isinstance(data, dict):
                raise invalid(response, "a page needs ids (a list) and data (an object)")
            docs = [data[uid] for uid in ids if isinstance(uid, str) and isinstance(data.get(uid), dict)]
            yield from docs
            if len(docs) < page_size:
                return
            last = docs[-1]["uid"]

    # -- events -----------------------------------------------------------------------------

    def post_event(self, event: Event) -> list[Task]:
        """``POST /event``: the tasks the server's triggers created for it."""
        response = self.request("POST", "/event", idempotent=False, json=event.model_dump(mode="json"))
        from pydantic import TypeAdapter, ValidationError

        from eventix_cli.models import Task

        body = expect(response, list, "a list of tasks")
        try:
            return TypeAdapter(list[Task]).validate_python(body)
        except ValidationError as exc:
            raise invalid(response, str(exc.errors()[0].get("msg"))) from None


def _proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) sets for ``url``."""
    import urllib.request

    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host):
        return None
    return proxy


def _default_transport(url: httpx.URL, verify: bool | str, max_connections: int) -> httpx.BaseTransport:
    """urllib3's pools, through the proxy the environment names for ``url`` if any."""
    from eventix_cli.transport import Urllib3Transport

    proxy = _proxy_for(url)
    if proxy and not proxy.lower().startswith(("http://", "https://")):
        raise UsageError(
            f"unsupported proxy {proxy!r} for {url.scheme} URLs: only http:// and https:// proxies work",
            hint="set HTTP_PROXY / HTTPS_PROXY to an HTTP proxy, or NO_PROXY to bypass it",
        )
    context = None
    if url.scheme == "https" or (proxy or "").lower().startswith("https://"):
        from eventix_cli.tls import ssl_context

        context = ssl_context(verify)
    return Urllib3Transport(ssl_context=context, proxy=proxy, max_connections=max_connections)


def _after(base: dict[str, Any], last: str | None) -> dict[str, Any] | None:
    """The keyset condition ``_id > last`` added to a filter (kept apart when it has ``_id``)."""
    if last is None:
        return base or None
    after = {"_id": {"$gt": last}}
    return {"$and": [base, after]} if "_id" in base else base | after


# Models are imported on first use, not with the client: pydantic costs ~45 ms of start-up
# that commands such as `ping` never need.
def _task(response: httpx.Response) -> Task:
    from eventix_cli.models import Task

    return decode_model(response, Task)


def _page(response: httpx.Response) -> Page:
    from eventix_cli.models import Page

    return decode_model(response, Page)
