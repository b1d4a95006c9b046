"""The wire format: what the client refuses to send, and how it reads what a server stores."""

from __future__ import annotations

import json

import httpx
import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import InvalidResponse, ServerError, UnsendableValue, UsageError
from eventix_cli.core.jsonrules import INT64_MAX, INT64_MIN, encode_json
from eventix_cli.core.task import Task

#: deeper than the embedded server stores (its one limit, about 100) and than pydantic's own
#: JSON parser reads (200): the client must read any task a server can hold
DEPTH = 230


def _deep(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"d": value}
    return value


def _client(body: bytes | object, content_type: str = "application/json", status: int = 200) -> EventixClient:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers={"content-type": content_type})

    return EventixClient("http://eventix.test", transport=httpx.MockTransport(handler), retries=0)


def test_a_deeply_nested_task_is_read_shown_and_written_back() -> None:
    doc = Task(uid="deep", task="t", kwargs={"k": _deep(DEPTH)}).to_wire()
    page = {"data": {"deep": doc}, "ids": ["deep"], "max_results": 1}
    with _client(doc) as client:
        task = client.get_task("deep")
    assert task.kwargs == {"k": _deep(DEPTH)}
    assert json.loads(encode_json(task.to_wire()))["kwargs"]["k"] == _deep(DEPTH)  # and back out
    with _client(page) as client:
        [listed] = client.by_status(limit=1).tasks
        [dumped] = list(client.iter_documents())
    assert listed.kwargs == task.kwargs
    assert dumped["kwargs"] == task.kwargs


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.health(),
        lambda c: c.version(),
        lambda c: c.namespaces(),
        lambda c: c.get_task("u1"),
        lambda c: c.post_task(Task(task="t").to_wire()),
        lambda c: c.by_status(limit=1),
        lambda c: list(c.iter_documents()),
    ],
)
def test_an_html_page_is_an_invalid_response(call) -> None:
    with (
        _client(b"<html><body>Welcome to nginx!</body></html>", "text/html") as client,
        pytest.raises(InvalidResponse) as caught,
    ):
        call(client)
    assert isinstance(caught.value, ServerError)  # a worker backs off from it as from any server error
    assert "Welcome to nginx" in caught.value.message
    assert caught.value.exit_code == 5


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"uid": "u1"}, "task: Field required"),  # JSON, but not a task
        ([1, 2], "Input should be an object"),
        (b'{"uid": "u1", "task": "t"', "not JSON"),  # truncated
        (b'{"task": "\xff"}', "not JSON"),  # not UTF-8
    ],
)
def test_a_malformed_document_is_an_invalid_response(body, where) -> None:
    with _client(body) as client, pytest.raises(InvalidResponse, match=where):
        client.get_task("u1")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"kwargs": {"x": [1, float("nan")]}}, "kwargs.x[1] = nan: NaN and Infinity"),
        ({"args": [float("-inf")]}, "args[0] = -inf"),
        ({"limit": INT64_MAX + 1}, "limit = 9223372036854775808: integers must fit in 64 bits"),
        ({"a": {"b": INT64_MIN - 1}}, "a.b = -9223372036854775809"),
        ({"task": "x\udcff"}, "task = 'x\\udcff': not valid Unicode text"),
        ({"k\ud800": 1}, "the key 'k\\ud800'"),
    ],
)
def test_values_no_server_can_store_are_refused(value, message) -> None:
    with pytest.raises(UnsendableValue) as caught:
        encode_json(value)
    assert message in caught.value.message
    assert caught.value.exit_code == 2


def test_the_64_bit_bounds_themselves_are_sent() -> None:
    # a string of 19+ digits is not a number: only integers are checked
    body = {"a": INT64_MAX, "b": INT64_MIN, "c": "9" * 40, "d": 1.5e300}
    assert json.loads(encode_json(body)) == body


def test_nothing_is_sent_for_unsendable_values() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    with EventixClient("http://eventix.test", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(UnsendableValue):
            client.by_status(limit=2**64)
        with pytest.raises(UsageError, match="must not be empty"):
            client.get_task("")
        with pytest.raises(UsageError, match="too long"):
            client.delete_task("x" * 5000)
        with pytest.raises(UnsendableValue, match="not valid Unicode"):
            client.get_task("bad\udcff")
    assert sent == []


def test_a_task_id_with_a_slash_is_not_sent() -> None:
    # /task/{uid} is one path segment: the servers decode %2F before routing, so no such id
    # reaches a task; refused as every unsendable value is, before anything goes out
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    message = "task id 'x/y' cannot name a task: it holds '/'"
    with EventixClient("http://eventix.test", transport=httpx.MockTransport(handler)) as client:
        for call in (client.get_task, client.delete_task, client.reschedule):
            with pytest.raises(UnsendableValue, match=message):
                call("x/y")
        with pytest.raises(UnsendableValue, match=message):
            client.put_task(Task(uid="x/y", task="t").to_wire())
        with pytest.raises(UnsendableValue, match="task id '/' cannot name a task"):
            client.get_task("/")
    assert sent == []
