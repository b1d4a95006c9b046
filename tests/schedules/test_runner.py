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
