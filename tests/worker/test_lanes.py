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
