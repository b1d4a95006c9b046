"""Property-based checks of slot computation over many cron expressions, zones and times."""

from __future__ import annotations

import datetime as dt

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from eventix_cli.schedules.model import Schedule
from eventix_cli.schedules.slots import CATCH_UP_LIMIT, due_slots, iter_slots, slots_between

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
CRONS = [
    "* * * * *",
    "*/7 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "15 1-3 * * *",
    "0 3 * * 1-5",
    "45 23 L * *",
    "0 0 29 2 *",
    "5,35 */2 * * *",
]
times = st.datetimes(
    min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC)
)
# the DST changes of 2026 in the zones above (UTC): most DST bugs live within hours of one
TRANSITIONS = [
    dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC),  # Europe/Berlin forward
    dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC),  # Europe/Berlin back
    dt.datetime(2026, 3, 8, 7, tzinfo=dt.UTC),  # America/New_York forward
    dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC),  # America/New_York back
    dt.datetime(2026, 4, 4, 15, tzinfo=dt.UTC),  # Australia/Lord_Howe back (30 minutes)
    dt.datetime(2026, 10, 3, 15, 30, tzinfo=dt.UTC),  # Australia/Lord_Howe forward
]
near_dst = st.builds(
    lambda base, offset: base + dt.timedelta(seconds=offset),
    st.sampled_from(TRANSITIONS),
    st.one_of(st.integers(min_value=-3 * 3600, max_value=3 * 3600), st.integers(-2 * 86400, 86400)),
)
times = st.one_of(times, near_dst)
cron_schedules = st.builds(
    lambda cron, zone, catch_up: Schedule(name="p", task="t", cron=cron, timezone=zone, catch_up=catch_up),
    st.sampled_from(CRONS),
    st.sampled_from(ZONES),
    st.sampled_from(["none", "latest", "all"]),
)
every_schedules = st.builds(
    lambda every, catch_up: Schedule(name="p", task="t", every=every, catch_up=catch_up),
    st.integers(min_value=1, max_value=7 * 86400),
    st.sampled_from(["none", "latest", "all"]),
)
schedules = st.one_of(cron_schedules, every_schedules)
PROFILE = settings(max_examples=150, deadline=None)


def brute_force(schedule: Schedule, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """Every slot in (after, until] by plain forward iteration (examples with too many are dropped)."""
    found = []
    for slot in iter_slots(schedule, after):
        if slot > until:
            break
        found.append(slot)
        assume(len(found) <= 3000)
    return found


@PROFILE
@given(schedules, times)
def test_next_slots_are_increasing_whole_seconds_after_the_start(
    schedule: Schedule, start: dt.datetime
) -> None:
    slots = iter_slots(schedule, start)
    previous = start
    for _ in range(5):
        slot = next(slots)
        assert slot > previous
        assert slot.tzinfo is not None
        assert slot.utcoffset() == dt.timedelta(0)
        assert slot.microsecond == 0
        if schedule.every is not None:
            assert int(slot.timestamp()) % schedule.every == 0
        previous = slot


@PROFILE
@given(
    schedules, times, st.integers(min_value=1, max_value=3 * 86400), st.integers(min_value=1, max_value=12)
)
def test_the_recent_window_matches_forward_iteration(
    schedule: Schedule, after: dt.datetime, span: int, limit: int
) -> None:
    until = after + dt.timedelta(seconds=span)
    expected = brute_force(schedule, after, until)
    slots, more = slots_between(schedule, after, until, limit)
    assert slots == expected[-limit:]
    assert more == (len(expected) > limit)


@PROFILE
@given(schedules, times, st.integers(min_value=0, max_value=10 * 86400))
def test_due_slots_lie_between_the_last_slot_and_now(schedule: Schedule, last: dt.datetime, gap: int) -> None:
    now = last + dt.timedelta(seconds=gap)
    chosen, skipped = due_slots(schedule, last, now)
    assert chosen == sorted(set(chosen))
    assert all(last < slot <= now for slot in chosen)
    assert len(chosen) <= CATCH_UP_LIMIT
    every_due = brute_force(schedule, last, now)
    if skipped is not None:
        assert len(chosen) + skipped == len(every_due)
    if every_due and schedule.catch_up != "none":
        assert chosen[-1] == every_due[-1]  # the most recent due slot is never dropped
    if schedule.catch_up == "all" and len(every_due) <= CATCH_UP_LIMIT:
        assert chosen == every_due
