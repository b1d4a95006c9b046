"""The write of a retry that rewrites a task (``task retry --set``, ``--edit``, ``--force``):
the document as read (the before-image), rescheduled as the server's reschedule does and
edited, written back in one revision-checked ``PUT``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eventix_cli.cli.bulk import Skip
from eventix_cli.core.edits import FieldEdit, apply_edits, rescheduled
from eventix_cli.core.errors import WrongTaskStatus
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.times import utcnow

if TYPE_CHECKING:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.view import TaskView

NOT_RETRIABLE = "only error and retry tasks can be retried (--force requeues others)"


def retried_document(
    before: dict[str, Any], edits: Sequence[FieldEdit], eta: dt.datetime | None, force: bool
) -> dict[str, Any]:
    """What a retry writes over ``before``: rescheduled as the server would, then edited."""
    status = before.get("status")
    if status == TaskStatus.scheduled.value:
        raise Skip("already scheduled")
    pending = status in (TaskStatus.error.value, TaskStatus.retry.value)
    if not (pending or force):
        raise WrongTaskStatus(
            f"status is {status}: {NOT_RETRIABLE}",
            status_code=422,
            payload={"uid": before.get("uid"), "status": status},
        )
    return apply_edits(rescheduled(before, eta or utcnow(), release_claim=not pending), edits)


def write_retry(client: EventixClient, before: dict[str, Any], after: dict[str, Any]) -> TaskView:
    """The one write of a retry that rewrites the task: ``after`` (made from ``before`` by
    :func:`retried_document`) carries the revision of ``before``, the document as read, so a
    change made since wins and this write fails (409). ``before`` is the task's before-image,
    here in one place for whatever keeps it."""
    if after.get("revision") != before.get("revision") or after.get("uid") != before.get("uid"):
        raise ValueError("a retry writes the task it read, under the revision it read")
    return client.put_task(after)
