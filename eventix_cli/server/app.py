"""The embedded dev server: the Eventix REST API as a FastAPI app over :class:`TaskStore`.

Paths, status codes, page shape and error bodies are those of the upstream server, so a
script written against one runs unchanged on the other. Handlers are ``async`` and call
SQLite directly for single tasks and claims (short, and with ``BEGIN IMMEDIATE``
transactions atomic; a write that would wait for a lock waits in a thread, and a request
with a large body runs off the loop: :mod:`eventix_cli.server.offloop`); listings, which
can be long, run in a thread on a reader connection of their own, so the event loop keeps
answering. Every request passes the door first
(:mod:`eventix_cli.server.guard`), and the routes and the fast path parse and validate with
the same layer (:mod:`eventix_cli.server.validation`). Stored documents are returned as
stored, without re-serialising them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Body, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from eventix_cli import __version__
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import FAILED_TRIGGERS_HEADER
from eventix_cli.server.backup import BackupSchedule
from eventix_cli.server.errors import DomainError, InvalidQuery, error_detail
from eventix_cli.server.events import answer_event_bounded
from eventix_cli.server.fastpath import FastPath
from eventix_cli.server.guard import GuardMiddleware
from eventix_cli.server.offloop import OffLoop, write
from eventix_cli.server.store import PENDING, TaskStore
from eventix_cli.server.upkeep import Cleanup, Retention
from eventix_cli.server.validation import (
    ASGIApp,
    ByTaskBody,
    EventBody,
    QueryBody,
    Receive,
    Scope,
    Send,
    TaskBody,
    respond,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_CLEANUP_INTERVAL = 10.0
_STATUSES = {s.value for s in TaskStatus}


def _json(body: bytes | str, status_code: int = 200) -> Response:
    return Response(content=body, status_code=status_code, media_type="application/json")


def _dump(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


async def _page(store: TaskStore, query: QueryBody, filter: dict[str, Any] | None, **kwargs: Any) -> Response:
    sort = kwargs.pop("sort_echo", query.sort)
    # a listing can be long (a scan, a regex on every row): in a thread, on a connection of
    # its own, so the event loop keeps answering other requests meanwhile
    rows, total = await run_in_threadpool(
        store.query, filter, sort=query.sort, skip=query.skip, limit=query.limit, **kwargs
    )
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
    page = os.sysconf("SC_PAGE_SIZE")
    return {"rss": resident * page, "vms": size * page, "data": data * page}


async def cleanup_loop(
    cleanup: Cleanup, interval: float, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
) -> None:
    """Run ``cleanup`` every ``interval`` seconds, forever, in a thread: it deletes and vacuums
    in many short transactions, which the event loop must not wait for."""
    while True:
        await sleep(interval)
        try:
            await run_in_threadpool(cleanup.run)
        except Exception:
            log.exception("cleanup failed; retrying in %.0fs", interval)


class _App(FastAPI):
    """FastAPI behind the door and the fast path.

    Every HTTP request passes the door first (:class:`GuardMiddleware`); claims and
    write-backs are then answered by :class:`FastPath` without entering FastAPI at all (its
    per-request middleware stack costs more than the claim itself); the rest goes on to the
    routes. ``door`` is set by :func:`create_app`.

    Around the routes: the connection stays usable after an unexpected error. Starlette
    answers 500 and then re-raises, on which uvicorn drops the kept-alive connection without
    saying so (the client's next request on it is reset). Here the error ends with the answer.
    """

    door: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.door(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def via_routes(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await super().__call__(scope, receive, tracking_send)
        except Exception as exc:
            if not started:  # not answered yet (an error outside the routes): answer, then close
                log.error("unhandled error: %s", exc, exc_info=exc)
                body = _dump(error_detail(exc)).encode()
                await respond(send, 500, body, [(b"connection", b"close")])


def create_app(
    store: TaskStore,
    *,
    token: str | None = None,
    cleanup_interval: float | None = DEFAULT_CLEANUP_INTERVAL,
    max_body: int = DEFAULT_MAX_BODY,
    triggers: Any = None,
    trigger_time_limit: float = 30.0,
    fast_path: bool = True,
    retention: Retention | None = None,
    backups: BackupSchedule | None = None,
) -> FastAPI:
    """The API over ``store``; ``cleanup_interval=None`` disables the periodic cleanup, which
    also deletes the finished tasks past their ``retention``; ``triggers`` (an
    :class:`eventix_cli.triggers.TriggerSet`) turns posted events into tasks, each event's
    waited for at most ``trigger_time_limit`` seconds; ``fast_path=False`` leaves claims and
    write-backs to the FastAPI routes too (the reference the fast path is tested against);
    ``backups``, scheduled elsewhere, are reported in ``/metrics``."""
    cleanup = Cleanup(store, retention)
    app = _App(
        title="eventix-cli embedded server",
        version=__version__,
        lifespan=_lifespan(cleanup, cleanup_interval),
    )
    app.state.store = store
    app.state.cleanup = cleanup
    # large bodies off the loop, the door first, then the fast path for claims and
    # write-backs, then the routes
    inner: ASGIApp = FastPath(app.via_routes, store) if fast_path else app.via_routes
    app.door = OffLoop(GuardMiddleware(inner, token=token, max_body=max_body))
    _add_error_handlers(app)
    _add_server_routes(app, store, cleanup, backups)
    _add_task_routes(app, store)
    _add_worker_routes(app, store)
    _add_listing_routes(app, store)
    _add_event_routes(app, store, triggers, trigger_time_limit)
    return app


def _lifespan(
    cleanup: Cleanup, cleanup_interval: float | None
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The periodic cleanup runs while the app does."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(cleanup_loop(cleanup, cleanup_interval)) if cleanup_interval else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _server_error(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", exc, exc_info=exc)
        return JSONResponse(error_detail(exc), status_code=500)


def _server_figures(store: TaskStore, cleanup: Cleanup, backups: BackupSchedule | None) -> dict[str, Any]:
    """The server's own health: its database's space, its cleanups, its scheduled backups."""
    return {
        "database": store.space(),
        "durability": store.durability,
        "cleanup": cleanup.figures.as_json(),
        "backup": None if backups is None else backups.figures.as_json(),
    }


def _add_server_routes(
    app: FastAPI, store: TaskStore, cleanup: Cleanup, backups: BackupSchedule | None
) -> None:
    """Health, version, namespaces, metrics."""

    @app.get("/healthz")
    async def healthz() -> Response:
        # healthy means writable: a real write, off the event loop (it may wait for a lock)
        reason = await run_in_threadpool(store.health)
        if reason is not None:
            return JSONResponse({"status": "unhealthy", "reason": reason}, status_code=503)
        return JSONResponse({"status": "healthy"})

    @app.get("/version")
    async def version() -> dict[str, str]:
        return {"version": __version__, "server": "eventix-cli"}

    @app.get("/namespaces")
    async def namespaces() -> dict[str, list[str]]:
        return {"namespaces": store.namespaces()}

    @app.get("/metrics")
    async def metrics() -> dict[str, Any]:
        server = await run_in_threadpool(_server_figures, store, cleanup, backups)  # stat() calls
        return {
            "memory": _memory(),
            "worker": {"number_of_worker": 0},
            "tasks": store.status_counts(),
            "server": server,
        }


def _add_task_routes(app: FastAPI, store: TaskStore) -> None:
    """Single tasks: by uid and by unique key (the unique-key paths first: they are longer)."""

    @app.post("/task")
    async def post_task(body: TaskBody) -> Response:
        return _json((await write(store.post, body.to_wire())).text)

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
        await write(store.delete_by_unique_key, unique_key)

    @app.get("/task/{uid}")
    async def get_task(uid: str) -> Response:
        return _json(store.get(uid))

    # Served by FastPath (plain ASGI) in front of the router; the route stays for the OpenAPI
    # document and as the reference of the contract.
    @app.put("/task/{uid}")
    async def put_task(uid: str, body: TaskBody) -> Response:
        return _json((await write(store.put, uid, body.to_wire())).text)

    @app.delete("/task/{uid}")
    async def delete_task(uid: str) -> None:
        await write(store.delete, uid)

    @app.get("/task/{uid}/reschedule")
    async def reschedule(uid: str, eta: dt.datetime | None = None) -> Response:
        return _json((await write(store.reschedule, uid, eta)).text)


def _add_worker_routes(app: FastAPI, store: TaskStore) -> None:
    # Served by FastPath too; see the note on PUT /task/{uid}.
    @app.get("/tasks/next_scheduled")
    async def next_scheduled(worker_id: str, namespace: str) -> Response:
        doc = await write(store.claim, worker_id, namespace)
        if doc is None:
            return Response(status_code=204)
        return _json(doc.text)


def _add_listing_routes(app: FastAPI, store: TaskStore) -> None:
    """Pages of tasks: by status, by task name, everything (dump)."""

    @app.put("/tasks/by_status")
    async def by_status(query: Annotated[QueryBody | None, Body()] = None) -> Response:
        query = query or QueryBody()
        if query.status is not None and query.status not in _STATUSES:
            raise InvalidQuery(f"unknown status {query.status!r}: use one of {', '.join(sorted(_STATUSES))}")
        return await _page(store, query, _merge(query.filter, status=query.status, namespace=query.namespace))

    @app.put("/tasks/by_task")
    async def by_task(query: ByTaskBody) -> Response:
        return await _page(
            store,
            query,
            _merge(query.filter, task=query.task, namespace=query.namespace),
            by_task_order=True,
            sort_echo="status_id,-eta",
        )

    @app.put("/tasks/dump")
    async def dump(query: Annotated[QueryBody | None, Body()] = None) -> Response:
        query = (query or QueryBody()).model_copy(update={"sort": "_id"})
        return await _page(store, query, query.filter)


def _add_event_routes(app: FastAPI, store: TaskStore, triggers: Any, time_limit: float) -> None:
    @app.post("/event")
    async def post_event(event: EventBody) -> Response:
        doc = event.model_dump(mode="json")
        answer = await answer_event_bounded(triggers, store, doc, time_limit)
        response = _json(answer.body)
        response.headers[FAILED_TRIGGERS_HEADER] = answer.failed_triggers
        return response
