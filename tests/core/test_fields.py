"""The field table is the model: same fields, order, kinds and defaults."""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any

import pytest
from freezegun import freeze_time

from eventix_cli.core.fields import (
    LINE_FIELDS,
    NOW,
    OUTCOME_FIELDS,
    REQUIRED,
    TASK_FIELDS,
    TIME_FIELDS,
    Kind,
    new_task_document,
)
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task

#: the model's type of each kind, without pydantic's validators
_TYPES: dict[Kind, Any] = {
    Kind.STR: str,
    Kind.OPT_STR: str | None,
    Kind.INT: int,
    Kind.OPT_INT: int | None,
    Kind.BOOL: bool,
    Kind.TIME: dt.datetime,
    Kind.OPT_TIME: dt.datetime | None,
    Kind.LIST: list[Any],
    Kind.DICT: dict[str, Any],
    Kind.ANY: Any,
    Kind.STATUS: TaskStatus,
}


def test_the_models_fields_have_the_tables_order_and_kinds() -> None:
    assert list(Task.model_fields) == list(TASK_FIELDS)
    hints = typing.get_type_hints(Task)
    for name, field in TASK_FIELDS.items():
        assert hints[name] == _TYPES[field.kind], name


@freeze_time("2026-11-30 18:01:02.345678")
def test_the_models_defaults_are_the_tables() -> None:
    task = Task(task="t")
    now = dt.datetime(2026, 11, 30, 18, 1, 2, 345678, tzinfo=dt.UTC)
    for name, field in TASK_FIELDS.items():
        value = getattr(task, name)
        if name == "uid":
            assert len(value) == 32
            assert int(value, 16) >= 0
        elif field.default is NOW:
            assert value == now, name
        elif field.default is REQUIRED:
            assert value == "t"
        elif field.factory is not None:
            assert value == field.factory(), name
        else:
            assert value == field.default, name
            assert type(value) is type(field.default), name


def test_a_required_field_is_required_by_the_model() -> None:
    required = [name for name, field in TASK_FIELDS.items() if field.default is REQUIRED]
    assert required == [name for name, info in Task.model_fields.items() if info.is_required()]


@freeze_time("2026-11-30 18:01:02")
def test_a_new_document_without_fields_has_the_models_defaults() -> None:
    doc = new_task_document({"task": "t"})
    assert doc == Task(task="t", uid=doc["uid"]).to_wire()
    assert doc["status"] == "scheduled"
    assert type(doc["status"]) is str


def test_the_time_fields_are_the_models_datetimes() -> None:
    datetimes = [
        name
        for name, t in typing.get_type_hints(Task).items()
        if dt.datetime in typing.get_args(t) or t is dt.datetime
    ]
    assert list(TIME_FIELDS) == datetimes


@pytest.mark.parametrize("group", [OUTCOME_FIELDS, LINE_FIELDS])
def test_named_groups_are_fields_of_the_table(group) -> None:
    assert set(group) <= set(TASK_FIELDS)
    assert len(set(group)) == len(group)
