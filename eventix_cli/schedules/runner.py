"""The scheduler: enqueue each due slot of each schedule as a task, once, across schedulers.

Each slot becomes a task with unique key ``schedule:<name>:<slot, ISO UTC>`` and eta = the
slot. Before posting, the scheduler asks the server whether a task with that key exists in
any status; a second scheduler on the same file therefore skips a slot the first one already
enqueued (and the server's unique-key rule merges the rare simultaneous post while the task
waits). The latest enqueued slot of a schedule is read back from the server at start (the
task with the greatest key of that schedule), so slots missed while no scheduler ran are
found without local state; catch-up rules then decide which of them to enqueue. A slot missed
by only seconds may be on time for another scheduler whose clock is behind: it is caught up
once no such scheduler has enqueued it (``slots.held_back``), never earlier.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from eventix_cli.core.errors import AlreadyExists, ApiError, NoTaskFoundForUniqueKey, TransportError
from eventix_cli.core.fields import stored_priority
from eventix_cli.core.task import Task
from eventix_cli.core.times import format_elapsed, utcnow
from eventix_cli.schedules.model import Schedule, slot_text
from eventix_cli.schedules.slots import CATCH_UP_LIMIT, due_slots, held_back, iter_slots

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient

log = logging.getLogger(__name__)

OPERATOR = "eventix-scheduler"
ALL_STATUSES = ("scheduled", "processing", "done", "error", "retry")
#: longest sleep between passes (a changed clock or a stop request is noticed within it)
MAX_SLEEP = 30.0
#: wait after a pass that could not reach the server
ERROR_BACKOFF = 5.0


def slot_uid(namespace: str, key: str) -> str:
    """The task uid of a slot: derived from namespace and unique key, so every scheduler posts
    the slot under one uid (32 hex digits, like the uids Eventix makes)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"eventix-schedule:{namespace}:{key}").hex


