"""The door of the embedded server: bearer token, body size and body shape, before routing.

Every request passes here first. A request with a body is read whole (up to the size
limit), its JSON checked once (:func:`~eventix_cli.server.validation.check_body`: nesting
depth, 64-bit integers, valid Unicode) and then handed on, so each write route, the fast path included,
gets the same refusals.
"""

from __future__ import annotations

import asyncio
import hmac

from eventix_cli.server.errors import RequestTooLarge, Unauthorized
from eventix_cli.server.validation import (
    PARSED_BODY,
    ASGIApp,
    BodyRefused,
    Message,
    Receive,
    Scope,
    Send,
    check_body,
    respond,
    send_error,
    validation_body,
)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_CLOSE = [(b"connection", b"close")]
#: an oversized body is read and dropped up to this many times the limit before the 413 is
#: sent: a server that closes on unread data resets the connection, and the client then sees
#: "connection reset" instead of the 413 (a worker would take that for an outage)
DRAIN_FACTOR = 4
#: ... and only while the client keeps sending: a pause this long ends the wait
DRAIN_IDLE_SECONDS = 1.0


class GuardMiddleware:
    def __init__(self, app: ASGIApp, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.token is not None:
            refusal = self._refusal([value for name, value in scope["headers"] if name == b"authorization"])
            if refusal is not None:
                await send_error(send, Unauthorized(refusal), [(b"www-authenticate", b"Bearer")])
                return
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            drained = int(length) <= DRAIN_FACTOR * self.max_body and await self._drain(receive, 0)
            await send_error(
                send,
                RequestTooLarge(f"request body of {int(length)} bytes exceeds {self.max_body}"),
                None if drained else _CLOSE,
            )
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body:
                drained = not message.get("more_body") or await self._drain(receive, received)
                await send_error(
                    send,
                    RequestTooLarge(f"request body exceeds {self.max_body} bytes"),
                    None if drained else _CLOSE,
                )
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            scope[PARSED_BODY] = check_body(raw)
        except BodyRefused as exc:
            await respond(send, 422, validation_body(exc.errors))
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _refusal(self, given: list[bytes]) -> str | None:
        """Why the ``Authorization`` headers ``given`` do not let a request in, or ``None``:
        exactly one, scheme ``Bearer`` in any case (RFC 7235), then the token, compared in
        constant time."""
        if not given:
            return "this server needs Authorization: Bearer <token>"
        if len(given) > 1:
            return "more than one Authorization header"
        scheme, _, token = given[0].partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(token.lstrip(b" "), self.token or b""):
            return "missing or wrong bearer token"
        return None

    async def _drain(self, receive: Receive, received: int) -> bool:
        """Read and drop the rest of a refused body, up to DRAIN_FACTOR times the limit: True when
        it ended (the connection can carry the answer and the next request), False when the
        client is still sending (the answer then closes the connection)."""
        while received <= DRAIN_FACTOR * self.max_body:
            try:
                message = await asyncio.wait_for(receive(), DRAIN_IDLE_SECONDS)
            except TimeoutError:
                return False
            if message["type"] == "http.disconnect":
                return False
            received += len(message.get("body", b""))
            if not message.get("more_body"):
                return True
        return False
