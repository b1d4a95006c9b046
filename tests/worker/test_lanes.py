"""Where write-backs run: on the lane itself at --concurrency 1, on the write-back pool above."""

from __future__ import annotations

import threading

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task, TaskStatus
from eventix_cli.worker.config import WorkerConfig
from eventix_cli.worker.registry import TaskRegistry
from eventix_cli.worker.supervisor import Supervisor


@pytest.mark.parametrize(("concurrency", "thread_prefix"), [(1, "task-"), (2, "write-back")])
def test_write_backs_run_inline_on_a_single_lane_and_pooled_above(
    embedded_url, namespace, concurrency, thread_prefix
) -> None:
    with EventixClient(embedded_url) as client:
        uids = [
            client.post_task(Task(task="add", namespace=namespace, args=[i, 1]).to_wire()).uid
            for i in range(6)
        ]
        registry = TaskRegistry()
        registry.register("tests.support.sample_tasks:add")
        config = WorkerConfig(
            namespace=namespace, worker_id="lanes-test", concurrency=concurrency, burst=True
        )
        supervisor = Supervisor(client, registry, config)
        threads: list[str] = []
        write_outcome = supervisor.writer.write_outcome

        def recorded(claimed, outcome):
            threads.append(threading.current_thread().name)
            return write_outcome(claimed, outcome)

        supervisor.writer.write_outcome = recorded  # type: ignore[method-assign]
        assert supervisor.run() == 0
        assert len(threads) == 6
        assert all(name.startswith(thread_prefix) for name in threads), threads
        for i, uid in enumerate(uids):
            task = client.get_task(uid)
            assert task.status is TaskStatus.done
            assert task.result == i + 1


def test_a_burst_ends_though_the_lanes_empty_claims_always_overlap(embedded_url, namespace) -> None:
    """With slow claims (a large queue on a slow server), one lane's empty claim is always
    answered while another lane's is under way: the burst must still end once a claim sent
    after the last task started or ended comes back empty, with nothing held."""
    config = WorkerConfig(namespace=namespace, worker_id="burst-test", concurrency=2, burst=True)
    with EventixClient(embedded_url) as client:
        supervisor = Supervisor(client, TaskRegistry(), config)
        first = supervisor.reserve()
        second = supervisor.reserve()  # both lanes' claims under way
        assert first is not None
        assert second is not None
        assert supervisor.unreserve(first)  # empty, nothing held, nothing started since: idle
        third = supervisor.reserve()  # the first lane claims again while the second's is out
        assert supervisor.unreserve(second)
        assert supervisor.unreserve(third)