def parse_slot(key: str, prefix: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(key[len(prefix) :], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


class Scheduler:
    """Enqueues the due slots of ``schedules`` through ``client``; no Typer, no rich."""

    def __init__(
        self,
        client: EventixClient,
        schedules: Sequence[Schedule],
        namespace: str,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        max_sleep: float = MAX_SLEEP,
    ) -> None:
        self.client = client
        self.schedules = list(schedules)
        self.default_namespace = namespace
        self.clock = clock
        self.max_sleep = max_sleep
        self.last: dict[str, dt.datetime | None] = {}
        #: missed slots to catch up, held back while a scheduler on a slower clock may still
        #: enqueue them (ascending, per schedule; see ``slots.held_back``)
        self.waiting: dict[str, list[dt.datetime]] = {}
        #: schedules that failed, and when they are tried again: each backs off on its own
        self.retry_at: dict[str, dt.datetime] = {}
        self.enqueued = 0
        #: slots that were due (enqueued now, or found enqueued by another scheduler)
        self.due = 0
        self._stop = threading.Event()

    def namespace_of(self, schedule: Schedule) -> str:
        return schedule.namespace or self.default_namespace

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- the server -------------------------------------------------------------------------

    def recorded_slot(self, schedule: Schedule) -> dt.datetime | None:
        """The latest slot of ``schedule`` that has a task on the server (any status)."""
        prefix = schedule.key_prefix
        page = self.client.by_status(
            namespace=self.namespace_of(schedule),
            filter={"unique_key": {"$regex": "^" + re.escape(prefix)}},
            sort="-unique_key",
            limit=1,
        )
        for task in page.tasks:
            if task.unique_key:
                return parse_slot(task.unique_key, prefix)
        return None

    def exists(self, schedule: Schedule, key: str) -> bool:
        try:
            self.client.get_by_unique_key(self.namespace_of(schedule), key, ALL_STATUSES)
        except NoTaskFoundForUniqueKey:
            return False
        return True

    def enqueue(self, schedule: Schedule, slot: dt.datetime) -> bool:
        """Post the slot's task unless a task with its key exists; True when this call posted it."""
        self.due += 1
        key = schedule.unique_key(slot)
        namespace = self.namespace_of(schedule)
        if self.exists(schedule, key):
            log.info("%s: slot %s already enqueued (by another scheduler)", schedule.name, slot_text(slot))
            return False
        try:
            task = self.client.post_task(
                Task(
                    # the same uid from every scheduler: of two that both found no task above,
                    # the second insert is refused (409), whatever became of the first's task
                    # meanwhile (claimed or done, it no longer merges by unique key)
                    uid=slot_uid(namespace, key),
                    task=schedule.task,
                    args=list(schedule.args),
                    kwargs=dict(schedule.kwargs),
                    namespace=namespace,
                    priority=stored_priority(schedule.priority),
                    unique_key=key,
                    eta=slot,
                    operator=OPERATOR,
                ).to_wire()
            )
        except AlreadyExists:
            log.info("%s: slot %s already enqueued (by another scheduler)", schedule.name, slot_text(slot))
            return False
        self.enqueued += 1
        log.info(
            "%s: enqueued slot %s as task %s (%s in namespace %s)",
            schedule.name,
            slot_text(slot),
            task.uid,
            schedule.task,
            namespace,
        )
        return True

    # -- passes -----------------------------------------------------------------------------

    def run_schedule(self, schedule: Schedule, now: dt.datetime, *, final: bool = False) -> None:
        if schedule.name not in self.last:
            self.last[schedule.name] = self.recorded_slot(schedule)  # None: a new schedule
        slots, skipped = due_slots(schedule, self.last[schedule.name], now)
        if skipped is None:
            log.warning(
                "%s: more than %d slots were due; the %d most recent enqueued (catch_up = %s, at most %d)",
                schedule.name,
                CATCH_UP_LIMIT,
                len(slots),
                schedule.catch_up,
                CATCH_UP_LIMIT,
            )
        elif skipped:
            log.warning(
                "%s: %d missed slot(s) not enqueued (catch_up = %s)",
                schedule.name,
                skipped,
                schedule.catch_up,
            )
        waiting = self.waiting.setdefault(schedule.name, [])
        while waiting and (final or not held_back(schedule, waiting[0], now)):
            if self.stopping:
                return
            self.enqueue(schedule, waiting[0])  # a slower scheduler has had its chance
            del waiting[0]
        for slot in slots:
            if self.stopping:
                return
            if not final and held_back(schedule, slot, now):
                log.debug(
                    "%s: slot %s missed; held back in case a slower clock enqueues it",
                    schedule.name,
                    slot_text(slot),
                )
                waiting.append(slot)
            else:
                self.enqueue(schedule, slot)
            self.last[schedule.name] = slot
        if self.last[schedule.name] is None or (not slots and skipped != 0):
            # from now on, a slot this scheduler does not enqueue in time counts as missed;
            # the skipped ones are settled
            self.last[schedule.name] = now

    def run_once(self, *, raise_errors: bool = False, final: bool = False) -> int:
        """One pass over every schedule not backing off from a failure; returns how many failed
        (server errors). ``raise_errors`` tries every schedule and raises the first error.
        ``final``: no pass follows (``--once``), so no missed slot is held back for later."""
        now = self.clock()
        failed = 0
        due_before = self.due
        for schedule in self.schedules:
            if self.stopping:
                break
            retry_at = self.retry_at.get(schedule.name)
            if retry_at is not None and now < retry_at and not raise_errors:
                continue  # backing off (a pass that raises, as --once runs, tries every schedule)
            try:
                self.run_schedule(schedule, now, final=final)
            except (TransportError, ApiError) as exc:
                if raise_errors:
                    raise
                failed += 1
                self.retry_at[schedule.name] = now + dt.timedelta(seconds=ERROR_BACKOFF)
                log.error(
                    "%s: %s (%s); will retry in %gs",
                    schedule.name,
                    exc.message,
                    type(exc).__name__,
                    ERROR_BACKOFF,
                )
            else:
                self.retry_at.pop(schedule.name, None)
        if final and not failed and self.due == due_before and not self.stopping:
            self.say_nothing_due(now)
        return failed

    def say_nothing_due(self, now: dt.datetime) -> None:
        """Log that no slot was due (``--once``), and which slot comes next, and when."""
        slot, name = min((next(iter_slots(s, now)), s.name) for s in self.schedules)
        log.info(
            "nothing due now; the next slot is in %s (%s at %s)",
            format_elapsed((slot - now).total_seconds()),
            name,
            slot_text(slot),
        )

    def seconds_to_next_slot(self) -> float:
        now = self.clock()
        nearest = min(next(iter_slots(s, now)) for s in self.schedules)
        return max(0.0, (nearest - now).total_seconds())

    def seconds_to_next_pass(self) -> float:
        """Until the next slot of a schedule in good standing, or the retry of one that failed,
        at most ``max_sleep``: a failing schedule never holds the others up."""
        now = self.clock()
        nearest = min(self.retry_at.get(s.name) or next(iter_slots(s, now)) for s in self.schedules)
        return min(max(0.0, (nearest - now).total_seconds()), self.max_sleep)

    def run(self) -> None:
        """Passes until :meth:`request_stop`; sleeps until the next slot in between."""
        log.info("scheduler started: %d schedule(s)", len(self.schedules))
        while not self.stopping:
            self.run_once()
            self._stop.wait(self.seconds_to_next_pass())
        log.info("scheduler stopped; %d task(s) enqueued", self.enqueued)


class SchedulerThread:
    """A :class:`Scheduler` in a daemon thread, for ``eventix worker --schedules``."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.thread = threading.Thread(target=self._run, name="eventix-scheduler", daemon=True)

    def _run(self) -> None:
        try:
            self.scheduler.run()
        except Exception:
            log.exception("scheduler stopped by an unexpected error")

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.scheduler.request_stop()
        self.thread.join(timeout)
