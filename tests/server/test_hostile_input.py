"""Hostile and odd input to a real embedded server: always a 4xx with an upstream-shaped
body (or a normal answer), never a 500, and the next request is served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from eventix_cli.core.jsonrules import MAX_JSON_DEPTH
from eventix_cli.core.task import Task
from eventix_cli.server.filters import MAX_FILTER_DEPTH
from eventix_cli.server.patterns import MAX_REGEX_LENGTH


@pytest.fixture
def http(server_pool) -> Iterator[httpx.Client]:
    srv = server_pool.get("embedded")
    with httpx.Client(base_url=srv.url, trust_env=False, timeout=30) as client:
        yield client


def nest(levels: int) -> Any:
    """A JSON value with ``levels`` nested containers (objects and arrays in turn)."""
    value: Any = "leaf"
    for i in range(levels):
        value = {"a": value} if i % 2 else [value]
    return value


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def send(http: httpx.Client, method: str, path: str, body: bytes | str | Any) -> httpx.Response:
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return http.request(method, path, content=content, headers={"content-type": "application/json"})


def assert_refused(r: httpx.Response, status: int = 422, *words: str) -> None:
    assert r.status_code == status, r.text
    doc = r.json()
    text = json.dumps(doc)
    if "detail" in doc:  # FastAPI validation shape
        assert isinstance(doc["detail"], list)
        assert doc["detail"][0]["msg"]
    else:  # Eventix domain error shape
        assert doc["error_status_code"] == status
        assert doc["error_message"]
    for word in words:
        assert word in text, text


# -- nesting: one limit at the door of every write route ----------------------------------------


def _task_at_depth(total: int, uid: str | None = None) -> dict[str, Any]:
    doc = Task(task="deep", namespace="hostile").to_wire()
    if uid:
        doc["uid"] = uid
    doc["kwargs"] = {"v": nest(total - 2)}  # body 1, kwargs 2, then the value
    assert depth(doc) == total
    return doc


WRITE_ROUTES = [
    ("POST", "/task", lambda total: _task_at_depth(total)),
    ("PUT", "/task/deep-put", lambda total: _task_at_depth(total, "deep-put")),
    ("POST", "/event", lambda total: {"name": "e", "payload": {"v": nest(total - 2)}}),
    ("PUT", "/tasks/by_status", lambda total: {"filter": {"kwargs.v": nest(total - 2)}}),
    ("PUT", "/tasks/dump", lambda total: {"filter": {"kwargs.v": nest(total - 2)}}),
    ("PUT", "/tasks/by_task", lambda total: {"task": "x", "filter": {"kwargs.v": nest(total - 2)}}),
]


@pytest.mark.parametrize(
    ("method", "path", "make"), WRITE_ROUTES, ids=[f"{m} {p}" for m, p, _ in WRITE_ROUTES]
)
def test_one_depth_limit_on_every_write_route(http, method, path, make) -> None:
    assert send(http, method, path, make(MAX_JSON_DEPTH)).status_code == 200
    assert_refused(send(http, method, path, make(MAX_JSON_DEPTH + 1)), 422, "MAX_JSON_DEPTH")
    # far deeper than Python's recursion limit: still a 422, not a RecursionError
    deep = "[" * 5000 + "]" * 5000
    assert_refused(send(http, method, path, deep), 422, "MAX_JSON_DEPTH")


def test_a_task_at_the_limit_reads_back_whole(http) -> None:
    doc = _task_at_depth(MAX_JSON_DEPTH)
    assert send(http, "POST", "/task", doc).status_code == 200
    stored = http.get(f"/task/{doc['uid']}").json()
    assert stored["kwargs"] == doc["kwargs"]
    page = send(http, "PUT", "/tasks/by_status", {"filter": {"uid": doc["uid"]}}).json()
    assert depth(page) == MAX_JSON_DEPTH + 2  # the page wraps tasks in two levels


# -- filter size ---------------------------------------------------------------------------------


def test_in_with_thirty_thousand_values(http) -> None:
    uids = []
    for _ in range(3):
        r = send(http, "POST", "/task", Task(task="many", namespace="hostile-in").to_wire())
        uids.append(r.json()["uid"])
    values = [f"absent-{i}" for i in range(30_000)] + uids
    r = send(http, "PUT", "/tasks/by_status", {"filter": {"uid": {"$in": values}}})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["ids"]) == sorted(uids)
    r = send(
        http, "PUT", "/tasks/by_status", {"namespace": "hostile-in", "filter": {"uid": {"$nin": values}}}
    )
    assert r.json()["max_results"] == 0
    ints = {"filter": {"priority": {"$in": list(range(-20_000, 20_000))}}, "limit": 1}
    assert send(http, "PUT", "/tasks/by_status", ints).status_code == 200


def test_logical_nesting_beyond_the_limit_is_named(http) -> None:
    def nested(levels: int) -> dict[str, Any]:
        f: dict[str, Any] = {"task": "x"}
        for i in range(levels):
            f = {("$and", "$or", "$nor")[i % 3]: [f, {"namespace": "n"}]}
        return f

    assert send(http, "PUT", "/tasks/by_status", {"filter": nested(MAX_FILTER_DEPTH)}).status_code == 200
    r = send(http, "PUT", "/tasks/by_status", {"filter": nested(MAX_FILTER_DEPTH + 1)})
    assert_refused(r, 422, "MAX_FILTER_DEPTH")
    assert r.json()["error_class"] == "UnsupportedFilter"
    wide = {"$or": [{"task": f"t{i}"} for i in range(3000)]}
    assert send(http, "PUT", "/tasks/by_status", {"filter": wide, "limit": 1}).status_code == 200


# -- numbers and strings -------------------------------------------------------------------------

BIG = 2**63


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/tasks/by_status", {"limit": BIG}),
        ("PUT", "/tasks/by_status", {"skip": BIG}),
        ("PUT", "/tasks/dump", {"limit": 2**70}),
        ("PUT", "/tasks/by_status", {"filter": {"priority": BIG}}),
        ("PUT", "/tasks/by_status", {"filter": {"kwargs.n": {"$gt": -BIG - 1}}}),
        ("PUT", "/tasks/by_status", {"filter": {"kwargs.n": {"$in": [1, BIG]}}}),
        ("PUT", "/tasks/by_status", {"filter": {"kwargs.n": {"o": BIG}}}),
        ("POST", "/task", '{"task": "x", "priority": 1e20}'),
        ("PUT", "/task/big-priority", '{"task": "x", "priority": 1e20}'),
        ("POST", "/task", {"task": "x", "priority": BIG}),
        ("POST", "/event", {"name": "e", "priority": BIG}),
        ("POST", "/task", '{"task": "x", "kwargs": {"n": NaN}}'),
        ("POST", "/task", '{"task": "x", "kwargs": {"n": 1e999}}'),
        ("PUT", "/task/inf", '{"task": "x", "kwargs": {"n": -Infinity}}'),
        ("PUT", "/tasks/by_status", '{"filter": {"kwargs.n": NaN}}'),
        ("POST", "/task", '{"task": "\\ud800"}'),
        ("PUT", "/task/surrogate", '{"task": "x", "kwargs": {"\\udfff": 1}}'),
        ("POST", "/event", '{"name": "\\ud800"}'),
        ("PUT", "/tasks/by_status", '{"filter": {"task": "\\ud800"}}'),
        ("PUT", "/tasks/by_task", '{"task": "\\udc00x"}'),
    ],
)
def test_numbers_and_text_the_store_cannot_hold_are_4xx(http, method, path, body) -> None:
    r = send(http, method, path, body)
    assert_refused(r, 422)
    assert http.get("/healthz").status_code == 200


def test_valid_surrogate_pairs_and_big_numbers_in_arguments_are_kept(http) -> None:
    raw = '{"task": "x", "namespace": "hostile-ok", "kwargs": {"emoji": "\\ud83d\\ude00", "n": 1e300}}'
    r = send(http, "POST", "/task", raw)
    assert r.status_code == 200, r.text
    assert r.json()["kwargs"] == {"emoji": "😀", "n": 1e300}


# -- paths: decoded once, as the router does -----------------------------------------------------


def test_fast_path_decodes_the_uid_once(http) -> None:
    body = {"task": "x", "namespace": "hostile-path"}
    r = send(http, "PUT", "/task/a%252Fb", body)
    assert r.status_code == 200, r.text
    assert r.json()["uid"] == "a%2Fb"
    assert http.get("/task/a%252Fb").json()["uid"] == "a%2Fb"
    assert http.get("/task/a%2Fb").status_code == 404  # never stored as a/b
    # an encoded slash is a slash to the router: no /task/{uid} route, on either path
    put, get = send(http, "PUT", "/task/c%2Fd", body), http.get("/task/c%2Fd")
    assert put.status_code == get.status_code == 404
    r = send(http, "PUT", "/task/%C3%A9t%C3%A9", body)
    assert r.json()["uid"] == "été"
    assert http.get("/task/%C3%A9t%C3%A9").json()["uid"] == "été"


def test_claim_reads_the_query_string_as_the_router_does(http) -> None:
    send(http, "POST", "/task", {"task": "x", "namespace": "hostile claim&ns"})
    r = http.get("/tasks/next_scheduled", params={"worker_id": "w", "namespace": "hostile claim&ns"})
    assert r.status_code == 200
    assert r.json()["worker_id"] == "w"
    r = http.get("/tasks/next_scheduled?worker_id=&namespace=hostile-none")
    assert r.status_code == 204  # a blank value is a value, as for the FastAPI routes
    r = http.get("/tasks/next_scheduled?namespace=x")
    assert_refused(r, 422)
    assert r.json()["detail"][0]["loc"] == ["query", "worker_id"]


def test_fast_path_and_route_share_one_parsing_layer() -> None:
    import ast
    import inspect

    from eventix_cli.server import app, fastpath

    def imported(module) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        return names

    assert "eventix_cli.server.app" not in imported(fastpath)
    assert "eventix_cli.server.validation" in imported(fastpath)
    assert "eventix_cli.server.validation" in imported(app)


def test_regex_pattern_size_limit(http) -> None:
    ok = {"filter": {"task": {"$regex": "a" * MAX_REGEX_LENGTH}}}
    assert send(http, "PUT", "/tasks/by_status", ok).status_code == 200
    r = send(http, "PUT", "/tasks/by_status", {"filter": {"task": {"$regex": "a" * (MAX_REGEX_LENGTH + 1)}}})
    assert_refused(r, 422, str(MAX_REGEX_LENGTH))
    r = send(http, "PUT", "/tasks/by_status", {"filter": {"task": {"$regex": "a" * 2_400_000}}})
    assert_refused(r, 422)
    r = send(http, "PUT", "/tasks/by_status", {"filter": {"task": {"$regex": "(a)\\1"}}})
    assert_refused(r, 422, "back-references")
    r = send(http, "PUT", "/tasks/by_status", {"filter": {"task": {"$regex": "x", "$options": "x"}}})
    assert r.status_code == 200, r.text


def test_task_wait_on_1001_ids_as_a_real_process(http, server_pool) -> None:
    import os
    import subprocess
    import sys

    from eventix_cli.core.task import TaskStatus
    from tests.support.servers import REPO_ROOT

    uids = []
    for _ in range(1001):
        doc = Task(task="w", namespace="hostile-wait", status=TaskStatus.done).to_wire()
        uids.append(send(http, "POST", "/task", doc).json()["uid"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_") and "proxy" not in k.lower()}
    proc = subprocess.run(
        [sys.executable, "-m", "eventix_cli", "task", "wait", "-", "-o", "ids", "--timeout", "60"],
        input="\n".join(uids) + "\n",
        capture_output=True,
        text=True,
        env={**env, "EVENTIX_URL": server_pool.get("embedded").url, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(proc.stdout.split()) == sorted(uids)


@pytest.mark.parametrize(
    "raw",
    [
        *(f'{{"t": "x\\u{code}"}}'.encode() for code in ("d800", "DBFF", "dc00", "Dfff")),
        '{"t": "\ud800"}'.encode("utf-8", "surrogatepass"),  # the bytes of a surrogate
        '{"t": "\udfff"}'.encode("utf-16-le", "surrogatepass"),
        b'{"n": NaN}',
        b'{"n": -Infinity}',
        b'{"n": 1e400}',
        b"[" * 101 + b"]" * 101,
        b'{"a": ' * 101 + b"1" + b"}" * 101,
    ],
)
def test_the_door_refuses_what_no_route_may_take(raw: bytes) -> None:
    from eventix_cli.server.validation import BodyRefused, check_body

    with pytest.raises(BodyRefused):
        check_body(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"t": "\\\\ud800"}',
        '{"t": "\ud55c\U0001f600"}'.encode(),
        b'{"t": "\\ud83d\\ude00"}',
        b"[" * 100 + b"]" * 100,
    ],
)
def test_the_door_lets_valid_json_through(raw: bytes) -> None:
    from eventix_cli.server.validation import check_body

    assert check_body(raw) == json.loads(raw)


def _fast_path_and_routes():
    from eventix_cli.server.app import create_app
    from eventix_cli.server.store import TaskStore

    stores = [TaskStore(":memory:"), TaskStore(":memory:")]
    fast = create_app(stores[0], cleanup_interval=None)
    routes = create_app(stores[1], cleanup_interval=None, fast_path=False)
    return stores, fast, routes


PARITY = [
    ("PUT", "/task/plain", b'{"task": "x", "namespace": "p"}'),
    ("PUT", "/task/a%252Fb", b'{"task": "x"}'),
    ("PUT", "/task/%C3%A9", b'{"task": "x"}'),
    ("PUT", "/task/c%2Fd", b'{"task": "x"}'),
    ("PUT", "/task/bad", b'{"task": "x", "priority": "high"}'),
    ("PUT", "/task/bad", b'{"task": "x", "status": "sleeping"}'),
    ("PUT", "/task/bad", b'{"args": []}'),
    ("PUT", "/task/bad", b"[1, 2]"),
    ("PUT", "/task/big", b'{"task": "x", "priority": 1e20}'),
    ("PUT", "/task/deep", b'{"task": "x", "kwargs": ' + b"[" * 99 + b"]" * 99 + b"}"),
    ("PUT", "/task/rev", b'{"task": "x", "revision": "9-abc"}'),
    ("PUT", "/task/bad", b"{not json"),
    ("PUT", "/task/bad", b""),
    ("PUT", "/task/bad", b"\xff\xfe"),
    ("PUT", "/task/plain-text", (b'{"task": "x"}', "text/plain")),
    ("PUT", "/task/no-type", (b'{"task": "x"}', None)),
    ("PUT", "/task/vendor", (b'{"task": "x"}', "application/vnd.eventix+json; charset=utf-8")),
    ("GET", "/tasks/next_scheduled?namespace=p", b""),
    ("GET", "/tasks/next_scheduled?worker_id=w", b""),
    ("GET", "/tasks/next_scheduled?worker_id=&namespace=", b""),
    ("GET", "/tasks/next_scheduled?worker_id=w&namespace=p&namespace=q", b""),
    ("GET", "/tasks/next_scheduled?worker_id=w&namespace=p", b""),
]


def test_fast_path_answers_as_the_routes_do() -> None:
    import asyncio

    stores, fast_app, routes_app = _fast_path_and_routes()

    async def compare() -> None:
        fast = httpx.AsyncClient(transport=httpx.ASGITransport(fast_app), base_url="http://test")
        routes = httpx.AsyncClient(transport=httpx.ASGITransport(routes_app), base_url="http://test")
        async with fast, routes:
            for method, path, given in PARITY:
                body, kind = given if isinstance(given, tuple) else (given, "application/json")
                headers = {"content-type": kind} if kind else {}
                a = await fast.request(method, path, content=body, headers=headers)
                b = await routes.request(method, path, content=body, headers=headers)
                assert a.status_code == b.status_code, (method, path, a.text, b.text)
                if a.status_code == 200:
                    assert a.json()["uid"] == b.json()["uid"], (method, path)
                elif a.content:
                    left, right = a.json(), b.json()
                    if isinstance(left.get("detail"), list):  # validation: same places, same kinds
                        left = [(e["loc"], e["type"]) for e in left["detail"]]
                        right = [(e["loc"], e["type"]) for e in right["detail"]]
                    assert left == right, (method, path)

    try:
        asyncio.run(compare())
    finally:
        for store in stores:
            store.close()


def test_claims_and_write_backs_never_reach_the_routes() -> None:
    import asyncio

    stores, fast_app, routes_app = _fast_path_and_routes()
    for app in (fast_app, routes_app):  # without their routes, only the fast path can answer
        app.router.routes = [
            r
            for r in app.router.routes
            if getattr(r, "path", "") not in ("/task/{uid}", "/tasks/next_scheduled")
        ]

    async def statuses(app) -> list[int]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
            put = await client.put("/task/t1", json={"task": "x", "namespace": "p"})
            claim = await client.get("/tasks/next_scheduled", params={"worker_id": "w", "namespace": "p"})
            return [put.status_code, claim.status_code]

    try:
        assert asyncio.run(statuses(fast_app)) == [200, 200]
        assert asyncio.run(statuses(routes_app)) == [404, 404]
    finally:
        for store in stores:
            store.close()
