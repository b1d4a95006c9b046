"""``POST /event``: the embedded server answers events from a :class:`TriggerSet`.

The server adapts triggers to HTTP; triggers know nothing of the server.

Trigger code is the operator's own Python and may take any time, or never end. It therefore
never runs on the server's event loop: each event's triggers run in a thread of their own,
and the request waits for them at most ``time_limit`` seconds. A trigger still running then
is answered with ``TriggersTooSlow`` (its name in the payload) while every other request goes
on being served; the thread cannot be stopped from outside and finishes in its own time (a
task it returns then is still stored).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from typing import Any

from eventix_cli.server.errors import TriggersTooSlow
from eventix_cli.server.validation import storable
from eventix_cli.triggers.loader import Trigger, TriggerSet
from eventix_cli.triggers.runner import make_event, run_event

log = logging.getLogger(__name__)

#: seconds ``POST /event`` waits for the triggers of one event
TRIGGER_TIME_LIMIT = 30.0


def answer_event(
    triggers: TriggerSet | None,
    store: Any,
    event: dict[str, Any],
    *,
    running: list[str] | None = None,
) -> str:
    """The JSON body of ``POST /event``: the tasks the triggers created, as stored.
    ``running`` (when given) holds the name of the trigger running now."""
    if triggers is None:
        log.info(
            "event %s posted to namespace %s (no triggers on this server)",
            event.get("name"),
            event.get("namespace"),
        )
        return "[]"

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
    return "[" + ",".join(texts) + "]"


async def answer_event_bounded(
    triggers: TriggerSet | None,
    store: Any,
    event: dict[str, Any],
    time_limit: float = TRIGGER_TIME_LIMIT,
) -> str:
    """:func:`answer_event` off the event loop, waited for at most ``time_limit`` seconds."""
    if triggers is None:
        return answer_event(None, store, event)
    running: list[str] = []
    done: concurrent.futures.Future[str] = concurrent.futures.Future()

    # running from the start, so the request giving up (time limit, client gone) cannot cancel
    # it: the thread goes on, and its result is set without error when it ends
    done.set_running_or_notify_cancel()

    def work() -> None:
        try:
            done.set_result(answer_event(triggers, store, event, running=running))
        except BaseException as exc:  # noqa: BLE001 - handed to the request that waits
            done.set_exception(exc)

    name = str(event.get("name"))
    threading.Thread(target=work, name=f"triggers-{name}"[:60], daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.wrap_future(done), time_limit)
    except TimeoutError:
        trigger = running[0] if running else None
        log.error(
            "[%s][%s] triggers still running after %g s: answered TriggersTooSlow; "
            "the trigger goes on in the background",
            name,
            trigger,
            time_limit,
        )
        raise TriggersTooSlow(name, trigger, time_limit) from None
