"""``POST /event``: the embedded server answers events from a :class:`TriggerSet`.

The server adapts triggers to HTTP; triggers know nothing of the server.

Trigger code is the operator's own Python and may take any time, or never end. It therefore
never runs on the server's event loop: events' triggers run in a pool of at most
:data:`TRIGGER_THREADS` threads (one thread each would let a burst of events start thousands),
and the request waits for them at most ``time_limit`` seconds, its wait for a free thread
included. A trigger still running then is answered with ``TriggersTooSlow`` (its name in the
payload) while every other request goes on being served; the thread cannot be stopped from
outside and finishes in its own time (a task it returns then is still stored). An event
still waiting for a thread then is dropped: its triggers never run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventix_cli.server.errors import TriggersTooSlow
from eventix_cli.server.validation import storable
from eventix_cli.triggers.loader import Trigger, TriggerSet
from eventix_cli.triggers.runner import Outcome, make_event, run_event

log = logging.getLogger(__name__)

#: seconds ``POST /event`` waits for the triggers of one event
TRIGGER_TIME_LIMIT = 30.0
#: events whose triggers run at once
TRIGGER_THREADS = 8


class _TriggerThreads:
    """A pool of at most ``size`` daemon threads, started as needed. Daemon, unlike
    ``concurrent.futures.ThreadPoolExecutor``'s: a trigger that never ends must not keep the
    server from exiting."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._started = 0
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]]] = (
            queue.SimpleQueue()
        )

    def submit(self, work: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((done, work))
        with self._lock:
            if self._started < self._size:
                self._started += 1
                threading.Thread(target=self._serve, name=f"triggers-{self._started}", daemon=True).start()
        return done

    def _serve(self) -> None:
        while True:
            done, work = self._jobs.get()
            if not done.set_running_or_notify_cancel():
                continue  # given up while waiting for a thread
            try:
                done.set_result(work())
            except BaseException as exc:  # noqa: BLE001 - handed to the request that waits
                done.set_exception(exc)


_THREADS = _TriggerThreads(TRIGGER_THREADS)


#: failed triggers named in the header, and the longest reason given for one
FAILED_TRIGGERS_SHOWN = 20
REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class EventAnswer:
    """``POST /event``'s answer: its JSON body (the tasks the triggers created, as stored) and
    the value of :data:`~eventix_cli.core.task.FAILED_TRIGGERS_HEADER`: a JSON list (ASCII, one line) of
    ``{"trigger", "reason"}`` for each trigger that failed, empty when none did."""

    body: str
    failed_triggers: str = "[]"


def _failures_header(outcomes: list[Outcome]) -> str:
    failed = [
        {"trigger": o.trigger, "reason": (o.reason or "")[:REASON_CHARS]}
        for o in outcomes
        if o.result == "failed"
    ]
    return json.dumps(failed[:FAILED_TRIGGERS_SHOWN])  # ensure_ascii: a header takes no other text


def answer_event(
    triggers: TriggerSet | None,
    store: Any,
    event: dict[str, Any],
    *,
    running: list[str] | None = None,
) -> EventAnswer:
    """``POST /event``'s answer: the tasks the triggers created, as stored, and the triggers
    that failed. ``running`` (when given) holds the name of the trigger running now."""
    if triggers is None:
        log.info(
            "event %s posted to namespace %s (no triggers on this server)",
            event.get("name"),
            event.get("namespace"),
        )
        return EventAnswer("[]")

    def started(trigger: Trigger) -> None:
        if running is not None:
            running[:] = [trigger.name]

    def post(doc: dict[str, Any]) -> Any:  # held to the rules of every way in
        return store.post(storable(doc))

    outcomes = run_event(triggers, make_event(event), post, interrupts=(), started=started)
    texts = [
        o.task.text if hasattr(o.task, "text") else json.dumps(o.task)
        for o in outcomes
        if o.result == "created"
    ]
    return EventAnswer("[" + ",".join(texts) + "]", _failures_header(outcomes))


async def answer_event_bounded(
    triggers: TriggerSet | None,
    store: Any,
    event: dict[str, Any],
    time_limit: float = TRIGGER_TIME_LIMIT,
) -> EventAnswer:
    """:func:`answer_event` off the event loop, waited for at most ``time_limit`` seconds."""
    if triggers is None:
        return answer_event(None, store, event)
    running: list[str] = []
    done = _THREADS.submit(lambda: answer_event(triggers, store, event, running=running))
    name = str(event.get("name"))
    try:
        # shielded: the request giving up (time limit, client gone) does not cancel the
        # triggers once they run; the thread goes on and its tasks are stored
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(done)), time_limit)
    except TimeoutError:
        done.cancel()  # still waiting for a thread: never run
        trigger = running[0] if running else None
        log.error(
            "[%s][%s] triggers still running after %g s: answered TriggersTooSlow; "
            "the trigger goes on in the background",
            name,
            trigger,
            time_limit,
        )
        raise TriggersTooSlow(name, trigger, time_limit) from None
