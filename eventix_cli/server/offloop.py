"""What would hold the event loop runs beside it.

One event loop serves every connection, so anything that holds it stalls every client:
``/healthz`` included. Two things can take long, and both run in threads here:

- A request with a large body (over :data:`LARGE_BODY` bytes, or of unknown size): parsing,
  validating, storing and encoding a 16 MB document takes seconds. Such a request runs whole
  (the door, the fast path or the routes) on an event loop of its own in one of a few threads
  (:class:`OffLoop`); what it receives and sends still goes through the server's loop. Small
  requests (every claim and write-back of a worker) stay on the server's loop, where they cost
  least.
- A write that would wait for a lock (another process's ``BEGIN IMMEDIATE``, or another
  thread's long write): the store never waits on an event loop (it raises
  :class:`~eventix_cli.server.store.StoreBusy`), and :func:`write` then does the write in a
  thread, which waits there.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from eventix_cli.server.store import StoreBusy
from eventix_cli.server.validation import ASGIApp, Receive, Scope, Send

#: bodies larger than this (bytes) are handled off the server's event loop: about 10 ms of
#: parsing, validating and encoding on the loop at most
LARGE_BODY = 64 * 1024
#: requests with a large body handled at once; more wait their turn (each holds its document,
#: parsed, in memory: ten times its size and more)
MAX_LARGE_REQUESTS = 2


async def write[T](call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, a store write: at once on the loop, or in a thread when the store is busy."""
    try:
        return call(*args)
    except StoreBusy:
        return await run_in_threadpool(call, *args)


class OffLoop:
    """Requests with a large body run on an event loop of their own, in a bounded pool of
    threads; the rest go straight on to ``app``."""

    def __init__(self, app: ASGIApp, large_body: int = LARGE_BODY, at_once: int = MAX_LARGE_REQUESTS) -> None:
        self.app = app
        self.large_body = large_body
        self._threads = concurrent.futures.ThreadPoolExecutor(at_once, thread_name_prefix="large-request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._large(scope):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()

        def handle() -> None:
            asyncio.run(self.app(scope, _from_elsewhere(receive, loop), _from_elsewhere(send, loop)))

        await loop.run_in_executor(self._threads, handle)

    def _large(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return not value.isdigit() or int(value) > self.large_body
            if name == b"transfer-encoding":  # chunked: the size is known only at the end
                return True
        return False


def _from_elsewhere[T](
    call: Callable[..., Awaitable[T]], loop: asyncio.AbstractEventLoop
) -> Callable[..., Awaitable[T]]:
    """``call``, a coroutine function of ``loop``, made awaitable from another event loop."""

    async def called(*args: Any) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(*args), loop))

    return called
