"""The embedded dev server: the Eventix REST API as a FastAPI app over :class:`TaskStore`.

Paths, status codes, page shape and error bodies are those of the upstream server, so a
script written against one runs unchanged on the other. Handlers are ``async`` and call
SQLite directly: each request's database work runs to completion on the event loop, which
with ``BEGIN IMMEDIATE`` transactions makes claims atomic. Stored documents are returned
as stored, without re-serialising them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from eventix_cli import __version__
from eventix_cli.models import Event, Task, TaskStatus
from eventix_cli.server.errors import DomainError, InvalidQuery, RequestTooLarge, Unauthorized
from eventix_cli.server.store import PENDING, TaskStore

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_CLEANUP_INTERVAL = 10.0
_STATUSES = {s.value for s in TaskStatus}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TaskBody(Task):
    """The task model, built eagerly: FastAPI cannot use a deferred-build model as a body."""

    model_config = ConfigDict(defer_build=False)


class EventBody(Event):
    model_config = ConfigDict(defer_build=False)


def _json(body: bytes | str, status_code: int = 200) -> Response:
    return Response(content=body, status_code=status_code, media_type="application/json")


def _dump(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


async def _send_error(
    send: Send, error: DomainError, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = _dump(error.body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Bearer-token check and request-size limit, before any routing or body parsing."""

    def __init__(self, app: ASGIApp, token: str | None, max_body: int) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.expected is not None:
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                error = Unauthorized(
                    "missing or wrong bearer token"
                    if given
                    else "this server needs Authorization: Bearer <token>"
                )
                await _send_error(send, error, [(b"www-authenticate", b"Bearer")])
                return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _send_error(
                send, RequestTooLarge(f"request body of {int(length)} bytes exceeds {self.max_body}")
            )
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise RequestTooLarge(f"request body exceeds {self.max_body} bytes")
            return message

        await self.app(scope, limited_receive, send)


class QueryBody(BaseModel):
    """The body of ``PUT /tasks/by_status`` and ``/tasks/dump`` (and of by_task, less ``task``)."""

    model_config = ConfigDict(extra="ignore")

    status: str | None = None
    namespace: str | None = None
    skip: int | None = Field(default=None, ge=0)
    limit: int | None = Field(default=None, ge=0)
    sort: str | None = None
    view: str | None = None
    filter: dict[str, Any] | None = None


class ByTaskBody(QueryBody):
    task: str


def _page(store: TaskStore, query: QueryBody, filter: dict[str, Any] | None, **kwargs: Any) -> Response:
    sort = kwargs.pop("sort_echo", query.sort)
    rows, total = store.query(filter, sort=query.sort, skip=query.skip, limit=query.limit, **kwargs)
    # the page echoes the paging parameters that were given, as upstream does
    data = ",".join(f"{_dump(uid)}:{doc}" for uid, doc in rows)
    ids = _dump([uid for uid, _ in rows])
    body = (
        f'{{"data":{{{data}}},"skip":{_dump(query.skip)},"limit":{_dump(query.limit)},'
        f'"max_results":{total},"sort":{_dump(sort)},"view":{_dump(query.view)},"ids":{ids}}}'
    )
    return _json(body)


def _merge(filter: dict[str, Any] | None, **fields: Any) -> dict[str, Any] | None:
    given = {k: v for k, v in fields.items() if v is not None}
    if not given:
        return filter
    return (filter or {}) | given


def _memory() -> dict[str, int]:
    try:
        with open("/proc/self/statm") as handle:
            size, resident, _shared, _text, _lib, data, _dirty = (int(x) for x in handle.read().split())
    except (OSError, ValueError):
        return {}
    import os

    page = os.sysconf("SC_PAGE_SIZE")
    return {"rss": resident * page, "vms": size * page, "data": data * page}


async def cleanup_loop(
    store: TaskStore, interval: float, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
) -> None:
    """Release expired claims and delete expired tasks every ``interval`` seconds, forever."""
    while True:
        await sleep(interval)
        try:
            store.cleanup()
        except Exception:
            log.exception("cleanup failed; retrying in %.0fs", interval)


