"""An unexpected error is answered 500 with its class and message, never with a Python
traceback or the paths the server is installed at (they stay in the server's log)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import eventix_cli
from eventix_cli.server.app import create_app
from eventix_cli.server.store import TaskStore

INSTALLED_AT = str(Path(eventix_cli.__file__).parent)


class _Failing(TaskStore):
    """A store whose every way of failing names a file of the installation."""

    def namespaces(self) -> list[str]:
        raise RuntimeError(f"cannot read {INSTALLED_AT}/server/store.py")

    def claim(self, worker_id: str, namespace: str, lease: int = 300):
        raise OSError(5, "Input/output error", f"{sys.prefix}/lib/x.sqlite3")

    def put(self, uid: str, doc: dict):
        raise KeyError(f"{INSTALLED_AT}/core/task.py")


@pytest.fixture
def http() -> Iterator[TestClient]:
    store = _Failing()
    try:
        with TestClient(create_app(store, cleanup_interval=None), raise_server_exceptions=False) as client:
            yield client
    finally:
        store.close()


@pytest.mark.parametrize(
    ("method", "path", "error_class"),
    [
        ("GET", "/namespaces", "RuntimeError"),  # a route
        ("GET", "/tasks/next_scheduled?worker_id=w&namespace=n", "OSError"),  # the fast path
        ("PUT", "/task/t1", "KeyError"),  # the fast path's write-back
    ],
)
def test_a_500_carries_no_traceback_and_no_install_path(http, method, path, error_class) -> None:
    r = http.request(method, path, json={"task": "x", "namespace": "n"} if method == "PUT" else None)
    assert r.status_code == 500
    detail = r.json()["detail"]
    assert detail["error_class"] == error_class
    assert detail["error_message"]
    assert detail["error_traceback"] is None
    for leak in ("Traceback", 'File "', INSTALLED_AT, sys.prefix, "site-packages"):
        assert leak not in r.text, r.text
