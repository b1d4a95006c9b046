"""A token-protected embedded server refuses every route without the token, the fast path's
claim and write-back included, and nothing changes in the store.

The routes are read from the app itself, so a route added later is covered too; the requests
go to a real ``eventix server`` process (uvicorn, the door, the fast path, then FastAPI), each
one a request that would change the store if it got through.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task
from eventix_cli.server.app import create_app
from eventix_cli.server.store import TaskStore
from tests.support.servers import RunningServer, running_server

TOKEN = "t0ken-123"
NAMESPACE = "guarded"
UNIQUE_KEY = "the-key"
#: the two requests the fast path answers in front of FastAPI
FAST_PATH = {("GET", "/tasks/next_scheduled"), ("PUT", "/task/{uid}")}
#: what a request may carry instead of the right token
WRONG_AUTHORIZATIONS = {
    "no token": {},
    "wrong token": {"Authorization": "Bearer not-the-token"},
    "token without its scheme": {"Authorization": TOKEN},
    "the token with more after it": {"Authorization": f"Bearer {TOKEN}x"},
}


def app_routes() -> list[tuple[str, str]]:
    """Every (method, path template) the server's app routes, its own documentation included."""
    store = TaskStore(":memory:")
    try:
        app = create_app(store, token=TOKEN, cleanup_interval=None)
        return sorted({(method, route.path) for route in app.routes for method in route.methods or ()})
    finally:
        store.close()


ROUTES = app_routes()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path, Task]]:
    """A token-protected server on a database file, holding one task a worker could claim."""
    directory = tmp_path_factory.mktemp("guarded")
    db = directory / "tasks.sqlite3"
    with running_server("embedded", directory, token=TOKEN, extra_args=["--db", str(db)]) as server:
        with EventixClient(server.url, token=TOKEN) as client:
            task = client.post_task(
                Task(task="job", namespace=NAMESPACE, unique_key=UNIQUE_KEY, args=[1]).to_wire()
            )
        yield server, db, task


def store_content(db: Path) -> list[str]:
    """The whole database as SQL statements, read beside the running server."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return list(connection.iterdump())


def request_for(method: str, template: str, task: Task) -> tuple[str, dict, dict | None]:
    """The path, query and body of a request to this route that would change the store (or
    read it) if it got through: the stored task's uid and unique key, a claim of its namespace,
    the task written back as done."""
    path = template.format(uid=task.uid, unique_key=UNIQUE_KEY, namespace=NAMESPACE)
    params = {"worker_id": "intruder", "namespace": NAMESPACE}
    document = task.to_wire() | {"status": "done", "result": 2}
    return path, params, document if method in ("POST", "PUT", "PATCH") else None


def test_the_routes_include_the_fast_path() -> None:
    assert set(ROUTES) >= FAST_PATH, ROUTES
    assert len(ROUTES) > len(FAST_PATH)


@pytest.mark.parametrize("authorization", WRONG_AUTHORIZATIONS.values(), ids=WRONG_AUTHORIZATIONS.keys())
@pytest.mark.parametrize(("method", "template"), [*ROUTES, ("GET", "/no/such/route")])
def test_every_route_refuses_a_request_without_the_token(guarded, method, template, authorization) -> None:
    server, db, task = guarded
    before = store_content(db)
    path, params, body = request_for(method, template, task)
    answer = httpx.request(method, server.url + path, params=params, json=body, headers=authorization)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"
    if method != "HEAD":
        assert answer.json()["error_class"] == "Unauthorized"
    assert store_content(db) == before


def test_with_the_token_the_same_claim_takes_the_task(tmp_path: Path) -> None:
    """The control: the requests above are ones that change the store when the token is right."""
    db = tmp_path / "tasks.sqlite3"
    with running_server("embedded", tmp_path, token=TOKEN, extra_args=["--db", str(db)]) as server:
        with EventixClient(server.url, token=TOKEN) as client:
            task = client.post_task(
                Task(task="job", namespace=NAMESPACE, unique_key=UNIQUE_KEY, args=[1]).to_wire()
            )
        before = store_content(db)
        path, params, _ = request_for("GET", "/tasks/next_scheduled", task)
        answer = httpx.get(server.url + path, params=params, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["uid"] == task.uid
        assert answer.json()["status"] == "processing"
        assert store_content(db) != before


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_scheme_is_compared_case_insensitively(guarded, scheme) -> None:
    server, _db, _task = guarded
    answer = httpx.get(server.url + "/namespaces", headers={"Authorization": f"{scheme} {TOKEN}"})
    assert answer.status_code == 200, answer.text  # RFC 7235: the auth-scheme is case-insensitive
    wrong = httpx.get(server.url + "/namespaces", headers={"Authorization": f"{scheme} {TOKEN.upper()}"})
    assert wrong.status_code == 401  # the token itself is compared exactly


@pytest.mark.parametrize(
    "values",
    [
        [f"Bearer {TOKEN}", f"Bearer {TOKEN}"],
        ["Bearer wrong", f"Bearer {TOKEN}"],
        [f"Bearer {TOKEN}", "Bearer x"],
    ],
    ids=["twice the token", "the token last", "the token first"],
)
def test_two_authorization_headers_are_refused(guarded, values) -> None:
    server, db, task = guarded
    before = store_content(db)
    path, params, _ = request_for("GET", "/tasks/next_scheduled", task)
    headers = [("Authorization", value) for value in values]
    answer = httpx.get(server.url + path, params=params, headers=headers)
    assert answer.status_code in (400, 401), answer.text
    assert "Authorization" in answer.json()["error_message"]
    assert store_content(db) == before