def create_app(
    store: TaskStore,
    *,
    token: str | None = None,
    cleanup_interval: float | None = DEFAULT_CLEANUP_INTERVAL,
    max_body: int = DEFAULT_MAX_BODY,
    triggers: Any = None,
) -> FastAPI:
    """The API over ``store``; ``cleanup_interval=None`` disables the periodic cleanup;
    ``triggers`` (an :class:`eventix_cli.triggers.TriggerSet`) turns posted events into tasks."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(cleanup_loop(store, cleanup_interval)) if cleanup_interval else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(title="eventix-cli embedded server", version=__version__, lifespan=lifespan)
    app.state.store = store
    # innermost first: the fast path for claims and write-backs sits behind the guard
    from eventix_cli.server.fastpath import FastPath

    app.add_middleware(FastPath, store=store)
    app.add_middleware(GuardMiddleware, token=token, max_body=max_body)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _server_error(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", exc, exc_info=exc)
        detail = {
            "error_class": type(exc).__name__,
            "error_message": str(exc),
            "error_traceback": "".join(traceback.format_exception(exc)),
        }
        return JSONResponse({"detail": detail}, status_code=500)

    # -- server -----------------------------------------------------------------------------

    @app.get("/healthz")
    async def healthz() -> Response:
        try:
            store.db.execute("SELECT 1").fetchone()
        except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
            return JSONResponse({"status": "unhealthy", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "healthy"})

    @app.get("/version")
    async def version() -> dict[str, str]:
        return {"version": __version__, "server": "eventix-cli"}

    @app.get("/namespaces")
    async def namespaces() -> dict[str, list[str]]:
        return {"namespaces": store.namespaces()}

    @app.get("/metrics")
    async def metrics() -> dict[str, Any]:
        return {"memory": _memory(), "worker": {"number_of_worker": 0}, "tasks": store.status_counts()}

    # -- single tasks -----------------------------------------------------------------------

    @app.post("/task")
    async def post_task(body: TaskBody) -> Response:
        return _json(store.post(body.to_wire()).text)

    @app.get("/task/by_unique_key/{unique_key}")
    async def get_by_unique_key_any_namespace(unique_key: str) -> Response:
        """Deprecated upstream; kept for old clients."""
        return _json(store.by_unique_key(unique_key, None, PENDING))

    @app.get("/task/by_unique_key/{namespace}/{unique_key}")
    async def get_by_unique_key(
        namespace: str, unique_key: str, stati: Annotated[list[TaskStatus] | None, Query()] = None
    ) -> Response:
        chosen = [s.value for s in stati] if stati else list(PENDING)
        return _json(store.by_unique_key(unique_key, namespace, chosen))

    @app.delete("/task/by_unique_key/{unique_key}")
    async def delete_by_unique_key(unique_key: str) -> None:
        store.delete_by_unique_key(unique_key)

    @app.get("/task/{uid}")
    async def get_task(uid: str) -> Response:
        return _json(store.get(uid))

    # Served by FastPath (plain ASGI) in front of the router; the route stays for the OpenAPI
    # document and as the reference of the contract.
    @app.put("/task/{uid}")
    async def put_task(uid: str, body: TaskBody) -> Response:
        return _json(store.put(uid, body.to_wire()).text)

    @app.delete("/task/{uid}")
    async def delete_task(uid: str) -> None:
        store.delete(uid)

    @app.get("/task/{uid}/reschedule")
    async def reschedule(uid: str, eta: dt.datetime | None = None) -> Response:
        return _json(store.reschedule(uid, eta).text)

    # -- workers ----------------------------------------------------------------------------

    # Served by FastPath too; see the note on PUT /task/{uid}.
    @app.get("/tasks/next_scheduled")
    async def next_scheduled(worker_id: str, namespace: str) -> Response:
        doc = store.claim(worker_id, namespace)
        if doc is None:
            return Response(status_code=204)
        return _json(doc.text)

    # -- listings ---------------------------------------------------------------------------

    @app.put("/tasks/by_status")
    async def by_status(query: Annotated[QueryBody | None, Body()] = None) -> Response:
        query = query or QueryBody()
        if query.status is not None and query.status not in _STATUSES:
            raise InvalidQuery(f"unknown status {query.status!r}: use one of {', '.join(sorted(_STATUSES))}")
        return _page(store, query, _merge(query.filter, status=query.status, namespace=query.namespace))

    @app.put("/tasks/by_task")
    async def by_task(query: ByTaskBody) -> Response:
        return _page(
            store,
            query,
            _merge(query.filter, task=query.task, namespace=query.namespace),
            by_task_order=True,
            sort_echo="status_id,-eta",
        )

    @app.put("/tasks/dump")
    async def dump(query: Annotated[QueryBody | None, Body()] = None) -> Response:
        query = (query or QueryBody()).model_copy(update={"sort": "_id"})
        return _page(store, query, query.filter)

    # -- events -----------------------------------------------------------------------------

    @app.post("/event")
    async def post_event(event: EventBody) -> Response:
        from eventix_cli.triggers.server import answer_event

        return _json(answer_event(triggers, store, event.model_dump(mode="json")))

    return app
