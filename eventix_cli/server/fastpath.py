"""A lean path for the two requests workers send for every task: claim and write-back.

``GET /tasks/next_scheduled`` and ``PUT /task/{uid}`` are answered here, in plain ASGI,
right behind the door and before FastAPI (whose middleware stack, routing and dependency
machinery cost more than the database work of a claim). Same contract as the FastAPI routes,
from the same parsing and validation (:mod:`eventix_cli.server.validation`): same paths,
status codes and bodies, an unexpected error included (500 with the error's detail, logged,
the connection kept). Only the common case is answered here (a JSON task document that
validates); anything else, a refusal included, passes to the routes, which answer it
themselves.
"""

from __future__ import annotations

import json
import logging

from pydantic import ValidationError

from eventix_cli.server.errors import DomainError, error_detail
from eventix_cli.server.offloop import write
from eventix_cli.server.store import TaskStore
from eventix_cli.server.validation import (
    PARSED_BODY,
    ASGIApp,
    Receive,
    Scope,
    Send,
    TaskBody,
    json_content,
    missing_query,
    query_params,
    respond,
    send_error,
    task_uid,
    validation_body,
)

log = logging.getLogger(__name__)


class FastPath:
    def __init__(self, app: ASGIApp, store: TaskStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "GET" and path == "/tasks/next_scheduled":
                await self._claim(scope, send)
                return
            if (
                method == "PUT"
                and isinstance(scope.get(PARSED_BODY), dict)
                and json_content(scope)
                and (uid := task_uid(path)) is not None
            ):
                await self._put(uid, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _claim(self, scope: Scope, send: Send) -> None:
        query = query_params(scope)
        missing = [name for name in ("worker_id", "namespace") if name not in query]
        if missing:
            await respond(send, 422, validation_body([missing_query(n) for n in missing]))
            return
        try:
            doc = await write(self.store.claim, query["worker_id"], query["namespace"])
        except DomainError as exc:
            await send_error(send, exc)
            return
        except Exception as exc:  # noqa: BLE001 - answered as the routes answer it: 500, logged
            await _unexpected(send, exc)
            return
        if doc is None:
            await respond(send, 204, b"")
        else:
            await respond(send, 200, doc.text.encode())

    async def _put(self, uid: str, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = TaskBody.model_validate(scope[PARSED_BODY], from_attributes=True)  # as FastAPI does
        except ValidationError:
            # refused: the route itself answers (its body is still there to read), so the
            # error is the route's to the letter
            await self.app(scope, receive, send)
            return
        try:
            stored = await write(self.store.put, uid, body.to_wire())
        except DomainError as exc:
            await send_error(send, exc)
            return
        except Exception as exc:  # noqa: BLE001 - answered as the routes answer it: 500, logged
            await _unexpected(send, exc)
            return
        await respond(send, 200, stored.text.encode())


async def _unexpected(send: Send, exc: Exception) -> None:
    log.error("unhandled error: %s", exc, exc_info=exc)
    body = json.dumps(error_detail(exc), separators=(",", ":"), ensure_ascii=False).encode()
    await respond(send, 500, body)
