"""The scheduler against real servers, with a clock the test moves."""

from __future__ import annotations

import datetime as dt

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import ServerUnreachable
from eventix_cli.core.task import TaskStatus
from eventix_cli.schedules.model import Schedule, parse_entry
from eventix_cli.schedules.runner import Scheduler
from tests.support.servers import free_port


class Clock:
    def __init__(self, start: str) -> None:
        self.now = dt.datetime.fromisoformat(start)

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = dt.datetime.fromisoformat(text)


def sched(name: str, **fields) -> Schedule:
    result = parse_entry(name, {"task": "report", **fields}, upstream=False)
    assert isinstance(result, Schedule), result
    return result


def keys(client: EventixClient, namespace: str) -> list[str]:
    return sorted(t.unique_key or "" for t in client.by_status(namespace=namespace).tasks)


def test_slots_become_tasks_once_and_the_record_survives_a_restart(client, namespace) -> None:
    clock = Clock("2026-05-01T06:59:50+00:00")
    hourly = sched("hourly", cron="0 * * * *", kwargs={"scope": "all"}, priority=5, catch_up="all")
    first = Scheduler(client, [hourly], namespace, clock=clock)
    first.run_once()
    assert keys(client, namespace) == []  # 06:00 is long past and nothing was on record
    clock.set("2026-05-01T07:00:01+00:00")
    first.run_once()
    first.run_once()  # the same slot again: nothing new
    [task] = client.by_status(namespace=namespace).tasks
    assert task.unique_key == "schedule:hourly:2026-05-01T07:00:00Z"
    expected = ("report", {"scope": "all"}, 5, "eventix-scheduler")
    assert (task.task, task.kwargs, task.logical_priority, task.operator) == expected
    assert task.eta == dt.datetime(2026, 5, 1, 7, tzinfo=dt.UTC)

    # no scheduler ran from 07:00 to 10:30; a new one finds 07:00 on the server and catches up
    clock.set("2026-05-01T10:30:00+00:00")
    Scheduler(client, [hourly], namespace, clock=clock).run_once()
    assert keys(client, namespace) == [f"schedule:hourly:2026-05-01T{h:02d}:00:00Z" for h in (7, 8, 9, 10)]


def test_a_second_scheduler_skips_slots_done_already(client, namespace) -> None:
    clock = Clock("2026-05-01T06:59:50+00:00")
    s = sched("hourly", cron="0 * * * *")
    first, second = (Scheduler(client, [s], namespace, clock=clock) for _ in range(2))
    first.run_once()
    second.run_once()  # both running, nothing due yet
    clock.set("2026-05-01T07:00:05+00:00")
    first.run_once()
    [listed] = client.by_status(namespace=namespace).tasks
    task = listed.to_task()
    task.status = TaskStatus.done  # a worker ran it already: the server's unique-key rule no longer applies
    client.put_task(task.to_wire())
    second.run_once()
    assert keys(client, namespace) == ["schedule:hourly:2026-05-01T07:00:00Z"]
    assert (first.enqueued, second.enqueued) == (1, 0)


def test_the_default_namespace_and_catch_up_latest(client, namespace, caplog) -> None:
    clock = Clock("2026-05-01T07:00:05+00:00")
    s = sched("daily", cron="0 7 * * *")
    own = sched("elsewhere", cron="0 7 * * *", namespace=f"{namespace}-x")
    runner = Scheduler(client, [s, own], namespace, clock=clock)
    runner.run_once()
    clock.set("2026-05-04T12:00:00+00:00")  # three daily slots missed
    with caplog.at_level("INFO", logger="eventix_cli.schedules"):
        Scheduler(client, [s], namespace, clock=clock).run_once()
    assert "daily: 2 missed slot(s) not enqueued (catch_up = latest)" in caplog.messages
    assert any(m.startswith("daily: enqueued slot 2026-05-04T07:00:00Z as task ") for m in caplog.messages)
    assert keys(client, namespace) == [
        "schedule:daily:2026-05-01T07:00:00Z",
        "schedule:daily:2026-05-04T07:00:00Z",
    ]
    assert keys(client, f"{namespace}-x") == ["schedule:elsewhere:2026-05-01T07:00:00Z"]


