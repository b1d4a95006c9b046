"""Durations, ETAs, relative times, globs and the server/client split of a TaskQuery."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from freezegun import freeze_time

from eventix_cli.core.errors import UsageError
from eventix_cli.core.query import TaskQuery, glob_to_regex, parse_statuses
from eventix_cli.core.task import Task, TaskStatus
from eventix_cli.core.times import (
    floor_ms,
    format_duration,
    format_elapsed,
    format_stored_time,
    format_typed_duration,
    parse_duration,
    parse_eta,
    relative,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("7d", 604800),
        ("1w", 604800),
        ("1h30m", 5400),
        ("45", 45),
        ("1.5h", 5400),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5 minutes", "m", "-5m", "1y", "abc"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="invalid duration"):
        parse_duration(text)


def test_parse_eta() -> None:
    assert parse_eta("2026-01-31T12:00:00", NOW) == dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
    assert parse_eta("2026-01-31T13:00:00+01:00", NOW) == dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
    assert parse_eta("2026-01-31 12:00:00Z", NOW) == dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
    assert parse_eta("+10m", NOW) == NOW + dt.timedelta(minutes=10)
    assert parse_eta("now", NOW) == NOW
    with pytest.raises(UsageError, match="invalid time 'soon'"):
        parse_eta("soon", NOW)


def test_relative_and_format() -> None:
    assert relative(NOW + dt.timedelta(minutes=5, seconds=10), NOW) == "in 5m"
    assert relative(NOW - dt.timedelta(hours=3), NOW) == "3h ago"
    assert relative(NOW, NOW) == "now"
    assert relative(None, NOW) == ""
    assert format_duration(172800) == "2d"


def test_glob_to_regex() -> None:
    assert glob_to_regex("report:*") == "^report:.*$"
    assert re.match(glob_to_regex("job-?.[ab]"), "job-1.a")
    assert not re.match(glob_to_regex("job-?"), "job-12")
    assert re.match(glob_to_regex("a+b(c)*"), "a+b(c)xyz")


def test_query_server_filter() -> None:
    q = TaskQuery(namespace="ns", statuses=(TaskStatus.error,), task="send", unique_key="inv:*")
    assert q.server_filter() == {
        "namespace": "ns",
        "status": "error",
        "task": "send",
        "unique_key": {"$regex": "^inv:.*$"},
    }
    q = TaskQuery(namespace=None, statuses=(TaskStatus.done, TaskStatus.error), unique_key="exact")
    assert q.server_filter() == {"status": {"$in": ["done", "error"]}, "unique_key": "exact"}
    q = TaskQuery(namespace="ns", exclude_statuses=(TaskStatus.processing,))
    assert q.server_filter() == {"namespace": "ns", "status": {"$ne": "processing"}}


@freeze_time(NOW)
def test_query_time_conditions_on_created_time() -> None:
    q = TaskQuery(older_than=dt.timedelta(hours=1), newer_than=dt.timedelta(days=1))
    assert q.has_client_filter
    assert q.matches_client_side(Task(task="x", created_time=NOW - dt.timedelta(hours=2)))
    assert not q.matches_client_side(Task(task="x", created_time=NOW - dt.timedelta(minutes=2)))
    assert not q.matches_client_side(Task(task="x", created_time=NOW - dt.timedelta(days=2)))
    assert q.describe()["created_before"] == "2026-03-01T11:00:00+00:00"


def test_parse_statuses() -> None:
    assert parse_statuses(["error,done", "error"]) == (TaskStatus.error, TaskStatus.done)
    with pytest.raises(UsageError, match="unknown status 'eror'"):
        parse_statuses(["eror"])


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0004, "0.4 ms"),
        (0.0231, "23.1 ms"),
        (0.9994, "999.4 ms"),
        (1.0, "1.0 s"),
        (20.0231, "20.0 s"),
        (59.94, "59.9 s"),
        (59.96, "1 min 0 s"),
        (125.4, "2 min 5 s"),
        (3600.0, "1 h 0 min"),
        (2 * 86400 + 3 * 3600 + 120, "51 h 2 min"),
    ],
)
def test_elapsed_durations_are_human_sized(seconds, text) -> None:
    assert format_elapsed(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (45, "45s"),
        (90, "1m30s"),
        (5400, "1h30m"),
        (604800, "7d"),
        (90061, "1d1h1m1s"),
        (1.5, "1.5s"),
    ],
)
def test_format_typed_duration_is_exact_in_the_form_users_type(seconds: float, shown: str) -> None:
    assert format_typed_duration(seconds) == shown
    assert parse_duration(shown).total_seconds() == seconds


@pytest.mark.parametrize(
    ("microsecond", "floored"), [(0, 0), (999, 0), (1000, 1000), (123456, 123000), (999999, 999000)]
)
def test_floor_ms_drops_what_a_millisecond_store_cannot_hold(microsecond: int, floored: int) -> None:
    value = NOW.replace(microsecond=microsecond)
    assert floor_ms(value) == NOW.replace(microsecond=floored)
    assert floor_ms(value.replace(tzinfo=None)).tzinfo is None  # the zone is kept as it is


def test_format_stored_time_is_the_wire_form_to_the_millisecond() -> None:
    assert format_stored_time(NOW.replace(microsecond=123999)) == "2026-03-01T12:00:00.123000Z"
    assert format_stored_time(NOW.replace(microsecond=999)) == "2026-03-01T12:00:00Z"
    assert format_stored_time(
        dt.datetime(2026, 3, 1, 13, 0, 0, 5500, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    ) == ("2026-03-01T12:00:00.005000Z")
