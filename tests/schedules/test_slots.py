"""Slot computation: cron in a time zone across DST, every-intervals, catch-up rules."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from eventix_cli.core.times import utcnow
from eventix_cli.schedules.model import Schedule, parse_entry
from eventix_cli.schedules.slots import CATCH_UP_LIMIT, due_slots, next_slots

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


def sched(**fields) -> Schedule:
    result = parse_entry(fields.pop("name", "s"), {"task": "t", **fields}, upstream=False)
    assert isinstance(result, Schedule), result
    return result


def iso(slots) -> list[str]:
    return [s.strftime("%Y-%m-%dT%H:%M:%SZ") for s in slots]


def test_cron_in_utc() -> None:
    s = sched(cron="0 3 * * *")
    assert iso(next_slots(s, at("2026-03-01T02:59:59Z"))) == [
        "2026-03-01T03:00:00Z",
        "2026-03-02T03:00:00Z",
        "2026-03-03T03:00:00Z",
    ]
    # strictly after: a slot is not its own successor
    assert iso(next_slots(s, at("2026-03-01T03:00:00Z"), 1)) == ["2026-03-02T03:00:00Z"]


def test_cron_in_a_time_zone_follows_the_wall_clock_across_dst() -> None:
    s = sched(cron="0 3 * * *", timezone="Europe/Berlin")
    # 03:00 CET is 02:00 UTC in winter; 03:00 CEST is 01:00 UTC after 29 March 2026
    assert iso(next_slots(s, at("2026-03-28T00:00:00Z"))) == [
        "2026-03-28T02:00:00Z",
        "2026-03-29T01:00:00Z",
        "2026-03-30T01:00:00Z",
    ]


def test_a_time_skipped_by_spring_forward_runs_right_after_the_gap() -> None:
    s = sched(cron="30 2 * * *", timezone="Europe/Berlin")
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist, the job runs at 03:00 CEST
    assert iso(next_slots(s, at("2026-03-28T12:00:00Z"))) == [
        "2026-03-29T01:00:00Z",
        "2026-03-30T00:30:00Z",
        "2026-03-31T00:30:00Z",
    ]


def test_a_time_repeated_by_fall_back_runs_once() -> None:
    s = sched(cron="30 2 * * *", timezone="Europe/Berlin")
    # 25 October 2026: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET): once, the first
    assert iso(next_slots(s, at("2026-10-24T12:00:00Z"))) == [
        "2026-10-25T00:30:00Z",
        "2026-10-26T01:30:00Z",
        "2026-10-27T01:30:00Z",
    ]


def test_hourly_cron_keeps_every_real_hour_on_fall_back() -> None:
    s = sched(cron="0 * * * *", timezone="Europe/Berlin")
    slots = next_slots(s, at("2026-10-24T23:30:00Z"), 4)
    assert iso(slots) == [
        "2026-10-25T00:00:00Z",
        "2026-10-25T01:00:00Z",
        "2026-10-25T02:00:00Z",
        "2026-10-25T03:00:00Z",
    ]


def test_every_is_aligned_to_the_epoch() -> None:
    s = sched(every="15m", timezone="Asia/Kolkata")  # time zone plays no part
    assert iso(next_slots(s, at("2026-01-01T10:07:13Z"))) == [
        "2026-01-01T10:15:00Z",
        "2026-01-01T10:30:00Z",
        "2026-01-01T10:45:00Z",
    ]


@freeze_time("2026-05-01T12:00:30Z")
def test_a_new_schedule_gets_only_the_on_time_slot() -> None:
    now = utcnow()
    assert iso(due_slots(sched(cron="* * * * *"), None, now)[0]) == ["2026-05-01T12:00:00Z"]
    assert iso(due_slots(sched(every="10s"), None, now)[0]) == ["2026-05-01T12:00:30Z"]
    # the nightly slot nine hours ago was not missed by anyone: nothing is due
    assert due_slots(sched(cron="0 3 * * *"), None, now) == ([], 0)


@freeze_time("2026-05-01T12:00:20Z")
@pytest.mark.parametrize(
    ("catch_up", "expected", "skipped"),
    [
        ("none", ["2026-05-01T12:00:00Z"], 4),
        ("latest", ["2026-05-01T12:00:00Z"], 4),
        ("all", ["2026-05-01T11:56:00Z", "2026-05-01T11:57:00Z", "2026-05-01T11:58:00Z",
                 "2026-05-01T11:59:00Z", "2026-05-01T12:00:00Z"], 0),
    ],
)  # fmt: skip
def test_catch_up_when_the_current_slot_is_on_time(catch_up: str, expected: list[str], skipped: int) -> None:
    s = sched(cron="* * * * *", catch_up=catch_up)
    slots, count = due_slots(s, at("2026-05-01T11:55:00Z"), utcnow())
    assert (iso(slots), count) == (expected, skipped)


@freeze_time("2026-05-01T12:00:00Z")
@pytest.mark.parametrize(
    ("catch_up", "expected", "skipped"),
    [
        ("none", [], 3),
        ("latest", ["2026-05-01T09:00:00Z"], 2),
        ("all", ["2026-05-01T07:00:00Z", "2026-05-01T08:00:00Z", "2026-05-01T09:00:00Z"], 0),
    ],
)
def test_catch_up_of_slots_missed_while_no_scheduler_ran(
    catch_up: str, expected: list[str], skipped: int
) -> None:
    s = sched(cron="0 7-9 * * *", catch_up=catch_up)
    slots, count = due_slots(s, at("2026-04-30T09:00:00Z"), utcnow())
    assert (iso(slots), count) == (expected, skipped)


@freeze_time("2026-05-01T12:00:00Z")
def test_catch_up_all_is_capped() -> None:
    s = sched(every="1m", catch_up="all")
    slots, skipped = due_slots(s, at("2026-04-01T00:00:00Z"), utcnow())
    assert len(slots) == CATCH_UP_LIMIT
    assert iso(slots[-1:]) == ["2026-05-01T12:00:00Z"]
    assert iso(slots[:1]) == ["2026-05-01T10:21:00Z"]
    assert skipped is None  # more than were counted
    cron = sched(cron="* * * * *", catch_up="all")
    assert due_slots(cron, at("2026-04-01T00:00:00Z"), utcnow())[0] == slots


@freeze_time("2026-05-01T12:00:00Z")
def test_nothing_due_when_the_last_slot_is_current() -> None:
    s = sched(cron="0 * * * *")
    assert due_slots(s, at("2026-05-01T12:00:00Z"), utcnow()) == ([], 0)
    assert due_slots(s, at("2026-05-01T11:00:00Z"), utcnow()) == ([at("2026-05-01T12:00:00Z")], 0)


def test_a_start_inside_the_repeated_hour_never_gives_an_earlier_slot() -> None:
    s = sched(cron="30 2 * * *", timezone="Europe/Berlin")
    # 01:00 UTC on 25 October 2026 is the second 02:00 (CET); the day's 02:30 ran at 00:30 UTC
    assert iso(next_slots(s, at("2026-10-25T01:00:00Z"), 2)) == [
        "2026-10-26T01:30:00Z",
        "2026-10-27T01:30:00Z",
    ]
    assert due_slots(s, at("2026-10-25T01:00:00Z"), at("2026-10-25T01:00:00Z")) == ([], 0)
    assert due_slots(s, at("2026-10-25T01:00:00Z"), at("2026-10-25T01:40:00Z")) == ([], 0)
