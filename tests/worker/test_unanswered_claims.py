"""A claim the server made whose answer never arrived (the server crashed, the connection
dropped): the worker releases it once the server answers again, instead of leaving it to
wait out its lease."""

from __future__ import annotations

import threading
import time

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import ServerTimeout
from eventix_cli.core.task import Task, TaskStatus
from eventix_cli.core.view import TaskView
from eventix_cli.worker.config import WorkerConfig
from eventix_cli.worker.registry import TaskRegistry
from eventix_cli.worker.supervisor import Supervisor


class _LosesTheFirstClaimAnswer(EventixClient):
    """The server claims a task for the worker, then the answer is lost on the way back."""

    def __init__(self, url: str) -> None:
        super().__init__(url, retries=0)
        self.lost: list[str] = []

    def next_scheduled(self, worker_id: str, namespace: str) -> TaskView | None:
        claimed = super().next_scheduled(worker_id, namespace)
        if claimed is not None and not self.lost:
            self.lost.append(claimed.uid)
            raise ServerTimeout("the server went away before it answered")
        return claimed


def test_a_claim_whose_answer_was_lost_is_released_not_left_to_its_lease(embedded_url, namespace) -> None:
    with _LosesTheFirstClaimAnswer(embedded_url) as client:
        uid = client.post_task(Task(task="add", namespace=namespace, args=[1, 2]).to_wire()).uid
        registry = TaskRegistry()
        registry.register("tests.support.sample_tasks:add")
        config = WorkerConfig(
            namespace=namespace,
            worker_id="w-unanswered",
            poll_interval=0.05,
            backoff_base=0.01,
            backoff_max=0.05,
        )
        supervisor = Supervisor(client, registry, config)
        runner = threading.Thread(target=supervisor.run, daemon=True)
        runner.start()
        try:
            deadline = time.monotonic() + 20  # the lease the claim carries is 300 s
            while client.get_task(uid).status is not TaskStatus.done and time.monotonic() < deadline:
                time.sleep(0.05)
            task = client.get_task(uid)
        finally:
            supervisor.request_stop()
            runner.join(30)
    assert client.lost == [uid]
    assert (task.status, task.result) == (TaskStatus.done, 3), task
    assert supervisor.completed == 1
