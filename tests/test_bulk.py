"""run_bulk: concurrency, per-item failures and skips, Ctrl-C."""

from __future__ import annotations

import threading
import time

import pytest

from eventix_cli.bulk import Skip, run_bulk
from eventix_cli.errors import TaskNotFound


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
    active = 0
    peak = 0
    lock = threading.Lock()

    def action(_uid: str) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1

    result = run_bulk("x", [str(i) for i in range(40)], action, concurrency=8)
    assert len(result.done) == 40
    assert 2 < peak <= 8


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


def test_a_failing_item_source_propagates() -> None:
    def items():
        yield "a"
        raise TaskNotFound("listing failed", status_code=404)

    with pytest.raises(TaskNotFound):
        run_bulk("x", items(), lambda uid: None)


def test_items_with_a_key() -> None:
    result = run_bulk("x", [{"uid": "u1"}, {"uid": "u2"}], lambda item: None, key=lambda item: item["uid"])
    assert sorted(result.done) == ["u1", "u2"]
