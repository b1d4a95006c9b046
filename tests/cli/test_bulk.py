"""run_bulk: concurrency, per-item failures and skips, Ctrl-C."""

from __future__ import annotations

import threading
import time

import pytest

from eventix_cli.cli.bulk import Skip, run_bulk
from eventix_cli.core.errors import ServerError, ServerUnreachable, TaskNotFound


def test_outcomes_are_collected_per_item() -> None:
    def action(uid: str) -> None:
        if uid.startswith("skip"):
            raise Skip("nothing to do")
        if uid.startswith("bad"):
            raise TaskNotFound(
                f"Entry with uid '{uid}' not found.", status_code=404, server_error_class="NotFound"
            )

    seen: list[int] = []
    result = run_bulk("retry", ["ok1", "bad1", "skip1", "ok2"], action, concurrency=3, on_done=seen.append)
    assert sorted(result.done) == ["ok1", "ok2"]
    assert result.skipped == [{"uid": "skip1", "reason": "nothing to do"}]
    assert result.failed == [
        {"uid": "bad1", "error_class": "NotFound", "reason": "Entry with uid 'bad1' not found."}
    ]
    assert sum(seen) == 4
    assert result.total == 4
    assert not result.interrupted


def test_requests_really_run_concurrently() -> None:
    """Load-independent: the first eight requests wait for one another (a barrier), so they
    end only if all eight are in flight at once; a ninth at once would show in the peak."""
    active = 0
    peak = 0
    calls = 0
    lock = threading.Lock()
    all_in_flight = threading.Barrier(8, timeout=30)

    def action(_uid: str) -> None:
        nonlocal active, peak, calls
        with lock:
            active += 1
            peak = max(peak, active)
            calls += 1
            first_eight = calls <= 8
        if first_eight:
            all_in_flight.wait()
        time.sleep(0.02)
        with lock:
            active -= 1

    result = run_bulk("x", [str(i) for i in range(40)], action, concurrency=8)
    assert len(result.done) == 40
    assert peak == 8


def test_bugs_propagate() -> None:
    def action(_uid: str) -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run_bulk("x", ["a"], action)


def test_interrupt_stops_starting_and_reports_what_was_done() -> None:
    import _thread

    started: list[str] = []
    lock = threading.Lock()

    def action(uid: str) -> None:
        with lock:
            started.append(uid)
            first = len(started) == 1
        if first:
            _thread.interrupt_main()  # Ctrl-C: SIGINT reaches the main thread
        time.sleep(0.05)  # still in flight when the interrupt is handled

    result = run_bulk("purge", (f"t{i}" for i in range(1000)), action, concurrency=4)
    assert result.interrupted
    assert 1 <= len(started) < 1000  # it stopped starting new items
    assert sorted(result.done) == sorted(started)  # every started item finished and is reported


def test_a_failing_item_source_stops_the_run_with_what_was_done() -> None:
    def items():
        yield "a"
        raise ServerError("listing failed", status_code=500)

    result = run_bulk("x", items(), lambda uid: None, concurrency=1)
    assert result.done == ["a"]
    assert isinstance(result.error, ServerError)
    assert result.not_attempted is None  # the rest of a listing is unknown
    assert result.to_json(expected=5)["not_attempted_count"] == 4


def test_an_outage_stops_starting_and_lists_what_was_not_attempted() -> None:
    calls: list[str] = []

    def action(uid: str) -> None:
        calls.append(uid)
        if uid == "t3":
            raise ServerUnreachable("cannot reach http://127.0.0.1:9")

    uids = [f"t{i}" for i in range(10)]
    result = run_bulk("purge", uids, action, concurrency=1)
    assert result.done == ["t0", "t1", "t2"]
    assert result.failed == [
        {"uid": "t3", "error_class": "ServerUnreachable", "reason": "cannot reach http://127.0.0.1:9"}
    ]
    assert result.not_attempted == uids[4:]
    assert calls == uids[:4]  # nothing was tried after the outage
    report = result.to_json()
    assert report["error"] == {
        "error_class": "ServerUnreachable",
        "message": "cannot reach http://127.0.0.1:9",
    }
    assert report["not_attempted_count"] == 6
    assert [r["outcome"] for r in result.rows()].count("not_attempted") == 6


def test_an_ordinary_failure_does_not_stop_the_run() -> None:
    def action(uid: str) -> None:
        raise ServerError("boom", status_code=500)

    result = run_bulk("x", ["a", "b", "c"], action, concurrency=1)
    assert len(result.failed) == 3
    assert result.error is None
    assert not result.stopped_early


def test_interrupt_lists_the_items_never_started() -> None:
    import _thread

    def action(uid: str) -> None:
        if uid == "t2":
            _thread.interrupt_main()
            time.sleep(0.05)

    uids = [f"t{i}" for i in range(50)]
    result = run_bulk("cancel", uids, action, concurrency=1)
    assert result.interrupted
    assert result.done + (result.not_attempted or []) == uids  # each item handled or named as not attempted
    assert "t2" in result.done


def test_items_with_a_key() -> None:
    result = run_bulk("x", [{"uid": "u1"}, {"uid": "u2"}], lambda item: None, key=lambda item: item["uid"])
    assert sorted(result.done) == ["u1", "u2"]


def test_a_lazy_source_left_unfinished_is_closed_when_the_run_ends() -> None:
    """Its cleanup (the journal's read-ahead thread) runs in the caller, not at interpreter
    exit, where joining a thread would hang."""
    from eventix_cli.core.errors import ServerUnreachable

    closed = []

    def source():
        try:
            yield from (f"t{i}" for i in range(100))
        finally:
            closed.append(True)

    def action(uid: str) -> None:
        raise ServerUnreachable("down")

    result = run_bulk("purge", source(), action, concurrency=2)
    assert result.stopped_early
    assert closed == [True]
