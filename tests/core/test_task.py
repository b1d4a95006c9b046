"""The wire models: lossless round trips, UTC datetimes, logical vs stored priority."""

from __future__ import annotations

import datetime as dt
import json

from freezegun import freeze_time

from eventix_cli.core.fields import stored_priority
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Page, Task
from eventix_cli.core.times import as_utc

UPSTREAM_TASK = {
    "uid": "985da09ed8d3410583d8991a84264bf3",
    "revision": "2-e1926fdd969224bbecec274fe583096c",
    "version": 1,
    "created_time": "2026-11-28T00:41:28.615000Z",
    "updated_time": "2026-11-28T00:41:28.658234Z",
    "unique_key": "k1",
    "eta": "2026-11-28T00:41:28.615000Z",
    "scheduled": "2026-11-28T00:41:28.615000Z",
    "status": "processing",
    "priority": -3,
    "namespace": "default",
    "task": "foo",
    "args": [1, {"a": [1, 2]}],
    "kwargs": {"x": None},
    "worker_id": "w",
    "worker_expires": "2026-11-28T00:46:28.658205Z",
    "retry": True,
    "max_retries": None,
    "error_eta_inc": 15,
    "error_eta_max": 300,
    "store_result": True,
    "result": None,
    "error_expires": None,
    "result_expires": 604800,
    "expires": None,
    "operator": "unknown",
}


def test_upstream_task_roundtrips_exactly() -> None:
    task = Task.model_validate_json(json.dumps(UPSTREAM_TASK))
    assert task.to_wire() == UPSTREAM_TASK


def test_unknown_future_fields_survive() -> None:
    doc = UPSTREAM_TASK | {"tenant": "acme", "labels": {"team": "billing"}}
    task = Task.model_validate(doc)
    assert task.to_wire() == doc
    assert json.loads(task.model_dump_json()) == doc


def test_datetimes_are_aware_utc() -> None:
    task = Task.model_validate(UPSTREAM_TASK | {"eta": "2026-01-01T12:00:00"})
    assert task.eta == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    task = Task.model_validate(UPSTREAM_TASK | {"eta": "2026-01-01T13:00:00+01:00"})
    assert task.eta == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    assert task.to_wire()["eta"] == "2026-01-01T12:00:00Z"
    assert as_utc(dt.datetime(2026, 1, 1)).tzinfo is dt.UTC


@freeze_time("2026-03-01 10:00:00")
def test_defaults_use_now() -> None:
    task = Task(task="x")
    now = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    assert task.eta == task.created_time == now
    assert task.status == TaskStatus.scheduled
    assert len(task.uid) == 32


def test_priority_logical_vs_stored() -> None:
    task = Task(task="x", priority=stored_priority(7))
    assert task.priority == -7
    assert task.logical_priority == 7
    assert Task.model_validate(UPSTREAM_TASK).logical_priority == 3


def test_error_result() -> None:
    result = {
        "error_class": "ValueError",
        "error_message": "bad",
        "error_status_code": 500,
        "error_traceback": ["Traceback\n", "ValueError: bad\n"],
        "error_payload": {},
    }
    task = Task.model_validate(UPSTREAM_TASK | {"status": "error", "result": result})
    assert task.error is not None
    assert task.error.error_class == "ValueError"
    assert task.error.traceback_text == "Traceback\nValueError: bad\n"
    assert Task.model_validate(UPSTREAM_TASK | {"result": 42}).error is None


def test_page_orders_by_ids() -> None:
    a = UPSTREAM_TASK | {"uid": "a"}
    b = UPSTREAM_TASK | {"uid": "b"}
    page = Page.model_validate(
        {
            "data": {"a": a, "b": b},
            "ids": ["b", "a"],
            "skip": None,
            "limit": 2,
            "max_results": 9,
            "sort": None,
        }
    )
    assert [t.uid for t in page.tasks] == ["b", "a"]
    assert page.max_results == 9
