"""A lean path for the two requests workers send for every task: claim and write-back.

``GET /tasks/next_scheduled`` and ``PUT /task/{uid}`` are answered here, in plain ASGI,
without FastAPI's routing and dependency machinery (which costs more than the database work
of a claim). Same contract as the FastAPI routes: same status codes and bodies, 422 in
FastAPI's validation format; every other request passes through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, unquote

from pydantic import ValidationError

from eventix_cli.server.errors import DomainError
from eventix_cli.server.store import TaskStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), *_JSON] if body else [(b"content-length", b"0")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _validation_body(errors: list[dict[str, Any]]) -> bytes:
    return json.dumps({"detail": errors}, default=str).encode()


def _missing_query(name: str) -> dict[str, Any]:
    return {"type": "missing", "loc": ["query", name], "msg": "Field required", "input": None}


class FastPath:
    def __init__(self, app: ASGIApp, store: TaskStore) -> None:
        self.app = app
        self.store = store
        from eventix_cli.server.app import TaskBody

        self.task_body = TaskBody

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "GET" and path == "/tasks/next_scheduled":
                await self._claim(scope, send)
                return
            if method == "PUT" and path.startswith("/task/") and path.count("/") == 2 and len(path) > 6:
                await self._put(unquote(path[6:]), receive, send)
                return
        await self.app(scope, receive, send)

    async def _claim(self, scope: Scope, send: Send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        missing = [name for name in ("worker_id", "namespace") if not query.get(name)]
        if missing:
            await _respond(send, 422, _validation_body([_missing_query(n) for n in missing]))
            return
        doc = self.store.claim(query["worker_id"][-1], query["namespace"][-1])
        if doc is None:
            await _respond(send, 204, b"")
        else:
            await _respond(send, 200, doc.text.encode())

    async def _put(self, uid: str, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
        except DomainError as exc:  # e.g. the size guard: a chunked body grew too large
            await _respond(send, exc.status_code, json.dumps(exc.body()).encode())
            return
        raw = b"".join(chunks)
        try:
            body = self.task_body.model_validate_json(raw)
        except ValidationError as exc:
            errors = []
            for error in exc.errors(include_url=False):
                error = dict(error)
                if error.get("type") != "json_invalid":
                    error["loc"] = ["body", *error["loc"]]
                else:
                    error["loc"] = ["body", 0]
                errors.append(error)
            await _respond(send, 422, _validation_body(errors))
            return
        try:
            stored = self.store.put(uid, body.to_wire())
        except DomainError as exc:
            await _respond(send, exc.status_code, json.dumps(exc.body()).encode())
            return
        await _respond(send, 200, stored.text.encode())
