"""Tasks read without pydantic (taskview) read exactly as the Task model reads them."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from eventix_cli.core.fields import TASK_FIELDS
from eventix_cli.core.task import Task
from eventix_cli.core.view import TaskView, view_of

UTC = dt.UTC


def _doc(**changes: object) -> dict:
    task = Task(
        task="send",
        namespace="billing",
        priority=-3,
        unique_key="k",
        eta=dt.datetime(2026, 11, 30, 18, 0, 0, tzinfo=UTC),
        created_time=dt.datetime(2026, 11, 30, 17, 0, 0, 650000, tzinfo=UTC),
        max_retries=4,
    )
    doc = task.to_wire()
    doc.update(changes)
    return doc


def test_the_fields_are_the_models_in_its_order() -> None:
    assert list(TASK_FIELDS) == list(Task.model_fields)


@pytest.mark.parametrize(
    "doc",
    [
        _doc(),
        _doc(extra_field={"a": [1, 2]}, status="retry", eta=None),
        _doc(
            status="error",
            result={"error_class": "ValueError", "error_message": "bad", "error_traceback": ["a\n", "b"]},
        ),
        _doc(result={"error_class": "KeyError", "error_traceback": "tb text"}),
        _doc(result={"error_class": "E", "error_status_code": 422, "error_payload": {"field": "x"}}),
    ],
)
def test_a_view_reads_like_the_model(doc) -> None:
    view = view_of(dict(doc))
    model = Task.model_validate(doc)
    assert isinstance(view, TaskView)
    assert view.to_wire() == model.to_wire()
    assert list(view.to_wire()) == list(model.to_wire())
    for name in (
        "uid",
        "namespace",
        "task",
        "status",
        "priority",
        "eta",
        "created_time",
        "unique_key",
        "retry",
        "max_retries",
        "result",
        "logical_priority",
    ):
        assert getattr(view, name) == getattr(model, name), name
    assert view.status is model.status
    if model.error is None:
        assert view.error is None
    else:
        for name in (
            "error_class",
            "error_message",
            "error_status_code",
            "error_traceback",
            "error_payload",
            "traceback_text",
        ):
            assert getattr(view.error, name) == getattr(model.error, name), name
    assert view.to_task() == model
    assert view.to_task() is not view.to_task()  # a model of its own for each caller to edit


def test_a_view_of_a_model_reads_the_model_and_hands_it_over() -> None:
    model = Task.model_validate(_doc(priority="3", result={"error_class": "E", "error_status_code": "7"}))
    view = TaskView.of_model(model)
    assert view.to_wire() == model.to_wire()
    for name in ("uid", "status", "priority", "eta", "logical_priority", "result"):
        assert getattr(view, name) == getattr(model, name), name
    assert view.error == model.error
    assert view.to_task() is model


@pytest.mark.parametrize(
    "changes",
    [
        {"priority": "3"},  # the model coerces it
        {"eta": "2026-11-30T19:00:00+01:00"},  # the model normalises it to UTC
        {"created_time": "2026-11-30T18:00:00"},  # naive
        {"retry": 1},
        {"status": "bogus"},
        {"kwargs": []},
    ],
)
def test_a_document_not_in_canonical_form_goes_through_the_model(changes) -> None:
    assert view_of(_doc(**changes)) is None


def test_a_document_missing_a_field_goes_through_the_model() -> None:
    doc = _doc()
    del doc["operator"]
    assert view_of(doc) is None


def test_an_error_of_other_types_is_read_by_the_model() -> None:
    doc = _doc(result={"error_class": "E", "error_traceback": [1, 2]})
    assert view_of(doc) is None
    with pytest.raises(ValidationError, match="error_traceback"):
        Task.model_validate(doc).error  # noqa: B018  (the model refuses it)


@pytest.mark.parametrize(
    "fields",
    [
        {
            "task": "t",
            "namespace": "ns",
            "args": [],
            "kwargs": {},
            "priority": 0,
            "unique_key": None,
            "retry": True,
            "max_retries": None,
            "operator": "eventix-cli:me",
        },
        {
            "task": "t",
            "namespace": "ns",
            "args": [1, {"a": None}],
            "kwargs": {"x": [1.5, "y"]},
            "priority": -5,
            "unique_key": "k:1",
            "retry": False,
            "max_retries": 3,
            "operator": "eventix-cli:me",
            "eta": dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "error_eta_inc": 30,
        },
        {"task": "t", "namespace": "ns", "eta": dt.datetime(2026, 12, 1, 10, 0, 0, 5)},  # naive: UTC
    ],
)
def test_a_new_task_document_is_the_models(fields) -> None:
    from eventix_cli.core.fields import new_task_document

    now = dt.datetime(2026, 11, 30, 18, 1, 2, 345000, tzinfo=UTC)
    doc = new_task_document(dict(fields), now=now)
    defaults = {"uid": doc["uid"], "created_time": now, "updated_time": now, "eta": now, "scheduled": now}
    model = Task(**(defaults | fields))
    assert doc == model.to_wire()
    assert list(doc) == list(model.to_wire())
    assert isinstance(view_of(doc), TaskView)


def _client_answering(body: dict, *, models: bool = False):
    import httpx

    from eventix_cli.client.api import EventixClient

    return EventixClient(
        "http://eventix.test",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body)),
        models=models,
    )


@pytest.mark.parametrize(
    ("page_changes", "doc_changes", "viewed"),
    [
        ({}, {}, True),
        ({}, {"priority": "3"}, False),  # one task not in canonical form: the whole page by the model
        ({"skip": "0"}, {}, False),
    ],
)
def test_a_page_reads_like_the_model_page(page_changes, doc_changes, viewed) -> None:
    other = _doc(uid="b" * 32)
    doc = _doc(uid="a" * 32, **doc_changes)
    body = {
        "data": {doc["uid"]: doc, other["uid"]: other},
        "ids": [other["uid"], doc["uid"]],
        "max_results": 7,
    }
    body |= page_changes
    with _client_answering(body) as client:
        page = client.by_status(limit=2)
    with _client_answering(body, models=True) as client:
        model_page = client.by_status(limit=2)
    assert page.max_results == model_page.max_results == 7
    assert page.ids == model_page.ids
    assert [t.to_wire() for t in page.tasks] == [t.to_wire() for t in model_page.tasks]
    assert [t.to_task() for t in page.tasks] == [t.to_task() for t in model_page.tasks]
    # a view of the document builds a new model each time; one read through the model hands it over
    assert all(t.to_task() is not t.to_task() for t in page.tasks) is viewed
    assert all(t.to_task() is t.to_task() for t in model_page.tasks)


def test_a_page_the_model_refuses_is_an_invalid_response() -> None:
    from eventix_cli.core.errors import InvalidResponse

    body = {"data": {"x": {"task": 5}}, "ids": ["x"], "max_results": 1}
    with _client_answering(body) as client, pytest.raises(InvalidResponse):
        client.by_status(limit=1)