def test_an_unreachable_server_is_reported_and_retried() -> None:
    clock = Clock("2026-05-01T07:00:05+00:00")
    with EventixClient(f"http://127.0.0.1:{free_port()}", retries=0, timeout=2) as client:
        runner = Scheduler(client, [sched("a", cron="* * * * *")], "default", clock=clock)
        assert runner.run_once() == 1
        with pytest.raises(ServerUnreachable):
            runner.run_once(raise_errors=True)


def test_two_schedulers_racing_past_the_check_enqueue_a_slot_once(client, namespace) -> None:
    # B looked for the slot's task before A posted it; by the time B posts, a worker has claimed
    # A's task (so a unique-key merge no longer applies): the slot's fixed uid refuses B's insert
    clock = Clock("2026-05-01T07:00:01+00:00")
    hourly = sched("hourly", cron="0 * * * *")
    slot = dt.datetime(2026, 5, 1, 7, tzinfo=dt.UTC)
    a = Scheduler(client, [hourly], namespace, clock=clock)
    b = Scheduler(client, [hourly], namespace, clock=clock)
    assert a.enqueue(hourly, slot)
    claimed = client.next_scheduled("w-1", namespace)
    assert claimed is not None
    assert claimed.status == TaskStatus.processing
    b.exists = lambda *_: False  # type: ignore[method-assign]  # its check ran before A's post
    assert not b.enqueue(hourly, slot)
    assert keys(client, namespace) == ["schedule:hourly:2026-05-01T07:00:00Z"]


class RefusingClient:
    """The real client, except that the server refuses every task named ``refused``."""

    def __init__(self, client: EventixClient) -> None:
        self.client = client
        self.refused = 0

    def __getattr__(self, name: str):
        return getattr(self.client, name)

    def post_task(self, document):
        from eventix_cli.core.errors import ValidationFailed

        if document["task"] == "refused":
            self.refused += 1
            raise ValidationFailed("request: refused", status_code=422)
        return self.client.post_task(document)


def test_a_refused_schedule_does_not_hold_up_the_others(client, namespace) -> None:
    # One schedule the server keeps refusing backs off on its own; the others keep their slots.
    clock = Clock("2026-05-01T07:00:00.500+00:00")
    refusing = RefusingClient(client)
    ok, bad = sched("ok", every="1s"), sched("bad", every="1s", task="refused")
    runner = Scheduler(refusing, [bad, ok], namespace, clock=clock)  # type: ignore[arg-type]
    assert runner.run_once() == 1
    assert refusing.refused == 1
    assert runner.seconds_to_next_pass() == pytest.approx(0.5)  # ok's next slot, not the back-off
    for second in range(1, 5):
        clock.set(f"2026-05-01T07:00:0{second}.500+00:00")
        assert runner.run_once() == 0  # bad waits out its back-off without holding ok up
    assert refusing.refused == 1
    assert keys(client, namespace) == [f"schedule:ok:2026-05-01T07:00:0{s}Z" for s in range(5)]
    clock.set("2026-05-01T07:00:05.500+00:00")
    assert runner.run_once() == 1
    assert refusing.refused == 2


def tick_keys(*times: str) -> list[str]:
    return [f"schedule:tick:2026-05-01T{t}Z" for t in times]


def seconds(start: str, count: int) -> list[str]:
    first = dt.datetime.fromisoformat(f"2026-05-01T{start}")
    return [(first + dt.timedelta(seconds=i)).strftime("%H:%M:%S") for i in range(count)]


