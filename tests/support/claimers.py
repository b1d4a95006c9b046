"""A claim-and-complete loop run in separate processes by the concurrency tests."""

from __future__ import annotations

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import EventixCliError
from eventix_cli.core.task import TaskStatus


def claim_until_empty(url: str, namespace: str, worker_id: str) -> list[str]:
    """Claim due tasks and mark them done until the namespace has nothing due; the uids claimed.

    A failure is raised as a plain RuntimeError: the CLI's errors take keyword arguments, which
    a process pool cannot unpickle (its result thread would die and the pool hang).
    """
    claimed: list[str] = []
    with EventixClient(url, retries=3) as client:
        while True:
            try:
                task = client.next_scheduled(worker_id, namespace)
                if task is None:
                    return claimed
                claimed.append(task.uid)
                task = task.to_task()
                task.status = TaskStatus.done
                task.worker_id = None
                task.worker_expires = None
                client.put_task(task.to_wire())
            except EventixCliError as exc:
                raise RuntimeError(
                    f"{worker_id} after {len(claimed)} claims: {exc.error_class}: {exc}"
                ) from None
