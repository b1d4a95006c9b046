"""Every EventixClient method against every server kind in SERVER_KINDS.

The same scenarios run against the upstream reference server and (once it exists) our
embedded server, so a script written against one behaves the same on the other.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import (
    AlreadyExists,
    NoTaskFoundForUniqueKey,
    RevisionConflict,
    ServerError,
    TaskNotFound,
    TaskUniqueKeyNotUnique,
    WrongTaskStatus,
)
from eventix_cli.core.fields import new_uid, stored_priority
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Event, Task
from eventix_cli.core.times import utcnow

pytestmark = pytest.mark.contract


def _task(namespace: str, **fields) -> Task:
    fields.setdefault("task", "demo")
    return Task(namespace=namespace, **fields)


def _past(seconds: int = 60) -> dt.datetime:
    return utcnow() - dt.timedelta(seconds=seconds)


def test_health_version_metrics(client: EventixClient) -> None:
    assert client.health()["status"] == "healthy"
    assert client.version()
    metrics = client.metrics()
    assert {"memory", "worker", "tasks"} <= set(metrics)


def test_namespaces_lists_distinct_sorted(client: EventixClient, namespace: str) -> None:
    client.post_task(_task(f"{namespace}-b").to_wire())
    client.post_task(_task(f"{namespace}-a").to_wire())
    client.post_task(_task(f"{namespace}-a").to_wire())
    names = client.namespaces()
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert {f"{namespace}-a", f"{namespace}-b"} <= set(names)


def test_post_get_roundtrip_keeps_every_field(client: EventixClient, namespace: str) -> None:
    sent = _task(namespace, args=[1, "two", {"three": 3}], kwargs={"k": [1, 2]}, priority=stored_priority(5))
    stored = client.post_task(sent.to_wire())
    assert stored.uid == sent.uid
    assert stored.revision
    assert stored.status == TaskStatus.scheduled
    assert stored.logical_priority == 5
    fetched = client.get_task(sent.uid)
    assert fetched.to_wire() == stored.to_wire()
    assert fetched.args == [1, "two", {"three": 3}]
    assert fetched.kwargs == {"k": [1, 2]}


def test_post_existing_uid_without_unique_key_is_already_exists(
    client: EventixClient, namespace: str
) -> None:
    task = client.post_task(_task(namespace).to_wire())
    with pytest.raises(AlreadyExists) as info:
        client.post_task(_task(namespace, uid=task.uid).to_wire())
    assert info.value.status_code == 409


def test_unique_key_post_updates_pending_task(client: EventixClient, namespace: str) -> None:
    early, late = _past(600), _past(10)
    first = client.post_task(_task(namespace, unique_key="k", eta=late, priority=0, args=[1]).to_wire())
    second = client.post_task(_task(namespace, unique_key="k", eta=early, priority=-3, args=[2]).to_wire())
    assert second.uid == first.uid
    assert second.args == [2]
    assert second.priority == -3
    assert abs((second.eta - early).total_seconds()) < 0.01
    third = client.post_task(_task(namespace, unique_key="k", eta=utcnow(), priority=5, args=[3]).to_wire())
    assert third.uid == first.uid
    assert third.priority == -3  # the smaller stored value wins
    assert abs((third.eta - early).total_seconds()) < 0.01  # the earlier eta wins
    page = client.by_status(namespace=namespace)
    assert page.max_results == 1


def test_unique_key_post_updates_a_task_in_retry(client: EventixClient, namespace: str) -> None:
    first = client.post_task(
        _task(namespace, unique_key="r", args=[1], kwargs={"a": 1}, priority=-2).to_wire()
    ).to_task()
    first.status = TaskStatus.retry
    first.eta = utcnow() + dt.timedelta(seconds=600)  # waiting out its backoff
    in_retry = client.put_task(first.to_wire())
    early = _past(30)
    second = client.post_task(
        _task(namespace, unique_key="r", eta=early, priority=-1, args=[2], kwargs={"b": 2}).to_wire()
    )
    assert second.uid == first.uid  # updated, not a second task
    assert abs((second.eta - early).total_seconds()) < 0.01  # the earlier eta wins
    assert second.priority == -2  # the smaller stored value wins
    assert second.args == [2]
    assert second.kwargs == {"b": 2}  # replaced, not merged
    assert second.status == TaskStatus.scheduled  # taken from the new document
    assert second.revision != in_retry.revision
    third = client.post_task(
        _task(namespace, unique_key="r", eta=utcnow(), priority=-5, status=TaskStatus.retry).to_wire()
    )
    assert third.uid == first.uid
    assert third.priority == -5
    assert abs((third.eta - early).total_seconds()) < 0.01
    assert client.by_status(namespace=namespace).max_results == 1


def test_unique_key_post_after_done_inserts_new(client: EventixClient, namespace: str) -> None:
    first = client.post_task(_task(namespace, unique_key="k").to_wire()).to_task()
    first.status = TaskStatus.done
    client.put_task(first.to_wire())
    second = client.post_task(_task(namespace, unique_key="k").to_wire())
    assert second.uid != first.uid


def test_put_checks_revision(client: EventixClient, namespace: str) -> None:
    task = client.post_task(_task(namespace).to_wire()).to_task()
    task.kwargs = {"changed": True}
    updated = client.put_task(task.to_wire())
    assert updated.revision != task.revision
    assert updated.kwargs == {"changed": True}
    with pytest.raises(RevisionConflict) as info:
        client.put_task(task.to_wire())  # still carries the old revision
    assert info.value.status_code == 409


def test_put_unknown_uid_inserts(client: EventixClient, namespace: str) -> None:
    task = _task(namespace)
    stored = client.put_task(task.to_wire())
    assert stored.uid == task.uid
    assert client.get_task(task.uid).uid == task.uid


def test_delete_and_not_found(client: EventixClient, namespace: str) -> None:
    task = client.post_task(_task(namespace).to_wire())
    client.delete_task(task.uid)
    with pytest.raises(TaskNotFound) as info:
        client.get_task(task.uid)
    assert info.value.status_code == 404
    assert info.value.error_class == "NotFound"
    with pytest.raises(TaskNotFound):
        client.delete_task(task.uid)


def test_reschedule_only_from_error_or_retry(client: EventixClient, namespace: str) -> None:
    task = client.post_task(_task(namespace).to_wire())
    with pytest.raises(WrongTaskStatus) as info:
        client.reschedule(task.uid)
    assert info.value.status_code == 422
    task = task.to_task()
    task.status = TaskStatus.error
    task.worker_id = "w1"
    task = client.put_task(task.to_wire())
    eta = utcnow() + dt.timedelta(hours=1)
    again = client.reschedule(task.uid, eta=eta)
    assert again.status == TaskStatus.scheduled
    assert again.worker_id is None
    assert abs((again.eta - eta).total_seconds()) < 0.01
    with pytest.raises(TaskNotFound):
        client.reschedule(new_uid())


def test_by_unique_key_get(client: EventixClient, namespace: str) -> None:
    task = client.post_task(_task(namespace, unique_key="report:1").to_wire()).to_task()
    assert client.get_by_unique_key(namespace, "report:1").uid == task.uid
    with pytest.raises(NoTaskFoundForUniqueKey):
        client.get_by_unique_key(namespace, "report:2")
    with pytest.raises(NoTaskFoundForUniqueKey):
        client.get_by_unique_key(namespace, "report:1", stati=[TaskStatus.done])
    task.status = TaskStatus.done
    client.put_task(task.to_wire())
    assert client.get_by_unique_key(namespace, "report:1", stati=[TaskStatus.done]).uid == task.uid


def test_by_unique_key_delete(client: EventixClient, namespace: str) -> None:
    key = f"{namespace}-only"
    task = client.post_task(_task(namespace, unique_key=key).to_wire())
    client.delete_by_unique_key(key)
    with pytest.raises(TaskNotFound):
        client.get_task(task.uid)
    with pytest.raises(NoTaskFoundForUniqueKey):
        client.delete_by_unique_key(key)


@pytest.mark.parametrize("uid", [".", ".."])
def test_dot_ids_keys_and_namespaces_reach_their_task(client: EventixClient, uid: str) -> None:
    """``.`` and ``..`` are ids like any other: not dot segments that a URL resolves away."""
    with contextlib.suppress(TaskNotFound):
        client.delete_task(uid)
    stored = client.put_task(
        _task("..", uid=uid, unique_key=uid, status=TaskStatus.error, worker_id="w").to_wire()
    )
    assert stored.uid == uid
    assert client.get_task(uid).uid == uid
    assert client.get_task(uid).uid == uid
    assert client.get_by_unique_key("..", uid, stati=[TaskStatus.error]).uid == uid
    assert client.reschedule(uid).status == TaskStatus.scheduled
    client.delete_by_unique_key(uid)
    with pytest.raises(TaskNotFound):
        client.get_task(uid)
    with pytest.raises(TaskNotFound):
        client.delete_task(uid)


def test_by_unique_key_delete_not_unique(client: EventixClient, namespace: str) -> None:
    key = f"{namespace}-shared"
    client.post_task(_task(f"{namespace}-1", unique_key=key).to_wire())
    client.post_task(_task(f"{namespace}-2", unique_key=key).to_wire())
    with pytest.raises(TaskUniqueKeyNotUnique) as info:
        client.delete_by_unique_key(key)
    assert info.value.status_code == 409


def test_next_scheduled_claims_in_priority_then_eta_order(client: EventixClient, namespace: str) -> None:
    low = client.post_task(_task(namespace, priority=stored_priority(1), eta=_past(300)).to_wire())
    high_late = client.post_task(_task(namespace, priority=stored_priority(9), eta=_past(10)).to_wire())
    high_early = client.post_task(_task(namespace, priority=stored_priority(9), eta=_past(100)).to_wire())
    client.post_task(
        _task(namespace, priority=stored_priority(99), eta=utcnow() + dt.timedelta(hours=1)).to_wire()
    )
    client.post_task(_task(f"{namespace}-other", priority=stored_priority(100), eta=_past()).to_wire())

    claimed = [client.next_scheduled("w1", namespace) for _ in range(3)]
    assert [t.uid for t in claimed] == [high_early.uid, high_late.uid, low.uid]
    for task in claimed:
        assert task.status == TaskStatus.processing
        assert task.worker_id == "w1"
        lease = (task.worker_expires - utcnow()).total_seconds()
        assert 280 < lease <= 301
    assert client.next_scheduled("w1", namespace) is None  # the future task is not due


def test_next_scheduled_takes_retry_but_not_claimed(client: EventixClient, namespace: str) -> None:
    retry = client.post_task(_task(namespace, status=TaskStatus.retry, eta=_past()).to_wire())
    client.post_task(
        _task(namespace, status=TaskStatus.scheduled, worker_id="someone", eta=_past()).to_wire()
    )
    client.post_task(_task(namespace, status=TaskStatus.error, eta=_past()).to_wire())
    assert client.next_scheduled("w2", namespace).uid == retry.uid
    assert client.next_scheduled("w2", namespace) is None


def test_by_status_filters_pages_and_sorts(client: EventixClient, namespace: str) -> None:
    for i in range(5):
        client.post_task(_task(namespace, task=f"job{i % 2}", priority=-i).to_wire())
    done = client.post_task(_task(namespace, task="job9").to_wire()).to_task()
    done.status = TaskStatus.done
    client.put_task(done.to_wire())

    page = client.by_status(namespace=namespace, status=TaskStatus.scheduled)
    assert page.max_results == 5
    assert len(page.tasks) == 5
    assert all(t.status == TaskStatus.scheduled for t in page.tasks)

    page = client.by_status(namespace=namespace, sort="priority", limit=2, skip=1)
    assert page.max_results == 6
    assert [t.priority for t in page.tasks] == [-3, -2]
    assert page.limit == 2
    assert page.skip == 1

    page = client.by_status(namespace=namespace, filter={"task": {"$in": ["job0", "job9"]}})
    assert {t.task for t in page.tasks} == {"job0", "job9"}
    assert page.max_results == 4

    page = client.by_status(
        namespace=namespace, filter={"task": {"$regex": "^job[01]$"}, "status": {"$ne": "done"}}
    )
    assert page.max_results == 5

    page = client.by_status(namespace=namespace, filter={"priority": {"$lt": -2}})
    assert sorted(t.priority for t in page.tasks) == [-4, -3]

    # status/namespace in the body win over the same keys in the filter
    page = client.by_status(namespace=namespace, status="done", filter={"status": "scheduled"})
    assert [t.uid for t in page.tasks] == [done.uid]


def test_by_status_keyset_by_id(client: EventixClient, namespace: str) -> None:
    uids = sorted(client.post_task(_task(namespace).to_wire()).uid for _ in range(5))
    page = client.by_status(namespace=namespace, sort="_id", filter={"_id": {"$gt": uids[1]}}, limit=2)
    assert [t.uid for t in page.tasks] == uids[2:4]


def test_count(client: EventixClient, namespace: str) -> None:
    for _ in range(3):
        client.post_task(_task(namespace).to_wire())
    assert client.count(namespace=namespace) == 3
    assert client.count(namespace=namespace, status="error") == 0


def test_iter_tasks_keyset_pages_through_everything_once(client: EventixClient, namespace: str) -> None:
    uids = {client.post_task(_task(namespace).to_wire()).uid for _ in range(23)}
    client.post_task(_task(f"{namespace}-x").to_wire())
    seen = [t.uid for t in client.iter_tasks(namespace=namespace, page_size=5)]
    assert seen == sorted(uids)
    # an `_id` condition of the caller's own is kept
    lowest = min(uids)
    seen = [
        t.uid for t in client.iter_tasks(namespace=namespace, filter={"_id": {"$ne": lowest}}, page_size=4)
    ]
    assert seen == sorted(uids - {lowest})


def test_by_task(client: EventixClient, namespace: str, server) -> None:
    order = [TaskStatus.done, TaskStatus.error, TaskStatus.retry, TaskStatus.processing, TaskStatus.scheduled]
    for i, status in enumerate(order):
        client.post_task(_task(namespace, task="job", status=status, eta=_past(100 - i)).to_wire())
    client.post_task(_task(namespace, task="other").to_wire())
    if server.kind == "upstream":
        # The reference's mongomock stand-in lacks $indexOfArray: the server answers 500
        # with a generic error body, which the client must turn into a ServerError.
        with pytest.raises(ServerError) as info:
            client.by_task("job", namespace=namespace)
        assert info.value.error_class == "NotImplementedError"
        assert info.value.status_code == 500
        return
    page = client.by_task("job", namespace=namespace)
    assert [t.status for t in page.tasks] == list(reversed(order))


def test_dump_is_sorted_by_uid(client: EventixClient, namespace: str) -> None:
    for _ in range(3):
        client.post_task(_task(namespace).to_wire())
    page = client.dump()
    assert page.ids == sorted(page.ids)
    assert page.max_results >= 3
    page2 = client.dump(skip=1, limit=2)
    assert page2.ids == page.ids[1:3]


def test_post_event_without_triggers(client: EventixClient, namespace: str) -> None:
    assert client.post_event(Event(name="nothing-listens", namespace=namespace, payload={"a": 1})) == []
