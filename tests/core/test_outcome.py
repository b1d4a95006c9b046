"""Outcome rules of a finished task, under a frozen clock (upstream's worker semantics)."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from eventix_cli.core.fields import OUTCOME_FIELDS, TASK_FIELDS
from eventix_cli.core.outcome import (
    apply_cancel,
    apply_failure,
    apply_release,
    apply_success,
    error_result,
    not_registered,
)
from eventix_cli.core.task import Task, TaskStatus

T0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)


def _claimed(**fields) -> Task:
    return Task(task="t", status=TaskStatus.processing, worker_id="w1", worker_expires=T0, **fields)


@freeze_time(T0)
def test_success_stores_result_and_expiry() -> None:
    task = _claimed()
    apply_success(task, {"rows": 3})
    assert task.status == TaskStatus.done
    assert task.result == {"rows": 3}
    assert task.expires == T0 + dt.timedelta(seconds=604800)
    assert task.worker_expires is None


@freeze_time(T0)
def test_success_without_store_expires_now() -> None:
    task = _claimed(store_result=False)
    apply_success(task, 42)
    assert task.result is None
    assert task.expires == T0


def test_retry_backoff_doubles_and_caps_then_error() -> None:
    task = _claimed(max_retries=2, error_eta_inc=30, error_eta_max=100, error_expires=3600)
    with freeze_time(T0):
        apply_failure(task, error_result(ValueError("x")))
    assert task.status == TaskStatus.retry
    assert task.max_retries == 1
    assert task.eta == T0 + dt.timedelta(seconds=30)
    assert task.error_eta_inc == 60
    assert task.worker_id is None
    assert task.worker_expires is None
    with freeze_time(T0 + dt.timedelta(minutes=1)):
        apply_failure(task, error_result(ValueError("x")))
    assert task.max_retries == 0
    assert task.eta == T0 + dt.timedelta(minutes=1, seconds=60)
    assert task.error_eta_inc == 100  # capped at error_eta_max
    with freeze_time(T0 + dt.timedelta(minutes=5)):
        apply_failure(task, error_result(ValueError("last")))
    assert task.status == TaskStatus.error
    assert task.expires == T0 + dt.timedelta(minutes=5, seconds=3600)
    assert task.result["error_message"] == "last"


def test_no_retry_is_error_at_once() -> None:
    task = _claimed(retry=False)
    apply_failure(task, error_result(RuntimeError("boom")))
    assert task.status == TaskStatus.error
    assert task.expires is None  # error_expires None: kept forever
    assert task.worker_id == "w1"  # upstream keeps the worker on an error


def test_error_result_shape() -> None:
    try:
        raise KeyError("k")
    except KeyError as exc:
        result = error_result(exc)
    assert result["error_class"] == "KeyError"
    assert result["error_message"] == "'k'"
    assert result["error_status_code"] == 500
    assert isinstance(result["error_traceback"], list)
    assert "raise KeyError" in "".join(result["error_traceback"])
    assert not_registered("x")["error_class"] == "TaskNotRegistered"


def test_upstream_web_exceptions_keep_their_body() -> None:
    from eventix.exceptions import TaskNotRegistered

    result = error_result(TaskNotRegistered(task="gone"))
    assert result["error_class"] == "TaskNotRegistered"
    assert result["error_status_code"] == 404


def test_release() -> None:
    task = _claimed()
    apply_release(task)
    assert (task.status, task.worker_id, task.worker_expires) == (TaskStatus.scheduled, None, None)


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("no")


class _BrokenUpstream(Exception):
    status_code = 500

    def dict(self) -> dict:
        raise RuntimeError("broken")


def test_error_result_never_raises() -> None:
    try:
        raise _Unprintable()
    except _Unprintable as exc:
        body = error_result(exc)
    assert body["error_class"] == "_Unprintable"
    assert body["error_message"] == "<str() of _Unprintable failed: ValueError>"
    assert body["error_traceback"]
    broken = error_result(_BrokenUpstream("x"))
    assert (broken["error_class"], broken["error_message"]) == ("_BrokenUpstream", "x")
    assert error_result(KeyboardInterrupt())["error_class"] == "KeyboardInterrupt"


@freeze_time(T0)
def test_cancel_ends_a_running_task_without_retry() -> None:
    task = _claimed(retry=True, max_retries=None, error_expires=60)
    apply_cancel(task, by="ops")
    assert (task.status, task.worker_id, task.worker_expires) == (TaskStatus.error, None, None)
    assert task.error.error_class == "TaskCancelled"
    assert task.error.error_payload == {"worker_id": "w1", "cancelled_by": "ops"}
    assert task.expires == T0 + dt.timedelta(seconds=60)


@freeze_time(T0)
@pytest.mark.parametrize(
    "apply",
    [
        lambda task: apply_success(task, {"rows": 3}),
        lambda task: apply_failure(task, not_registered("t")),
        apply_release,
        lambda task: apply_cancel(task, by="ops"),
    ],
    ids=["success", "failure", "release", "cancel"],
)
@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"max_retries": 2, "error_expires": 60},
        {"retry": False, "error_expires": 60, "store_result": False},
    ],
)
def test_an_outcome_changes_only_the_outcome_fields(apply, fields) -> None:
    """The write-back carries OUTCOME_FIELDS onto a fresh copy: a change elsewhere would be lost."""
    task = _claimed(eta=T0 - dt.timedelta(hours=1), **fields)
    before = task.model_dump()
    apply(task)
    after = task.model_dump()
    changed = {name for name in TASK_FIELDS if after[name] != before[name]}
    assert changed
    assert changed <= set(OUTCOME_FIELDS)
