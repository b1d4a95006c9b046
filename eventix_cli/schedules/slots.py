"""Slot times of a schedule: the next runs, and which slots are due now under a catch-up policy.

Slots are computed, never stored: every scheduler of a file gets the same slots. A ``cron``
schedule is read in its time zone with cronsim, which follows Debian cron across DST changes:
a time that does not exist on the spring-forward day runs at the first minute after the gap,
a time that occurs twice on the fall-back day runs once (the first). An ``every`` schedule's
slots are multiples of its interval since the Unix epoch (UTC), whatever the time zone.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterator

from cronsim import CronSim

from eventix_cli.core.times import as_utc
from eventix_cli.schedules.model import Schedule

#: a slot first seen more than this after its time counts as missed (catch-up rules apply)
GRACE = dt.timedelta(seconds=60)
#: catch_up = "all" enqueues at most this many missed slots of a schedule (the most recent)
CATCH_UP_LIMIT = 100
#: how far two schedulers' clocks may disagree: a slot missed by less than this may still be
#: on time for a scheduler whose clock is behind, running now (see :func:`held_back`)
CLOCK_SKEW = dt.timedelta(seconds=30)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND = dt.timedelta(seconds=1)


def iter_slots(schedule: Schedule, after: dt.datetime) -> Iterator[dt.datetime]:
    """Slots strictly after ``after``, ascending, as aware UTC datetimes."""
    after = as_utc(after)
    if schedule.every is not None:
        step = schedule.every
        index = int((after - _EPOCH).total_seconds() // step) + 1
        while True:
            yield _EPOCH + dt.timedelta(seconds=index * step)
            index += 1
    assert schedule.cron is not None
    local = after.astimezone(schedule.tz).replace(microsecond=0)
    for slot in CronSim(schedule.cron, local):
        utc = slot.astimezone(dt.UTC)
        # cronsim iterates wall-clock times: started inside a repeated (fall-back) hour, it can
        # give that hour's first occurrence, which lies before ``after``
        if utc > after:
            yield utc


def next_slots(schedule: Schedule, after: dt.datetime, count: int = 3) -> list[dt.datetime]:
    slots = iter_slots(schedule, after)
    return [next(slots) for _ in range(count)]


def _recent_bound(schedule: Schedule, now: dt.datetime, count: int) -> dt.datetime | None:
    """A time before the ``count`` most recent slots at or before ``now`` (None: fewer exist)."""
    if schedule.every is not None:
        last = int((now - _EPOCH).total_seconds() // schedule.every)
        return _EPOCH + dt.timedelta(seconds=(last - count) * schedule.every)
    assert schedule.cron is not None
    local = (now.replace(microsecond=0) + _SECOND).astimezone(schedule.tz)
    for index, slot in enumerate(CronSim(schedule.cron, local, reverse=True)):
        if index == count:
            return slot.astimezone(dt.UTC) - _SECOND
    return None  # cronsim looks back 50 years at most


def slots_between(
    schedule: Schedule, after: dt.datetime, until: dt.datetime, limit: int
) -> tuple[list[dt.datetime], bool]:
    """Slots in ``(after, until]``, ascending, at most the ``limit`` most recent; and whether
    older ones were left out."""
    after, until = as_utc(after), as_utc(until)
    bound = _recent_bound(schedule, until, limit)
    start = after if bound is None else max(after, bound)
    found: deque[dt.datetime] = deque(maxlen=limit + 1)
    for slot in iter_slots(schedule, start):
        if slot > until:
            break
        found.append(slot)
    more = len(found) > limit or (bound is not None and bound > after)
    slots = list(found)[-limit:] if limit else []
    return slots, more


def grace(schedule: Schedule) -> dt.timedelta:
    """How late a slot may be seen and still count as on time: :data:`GRACE`, or the
    interval of an ``every`` schedule when that is shorter."""
    if schedule.every is not None:
        return min(GRACE, dt.timedelta(seconds=schedule.every))
    return GRACE


def held_back(schedule: Schedule, slot: dt.datetime, now: dt.datetime) -> bool:
    """Whether a missed ``slot`` waits before it is caught up: while it is less than
    :data:`CLOCK_SKEW` old, a scheduler whose clock is behind this one's may be running and
    see it on time (it enqueues it then); catch-up is for slots missed while no scheduler ran.

    Only ``every`` schedules shorter than :data:`CLOCK_SKEW` are concerned: a slot counts as
    missed only after :func:`grace`, no shorter than that for the others.
    """
    now = as_utc(now)
    return now - CLOCK_SKEW < as_utc(slot) <= now - grace(schedule)


def due_slots(
    schedule: Schedule, last: dt.datetime | None, now: dt.datetime
) -> tuple[list[dt.datetime], int | None]:
    """The slots to enqueue now, and how many due slots are skipped (None: more than counted).

    ``last`` is the latest slot already enqueued. ``None`` means none is known (a new
    schedule): then only the latest slot is due, and only when it is on time, so a new
    schedule starts with its next slot. A slot seen within :func:`grace` of its time is on
    time and always enqueued. Older ones were missed: ``catch_up = "none"`` skips them,
    ``"latest"`` enqueues the most recent one when no slot is on time, ``"all"`` enqueues
    them all, at most :data:`CATCH_UP_LIMIT` (the most recent).
    """
    now = as_utc(now)
    floor = now - grace(schedule)
    if last is None:
        slots, _ = slots_between(schedule, floor, now, 1)
        return slots, 0
    after = as_utc(last)
    if after >= now:
        return [], 0
    slots, more = slots_between(schedule, after, now, CATCH_UP_LIMIT)
    on_time = [s for s in slots if s > floor]
    missed = [s for s in slots if s <= floor]
    if schedule.catch_up == "all":
        chosen = slots
    elif schedule.catch_up == "latest" and not on_time and missed:
        chosen = missed[-1:]
    else:
        chosen = on_time
    skipped = len(slots) - len(chosen)
    return chosen, (None if more else skipped)