def test_a_scheduler_on_a_slower_clock_is_running_not_missing_slots(embedded_url, namespace) -> None:
    # A's clock is 20 s behind B's. A sees the new schedule first and registers the slot that is
    # on time by its clock; B starts a second later and finds that slot on the server. Catch-up
    # is for slots missed while no scheduler ran: B does not enqueue the 19 slots before its
    # start (older than either scheduler's start); A, running, enqueues them on its clock
    every_second = sched("tick", every="1s", catch_up="all")
    a_clock, b_clock = Clock("2026-05-01T06:59:40+00:00"), Clock("2026-05-01T07:00:01+00:00")
    with EventixClient(embedded_url, retries=0) as client:
        a = Scheduler(client, [every_second], namespace, clock=a_clock)
        b = Scheduler(client, [every_second], namespace, clock=b_clock)
        a.run_once()
        b.run_once()
        assert keys(client, namespace) == tick_keys("06:59:40", "07:00:01")
        # both go on, a pass a second for 40 s: each slot once, from the first clock to reach it
        for _ in range(40):
            a_clock.now += dt.timedelta(seconds=1)
            b_clock.now += dt.timedelta(seconds=1)
            a.run_once()
            b.run_once()
        assert keys(client, namespace) == tick_keys(*seconds("06:59:40", 62))
        assert (a.enqueued, b.enqueued) == (21, 41)  # A: 06:59:40 to 07:00:00, B: the rest


def test_slots_missed_by_seconds_are_caught_up_once_no_slower_scheduler_took_them(
    embedded_url, namespace
) -> None:
    # A registered 06:59:40 and stopped; B, starting at 07:00:01, waits as long as a scheduler
    # whose clock lags by up to CLOCK_SKEW could still enqueue those slots, then catches them up
    every_second = sched("tick", every="1s", catch_up="all")
    a_clock, b_clock = Clock("2026-05-01T06:59:40+00:00"), Clock("2026-05-01T07:00:01+00:00")
    with EventixClient(embedded_url, retries=0) as client:
        Scheduler(client, [every_second], namespace, clock=a_clock).run_once()
        b = Scheduler(client, [every_second], namespace, clock=b_clock)
        b.run_once()
        assert keys(client, namespace) == tick_keys("06:59:40", "07:00:01")
        b_clock.set("2026-05-01T07:00:15+00:00")
        b.run_once()  # 06:59:41 to 06:59:45: missed by 30 s or more now
        assert keys(client, namespace) == tick_keys(*seconds("06:59:40", 6), "07:00:01", "07:00:15")
        b_clock.set("2026-05-01T07:00:45+00:00")
        b.run_once()
        assert keys(client, namespace)[:23] == tick_keys(*seconds("06:59:40", 23))


def test_catch_up_fills_a_gap_no_scheduler_ran_at_once_up_to_the_last_seconds(
    embedded_url, namespace
) -> None:
    every_ten = sched("ten", every="10s", catch_up="all")
    clock = Clock("2026-05-01T07:00:00+00:00")
    ten = [f"schedule:ten:2026-05-01T07:{m:02d}:{s:02d}Z" for m in range(3) for s in range(0, 60, 10)]
    with EventixClient(embedded_url, retries=0) as client:
        Scheduler(client, [every_ten], namespace, clock=clock).run_once()
        clock.set("2026-05-01T07:02:00+00:00")
        b = Scheduler(client, [every_ten], namespace, clock=clock)
        b.run_once()
        # missed by 30 s or more: at once; 07:01:40 and 07:01:50 once a slower clock had its chance
        assert keys(client, namespace) == [*ten[:10], ten[12]]
        clock.set("2026-05-01T07:02:20+00:00")
        b.run_once()
        assert keys(client, namespace) == [*ten[:13], ten[14]]  # 07:02:10 missed by 10 s: held


def test_a_final_pass_holds_nothing_back(embedded_url, namespace) -> None:
    # `eventix scheduler --once` (from cron): no later pass would catch up a slot held back
    every_ten = sched("ten", every="10s", catch_up="all")
    clock = Clock("2026-05-01T07:00:00+00:00")
    with EventixClient(embedded_url, retries=0) as client:
        Scheduler(client, [every_ten], namespace, clock=clock).run_once(final=True)
        clock.set("2026-05-01T07:01:00+00:00")
        Scheduler(client, [every_ten], namespace, clock=clock).run_once(final=True)
        assert keys(client, namespace) == [
            f"schedule:ten:2026-05-01T07:00:{s:02d}Z" for s in range(0, 60, 10)
        ] + ["schedule:ten:2026-05-01T07:01:00Z"]
