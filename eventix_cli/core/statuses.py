"""Task statuses, importable without pydantic (commands that only filter by status stay light)."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    scheduled = "scheduled"
    processing = "processing"
    done = "done"
    error = "error"
    retry = "retry"


#: Statuses a task may be claimed, rescheduled by unique key or cancelled from.
PENDING_STATUSES: tuple[TaskStatus, ...] = (TaskStatus.scheduled, TaskStatus.retry)
#: Statuses a worker has finished with.
FINAL_STATUSES: tuple[TaskStatus, ...] = (TaskStatus.done, TaskStatus.error)
