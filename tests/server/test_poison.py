"""Poison documents: the embedded server takes on no way in (POST, PUT, a trigger, restore) a
task it could not take back on a later write (an integer beyond 64 bits anywhere, nesting
deeper than the write limit), so no worker is ever handed a task it cannot write back."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventix_cli.core.jsonrules import INT64_MAX, INT64_MIN, MAX_JSON_DEPTH
from eventix_cli.core.task import Task
from tests.support.servers import running_server


def nest(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = [value]
    return value


#: kwargs that break the rules: the task document around them (body 1, kwargs 2) is poison
POISON_KWARGS = {
    "int beyond 64 bits": {"n": INT64_MAX + 1},
    "negative int beyond 64 bits": {"n": INT64_MIN - 1},
    "big int deep in a list": {"n": [1, {"m": [2**70]}]},
}


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with (
        running_server("embedded", tmp_path_factory.mktemp("poison")) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client,
    ):
        yield client


def _stored(http: httpx.Client, namespace: str) -> list[dict[str, Any]]:
    page = http.put("/tasks/by_status", json={"namespace": namespace}).json()
    return [page["data"][uid] for uid in page["ids"]]


@pytest.mark.parametrize("kwargs", POISON_KWARGS.values(), ids=POISON_KWARGS.keys())
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_post_and_put_refuse_integers_beyond_64_bits(http, method, kwargs) -> None:
    namespace = f"poison-{method.lower()}"
    doc = Task(task="poison", namespace=namespace).to_wire() | {"kwargs": kwargs}
    path = "/task" if method == "POST" else f"/task/{doc['uid']}"
    r = http.request(method, path, content=json.dumps(doc), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert "64 bits" in r.text
    assert _stored(http, namespace) == []


def test_integers_at_the_64_bit_limits_are_kept(http) -> None:
    doc = Task(task="limits", namespace="poison-limits").to_wire() | {"kwargs": {"n": [INT64_MIN, INT64_MAX]}}
    r = http.post("/task", json=doc)
    assert r.status_code == 200, r.text
    assert http.put(f"/task/{doc['uid']}", json=r.json()).json()["kwargs"] == {"n": [INT64_MIN, INT64_MAX]}


TRIGGERS = textwrap.dedent(
    """\
    triggers:
      BigInt:
        event_name: big
        code: |
          def execute(self, event):
              return TEventixTask(task="big", kwargs={"n": event.payload["n"] ** 4})
      Wrap:
        event_name: deep
        code: |
          def execute(self, event):
              return TEventixTask(task="deep", kwargs={"payload": event.payload})
      Slash:
        event_name: slash
        code: |
          def execute(self, event):
              return TEventixTask(uid="a/b", task="slash")
      Fine:
        event_name: fine
        code: |
          def execute(self, event):
              return TEventixTask(task="fine", kwargs={"payload": event.payload})
    """
)


def test_a_trigger_cannot_store_a_poison_task(tmp_path: Path) -> None:
    directory = tmp_path / "triggers"
    directory.mkdir()
    (directory / "poison.yaml").write_text(TRIGGERS)
    env = {"EVENTIX_TRIGGER_CONFIG_DIRECTORY": str(directory)}
    with (
        running_server("embedded", tmp_path / "logs", env=env) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http,
    ):
        # the events themselves are fine; the tasks their triggers make are not
        big = http.post(
            "/event", json={"name": "big", "namespace": "poison-trigger", "payload": {"n": 2**62}}
        )
        # the event body is at the limit (body, payload, the lists); the task, one deeper
        payload = {"v": nest(MAX_JSON_DEPTH - 2)}
        deep = http.post("/event", json={"name": "deep", "namespace": "poison-trigger", "payload": payload})
        # a uid no /task/{uid} path reaches
        slash = http.post("/event", json={"name": "slash", "namespace": "poison-trigger"})
        assert (big.status_code, big.json()) == (200, [])
        assert (deep.status_code, deep.json()) == (200, [])
        assert (slash.status_code, slash.json()) == (200, [])
        assert _stored(http, "poison-trigger") == []
        fine = http.post("/event", json={"name": "fine", "namespace": "poison-trigger", "payload": {"v": 1}})
        assert [t["task"] for t in fine.json()] == ["fine"]
        log = server.log()
    assert "UnstorableDocument" in log
    assert "64 bits" in log
    assert "MAX_JSON_DEPTH" in log
    assert "uid 'a/b' cannot name a task" in log


@pytest.mark.parametrize(
    "poison",
    [
        '"kwargs": {"n": 18446744073709551616}',
        f'"kwargs": {{"v": {"[" * MAX_JSON_DEPTH}1{"]" * MAX_JSON_DEPTH}}}',
    ],
    ids=["int beyond 64 bits", "too deep"],
)
def test_restore_refuses_a_poison_document_before_sending_anything(
    cli, embedded_url, namespace, tmp_path, poison
) -> None:
    good = json.dumps(Task(task="good", namespace=namespace).to_wire())
    bad = '{"uid": "' + "c" * 32 + f'", "task": "bad", "namespace": "{namespace}", {poison}}}'
    src = tmp_path / "poison.jsonl"
    src.write_text(f"{good}\n{bad}\n")
    result = cli("task", "restore", str(src), "--yes", "--url", embedded_url)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {src}:2: ")
    with httpx.Client(base_url=embedded_url, trust_env=False, timeout=30) as http:
        assert _stored(http, namespace) == []


def test_a_posted_uid_is_one_the_task_routes_reach_again(http) -> None:
    namespace = "poison-slash"
    doc = {"uid": "a/b", "task": "poison", "namespace": namespace}
    posted = http.post("/task", json=doc)
    if posted.status_code >= 400:  # refused: then nothing is stored
        assert _stored(http, namespace) == []
        return
    stored = posted.json()
    path = "/task/a%2Fb"
    assert http.get(path).status_code == 200
    written = http.put(path, json={**stored, "status": "done"})
    assert written.status_code == 200, written.text
    assert http.delete(path).status_code == 200
    assert _stored(http, namespace) == []


@pytest.mark.parametrize(
    ("method", "uid"),
    [("POST", "a/b"), ("POST", "/"), ("POST", ""), ("PUT", "a/b")],
    ids=["POST a/b", "POST /", "POST empty", "PUT a/b"],
)
def test_a_uid_no_task_route_reaches_is_refused_as_any_invalid_body(http, method, uid) -> None:
    # /task/{uid} is one path segment (%2F is decoded before routing): a task stored under an
    # empty uid or one with a slash could never be shown, written back or cancelled
    namespace = f"poison-uid-{method.lower()}"
    doc = {"uid": uid, "task": "poison", "namespace": namespace}
    path = "/task" if method == "POST" else f"/task/{'d' * 32}"  # PUT: the fast path's way in
    r = http.request(method, path, json=doc)
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert (error["type"], error["loc"]) == ("value_error", ["body", "uid"])
    expected = "uid must not be empty" if uid == "" else f"uid {uid!r} cannot name a task: it holds '/'"
    assert expected in error["msg"]
    assert _stored(http, namespace) == []


def test_restore_refuses_a_uid_no_task_route_reaches_before_sending_anything(
    cli, embedded_url, namespace, tmp_path
) -> None:
    good = json.dumps(Task(task="good", namespace=namespace).to_wire())
    bad = json.dumps(Task(uid="a/b", task="bad", namespace=namespace).to_wire())
    src = tmp_path / "slash.jsonl"
    src.write_text(f"{good}\n{bad}\n")
    result = cli("task", "restore", str(src), "--yes", "--url", embedded_url)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"error: {src}:2: ")
    assert "uid 'a/b' cannot name a task: it holds '/'" in result.stderr
    assert result.stderr.count("\n") == 1
    with httpx.Client(base_url=embedded_url, trust_env=False, timeout=30) as http:
        assert _stored(http, namespace) == []
