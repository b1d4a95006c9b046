"""The worker loop in-process against a real server: lease renewal and write-back conflicts."""

from __future__ import annotations

import time

from eventix_cli.client import EventixClient
from eventix_cli.models import Task, TaskStatus, utcnow
from eventix_cli.worker.registry import TaskRegistry
from eventix_cli.worker.runner import Running, Worker, WorkerConfig


def _worker(url: str, namespace: str) -> tuple[Worker, EventixClient]:
    client = EventixClient(url)
    return Worker(client, TaskRegistry(), WorkerConfig(namespace=namespace, worker_id="w-in")), client


def _claim(client: EventixClient, namespace: str) -> Task:
    client.post_task(Task(task="job", namespace=namespace, eta=utcnow()))
    task = client.next_scheduled("w-in", namespace)
    assert task is not None
    return task


def test_lease_is_renewed_after_half_of_it(embedded_url, namespace) -> None:
    worker, client = _worker(embedded_url, namespace)
    with client:
        task = _claim(client, namespace)
        claimed_revision = task.revision
        running = Running(task=task, lease=2.0, renewed_at=time.monotonic() - 1.5)
        worker.running[task.uid] = running
        worker._renew_leases()
        stored = client.get_task(task.uid)
        assert stored.revision == running.task.revision != claimed_revision
        remaining = (stored.worker_expires - utcnow()).total_seconds()
        assert 1.0 < remaining <= 2.0  # renewed to now + lease
        worker._renew_leases()  # not due again yet
        assert client.get_task(task.uid).revision == stored.revision
        # the final write-back uses the renewed revision: no conflict
        running.task.status = TaskStatus.done
        running.task.worker_expires = None
        assert worker._write_back(running)
        assert client.get_task(task.uid).status == TaskStatus.done


def test_write_back_reapplies_when_the_claim_is_still_ours(embedded_url, namespace) -> None:
    worker, client = _worker(embedded_url, namespace)
    with client:
        task = _claim(client, namespace)
        other = client.get_task(task.uid)
        other.kwargs = {"touched": True}  # someone writes, the claim stays ours
        client.put_task(other)
        running = Running(task=task, lease=300)
        running.task.status = TaskStatus.done
        running.task.result = "ok"
        assert worker._write_back(running)
        stored = client.get_task(task.uid)
        assert (stored.status, stored.result, stored.kwargs) == (TaskStatus.done, "ok", {"touched": True})


def test_write_back_drops_outcome_when_claim_was_taken(embedded_url, namespace) -> None:
    worker, client = _worker(embedded_url, namespace)
    with client:
        task = _claim(client, namespace)
        other = client.get_task(task.uid)
        other.status, other.worker_id = TaskStatus.scheduled, None  # e.g. released by the cleanup
        client.put_task(other)
        running = Running(task=task, lease=300)
        running.task.status = TaskStatus.done
        assert not worker._write_back(running)
        assert client.get_task(task.uid).status == TaskStatus.scheduled


def test_release_puts_task_back(embedded_url, namespace) -> None:
    worker, client = _worker(embedded_url, namespace)
    with client:
        task = _claim(client, namespace)
        worker._release(Running(task=task, lease=300))
        stored = client.get_task(task.uid)
        assert (stored.status, stored.worker_id, stored.worker_expires) == (TaskStatus.scheduled, None, None)
