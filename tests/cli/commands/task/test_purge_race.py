"""Purge against a worker claiming a listed task between the listing and the delete.

The claim is made by a second client at each point where the purge talks to the server
(after any read, before any write), against both servers: whatever the interleaving, a task
that a worker claimed is never deleted.
"""

from __future__ import annotations

import contextlib

import pytest

from eventix_cli.cli.bulk import Skip
from eventix_cli.cli.commands.task.purge import purge_one
from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import TaskNotFound
from eventix_cli.core.task import Task, TaskStatus
from eventix_cli.core.view import TaskView

MOMENTS = ("after get_task", "before put_task", "after put_task", "before delete_task")


class RacingClient(EventixClient):
    """An EventixClient during whose calls a worker claims, once, at a chosen moment."""

    def __init__(self, url: str, namespace: str, moment: str) -> None:
        super().__init__(url, retries=0)
        self.url = url
        self.namespace = namespace
        self.moment = moment
        self.claimed: list[TaskView] = []
        self.moments: list[str] = []

    def _at(self, moment: str) -> None:
        self.moments.append(moment)
        if moment == self.moment and not self.claimed:
            with EventixClient(self.url, retries=0) as worker:
                task = worker.next_scheduled("racing-worker", self.namespace)
            self.claimed.append(task)

    def get_task(self, uid: str) -> TaskView:
        task = super().get_task(uid)
        self._at("after get_task")
        return task

    def put_task(self, document: dict) -> TaskView:
        self._at("before put_task")
        stored = super().put_task(document)
        self._at("after put_task")
        return stored

    def delete_task(self, uid: str) -> None:
        self._at("before delete_task")
        super().delete_task(uid)


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_task_claimed_between_listing_and_delete_is_never_purged(server, namespace, moment) -> None:
    with EventixClient(server.url, retries=0) as setup:
        listed = setup.post_task(
            Task(task="job", namespace=namespace).to_wire()
        ).to_wire()  # what the listing saw
    racing = RacingClient(server.url, namespace, moment)
    with racing, contextlib.suppress(Skip):  # skipped or not, what matters is the stored state
        purge_one(racing, listed)
    with EventixClient(server.url, retries=0) as check:
        claimed = racing.claimed[0] if racing.claimed else None
        if claimed is not None:  # the worker got it: it must still be there, running
            assert check.get_task(listed["uid"]).status == TaskStatus.processing, racing.moments
            assert check.get_task(listed["uid"]).worker_id == "racing-worker"
        else:  # the purge got there first: gone, and no worker runs it
            with pytest.raises(TaskNotFound):
                check.get_task(listed["uid"])


def test_a_pending_task_is_purged_with_two_requests(server, namespace) -> None:
    """The reservation costs no extra request: a pending task takes one write and one delete."""
    with EventixClient(server.url, retries=0) as setup:
        listed = setup.post_task(
            Task(task="job", namespace=namespace, status=TaskStatus.retry).to_wire()
        ).to_wire()
    racing = RacingClient(server.url, namespace, moment="never")
    with racing:
        purge_one(racing, listed)
    assert racing.moments == ["before put_task", "after put_task", "before delete_task"]
    with EventixClient(server.url, retries=0) as check, pytest.raises(TaskNotFound):
        check.get_task(listed["uid"])
