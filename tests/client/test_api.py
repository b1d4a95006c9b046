"""EventixClient against httpx.MockTransport: headers, retries, error mapping, paging, logging."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from eventix_cli import __version__
from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import (
    InvalidResponse,
    ServerError,
    ServerTimeout,
    ServerUnreachable,
    TaskNotFound,
    UsageError,
    ValidationFailed,
)
from eventix_cli.core.task import Task
from eventix_cli.core.view import TaskView
from eventix_cli.logging import setup_logging

TOKEN = "s3cr3t-token-value-123"


def _task_doc(uid: str = "u1", **fields) -> dict:
    return Task(uid=uid, task="demo", **fields).to_wire()


class Recorder:
    """A MockTransport handler that answers from a script and records every request."""

    def __init__(self, *responses) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item


def _client(handler, **kwargs) -> EventixClient:
    kwargs.setdefault("sleep", lambda _s: None)
    return EventixClient("http://eventix.test", transport=httpx.MockTransport(handler), **kwargs)


def test_token_and_user_agent_headers() -> None:
    rec = Recorder(httpx.Response(200, json={"status": "healthy"}))
    with _client(rec, token=TOKEN) as client:
        client.health()
    request = rec.requests[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"] == f"eventix-cli/{__version__}"
    assert request.url == "http://eventix.test/healthz"


def test_no_token_no_header() -> None:
    rec = Recorder(httpx.Response(200, json={"status": "healthy"}))
    with _client(rec) as client:
        client.health()
    assert "authorization" not in rec.requests[0].headers


def test_token_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    rec = Recorder(httpx.Response(200, json=_task_doc()))
    handler = setup_logging("DEBUG")
    try:
        with caplog.at_level(logging.DEBUG), _client(rec, token=TOKEN) as client:
            client.get_task("u1")
    finally:
        logging.getLogger().removeHandler(handler)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET http://eventix.test/task/u1 -> 200" in text
    assert "Bearer ***" in text
    assert TOKEN not in text


def test_idempotent_requests_retry_connection_failures() -> None:
    delays: list[float] = []
    rec = Recorder(
        httpx.ConnectError("refused"),
        httpx.ConnectError("refused"),
        httpx.Response(200, json=_task_doc()),
    )
    with _client(rec, retries=3, backoff=0.1, backoff_max=1.0, sleep=delays.append) as client:
        assert client.get_task("u1").uid == "u1"
    assert len(rec.requests) == 3
    assert len(delays) == 2
    assert 0.05 <= delays[0] <= 0.1
    assert 0.1 <= delays[1] <= 0.2


def test_backoff_is_capped() -> None:
    delays: list[float] = []
    rec = Recorder(httpx.ConnectError("refused"))
    with (
        _client(rec, retries=6, backoff=1.0, backoff_max=2.0, sleep=delays.append) as client,
        pytest.raises(ServerUnreachable),
    ):
        client.get_task("u1")
    assert len(rec.requests) == 7
    assert max(delays) <= 2.0


def test_idempotent_requests_retry_gateway_errors() -> None:
    rec = Recorder(httpx.Response(503, text="busy"), httpx.Response(200, json={"status": "healthy"}))
    with _client(rec) as client:
        assert client.health()["status"] == "healthy"
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.post_task(Task(task="x").to_wire()),
        lambda c: c.next_scheduled("w", "default"),
        lambda c: c.reschedule("u1"),
        lambda c: c.delete_by_unique_key("k"),
    ],
    ids=["post_task", "next_scheduled", "reschedule", "delete_by_unique_key"],
)
def test_non_idempotent_requests_never_retry(call) -> None:
    rec = Recorder(httpx.ConnectError("refused"), httpx.Response(200, json=_task_doc()))
    with _client(rec, retries=5) as client, pytest.raises(ServerUnreachable):
        call(client)
    assert len(rec.requests) == 1


def test_non_idempotent_no_retry_on_503() -> None:
    rec = Recorder(httpx.Response(503, text=""), httpx.Response(200, json=_task_doc()))
    with _client(rec) as client, pytest.raises(ServerError):
        client.post_task(Task(task="x").to_wire())
    assert len(rec.requests) == 1


def test_timeout_is_server_timeout() -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))
    with _client(rec, retries=0) as client, pytest.raises(ServerTimeout) as info:
        client.health()
    assert info.value.exit_code == 3


def test_error_mapping_through_client() -> None:
    body = {"error_class": "NotFound", "error_message": "Entry with uid 'u9' not found.", "error_payload": {}}
    rec = Recorder(httpx.Response(404, json=body))
    with _client(rec) as client, pytest.raises(TaskNotFound):
        client.get_task("u9")
    rec = Recorder(httpx.Response(422, json={"detail": [{"loc": ["body", "task"], "msg": "Field required"}]}))
    with _client(rec) as client, pytest.raises(ValidationFailed):
        client.post_task(Task(task="x").to_wire())


def test_next_scheduled_204_is_none() -> None:
    rec = Recorder(httpx.Response(204))
    with _client(rec) as client:
        assert client.next_scheduled("w1", "ns") is None
    assert dict(rec.requests[0].url.params) == {"worker_id": "w1", "namespace": "ns"}


def test_path_segments_are_quoted() -> None:
    rec = Recorder(httpx.Response(200, json=_task_doc()))
    with _client(rec) as client:
        client.get_by_unique_key("ns 1", "report:2024/01", stati=["done", "error"])
    url = rec.requests[0].url
    assert url.raw_path.startswith(b"/task/by_unique_key/ns%201/report%3A2024%2F01?")
    assert url.params.get_list("stati") == ["done", "error"]


def test_by_status_body_only_has_given_keys() -> None:
    rec = Recorder(httpx.Response(200, json={"data": {}, "ids": [], "max_results": 0}))
    with _client(rec) as client:
        client.by_status(namespace="ns", limit=5, filter={"task": "x"})
    assert json.loads(rec.requests[0].content) == {"namespace": "ns", "limit": 5, "filter": {"task": "x"}}


def test_iter_tasks_uses_keyset_paging() -> None:
    uids = [f"{i:04d}" for i in range(7)]

    def page(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["sort"] == "_id"
        assert "skip" not in body
        gt = body.get("filter", {}).get("_id", {}).get("$gt", "")
        chunk = [u for u in uids if u > gt][: body["limit"]]
        return httpx.Response(
            200, json={"data": {u: _task_doc(u) for u in chunk}, "ids": chunk, "max_results": len(uids)}
        )

    rec = Recorder(page)
    with _client(rec) as client:
        seen = [t.uid for t in client.iter_tasks(namespace="ns", page_size=3)]
    assert seen == uids
    assert len(rec.requests) == 3  # 3 + 3 + 1: a short page ends the walk
    filters = [json.loads(r.content).get("filter") for r in rec.requests]
    assert filters == [None, {"_id": {"$gt": "0002"}}, {"_id": {"$gt": "0005"}}]


def test_invalid_ca_bundle_is_usage_error(tmp_path) -> None:
    with pytest.raises(UsageError):
        EventixClient("https://x.test", verify=str(tmp_path / "missing.pem"))


def test_unreachable_real_socket() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        EventixClient(f"http://127.0.0.1:{port}", retries=0) as client,
        pytest.raises(ServerUnreachable) as info,
    ):
        client.health()
    assert f"127.0.0.1:{port}" in info.value.message


def _page_body(*uids: str, **extra) -> bytes:
    docs = {u: Task(uid=u, task="t", namespace="n").model_dump(mode="json") | extra for u in uids}
    return json.dumps({"data": docs, "ids": list(uids), "max_results": len(uids)}).encode()


@pytest.mark.parametrize(
    ("method", "models"), [("iter_tasks", False), ("iter_tasks", True), ("iter_documents", False)]
)
def test_paging_stops_when_a_server_ignores_the_keyset_filter(method: str, models: bool) -> None:
    # A server that answers every page with the same full page (it ignores ``_id > last``)
    # must not make ``--all`` listings, dumps and bulk commands loop forever.
    from eventix_cli.core.errors import InvalidResponse
    from tests.support.hostile_servers import scripted_server

    with (
        scripted_server(200, _page_body("a1", "a2")) as url,
        EventixClient(url, retries=0, models=models) as client,
    ):
        pages = getattr(client, method)(page_size=2)
        seen = [next(pages), next(pages)]
        with pytest.raises(InvalidResponse, match="did not move past uid a2"):
            next(pages)  # the same page again: before this change, a2 and a1 came back forever
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("method", "models"), [("iter_tasks", False), ("iter_tasks", True), ("iter_documents", False)]
)
def test_listed_documents_must_carry_their_own_uid(method: str, models: bool) -> None:
    from eventix_cli.core.errors import InvalidResponse
    from tests.support.hostile_servers import scripted_server

    body = json.dumps({"data": {"u1": {"task": "t"}}, "ids": ["u1"], "max_results": 1}).encode()
    with (
        scripted_server(200, body) as url,
        EventixClient(url, retries=0, models=models) as client,
        pytest.raises(InvalidResponse, match="u1"),
    ):
        list(getattr(client, method)())


TASK_CALLS = [
    lambda c: c.get_task("u1"),
    lambda c: c.post_task(_task_doc()),
    lambda c: c.put_task(_task_doc()),
    lambda c: c.reschedule("u1"),
    lambda c: c.get_by_unique_key("default", "k"),
    lambda c: c.next_scheduled("w", "default"),
]


@pytest.mark.parametrize("models", [False, True])
@pytest.mark.parametrize("changes", [{}, {"priority": "3", "eta": "2026-11-30T19:00:00+01:00"}])
@pytest.mark.parametrize("call", TASK_CALLS)
def test_every_task_method_returns_a_view_that_reads_like_the_model(call, changes, models) -> None:
    # one return type whatever the document's form and however the client reads it
    doc = _task_doc(kwargs={"a": 1}) | changes
    with _client(Recorder(httpx.Response(200, json=doc)), models=models) as client:
        task = call(client)
    model = Task.model_validate(doc)
    assert type(task) is TaskView
    assert task.to_task() == model
    assert task.to_wire() == model.to_wire()
    assert (task.priority, task.eta, task.kwargs) == (model.priority, model.eta, model.kwargs)


@pytest.mark.parametrize("models", [False, True])
def test_a_task_the_model_refuses_is_an_invalid_response(models: bool) -> None:
    doc = _task_doc() | {"priority": "high"}
    with (
        _client(Recorder(httpx.Response(200, json=doc)), models=models) as client,
        pytest.raises(InvalidResponse, match="priority"),
    ):
        client.get_task("u1")


def test_count_asks_for_one_task_in_uid_order() -> None:
    """A count reads max_results of a one-item page in uid order, which every server reads
    from an index (unsorted, the embedded server sorts every match by insertion order)."""
    rec = Recorder(httpx.Response(200, json={"data": {}, "ids": [], "max_results": 42}))
    with _client(rec) as client:
        assert client.count(namespace="ns", status="done") == 42
    assert json.loads(rec.requests[0].content) == {
        "namespace": "ns",
        "status": "done",
        "limit": 1,
        "sort": "_id",
    }
