"""The embedded server over HTTP: auth, bad input, restart, signals, concurrent claims."""

from __future__ import annotations

import json
import multiprocessing
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import Unauthorized
from eventix_cli.core.task import Task, TaskStatus
from tests.support.claimers import claim_until_empty
from tests.support.servers import REPO_ROOT, free_port, running_server, start_server


@pytest.fixture
def embedded(server_pool):
    return server_pool.get("embedded")


def test_token_required_on_every_request(tmp_path: Path, cli) -> None:
    with running_server("embedded", tmp_path, token="t0ken-123") as srv:
        for path in ("/healthz", "/version", "/task/x"):
            r = httpx.get(srv.url + path)
            assert r.status_code == 401
            body = r.json()
            assert body["error_class"] == "Unauthorized"
            assert body["error_status_code"] == 401
            assert r.headers["www-authenticate"] == "Bearer"
        assert httpx.get(srv.url + "/healthz", headers={"Authorization": "Bearer nope"}).status_code == 401
        with EventixClient(srv.url, token="t0ken-123") as client:
            assert client.health()["status"] == "healthy"
            client.post_task(Task(task="x").to_wire())
        with EventixClient(srv.url) as client, pytest.raises(Unauthorized):
            client.health()
        result = cli("ping", "--url", srv.url)
        assert result.exit_code == 4
        assert "(Unauthorized)" in result.stderr
        assert "EVENTIX_TOKEN" in result.stderr
        result = cli("ping", "--url", srv.url, env={"EVENTIX_TOKEN": "t0ken-123"})
        assert result.exit_code == 0


BAD_REQUESTS = [
    ("POST", "/task", b"{not json", 422, None),
    ("POST", "/task", b'{"args": []}', 422, None),  # task missing
    ("POST", "/task", b'{"task": "x", "priority": "high"}', 422, None),
    ("POST", "/task", b'{"task": "x", "status": "sleeping"}', 422, None),
    ("PUT", "/tasks/by_status", b'{"status": "sleeping"}', 422, "InvalidQuery"),
    ("PUT", "/tasks/by_status", b'{"filter": {"task": {"$where": "1"}}}', 422, "UnsupportedFilter"),
    ("PUT", "/tasks/by_status", b'{"limit": -1}', 422, None),
    ("PUT", "/tasks/by_status", b'{"filter": "task"}', 422, None),
    ("PUT", "/tasks/by_task", b"{}", 422, None),
    ("GET", "/tasks/next_scheduled?namespace=x", b"", 422, None),
    ("GET", "/task/by_unique_key/ns/k?stati=sleeping", b"", 422, None),
    ("GET", "/task/x/reschedule?eta=yesterday", b"", 422, None),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "error_class"), BAD_REQUESTS)
def test_bad_input_gets_4xx_with_error_body(embedded, method, path, body, status, error_class) -> None:
    r = httpx.request(method, embedded.url + path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == status
    doc = r.json()
    if error_class:
        assert doc["error_class"] == error_class
        assert doc["error_message"]
    else:
        assert isinstance(doc["detail"], list)
    assert httpx.get(embedded.url + "/healthz").status_code == 200  # still serving


def test_unsupported_operator_is_named(embedded) -> None:
    r = httpx.put(embedded.url + "/tasks/by_status", json={"filter": {"eta": {"$elemMatch": {}}}})
    assert r.status_code == 422
    assert "$elemMatch" in r.json()["error_message"]


def test_oversized_body_is_413(embedded) -> None:
    big = b'{"task": "x", "kwargs": {"blob": "' + b"a" * (17 * 1024 * 1024) + b'"}}'
    r = httpx.post(embedded.url + "/task", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error_class"] == "RequestTooLarge"
    assert httpx.get(embedded.url + "/healthz").status_code == 200


def test_oversized_chunked_write_back_is_413(embedded) -> None:
    def chunks():
        yield b'{"task": "x", "kwargs": {"blob": "'
        for _ in range(17):
            yield b"a" * (1024 * 1024)
        yield b'"}}'

    r = httpx.put(embedded.url + "/task/big", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error_class"] == "RequestTooLarge"


def test_metrics_count_real_tasks(embedded, namespace) -> None:
    with EventixClient(embedded.url) as client:
        before = client.metrics()["tasks"]
        client.post_task(Task(task="m", namespace=namespace).to_wire())
        client.post_task(Task(task="m", namespace=namespace, status=TaskStatus.error).to_wire())
        metrics = client.metrics()
    after = metrics["tasks"]
    assert after["scheduled"] == before["scheduled"] + 1
    assert after["error"] == before["error"] + 1
    if sys.platform == "linux":
        assert metrics["memory"]["rss"] > 0


def test_restart_keeps_tasks_and_sigterm_is_clean(tmp_path: Path) -> None:
    db = tmp_path / "keep.sqlite3"
    port = free_port()
    srv = start_server("embedded", tmp_path, port=port, extra_args=["--db", str(db)])
    with EventixClient(srv.url) as client:
        done = client.post_task(Task(task="a", namespace="r", unique_key="k1").to_wire()).to_task()
        done.status = TaskStatus.done
        client.put_task(done.to_wire())
        pending = client.post_task(Task(task="b", namespace="r", kwargs={"x": [1, 2]}).to_wire())
        claimed = client.next_scheduled("w9", "r")
    assert claimed.uid == pending.uid
    assert srv.stop(signal.SIGTERM) == 0
    assert "eventix server stopped" in srv.log()
    assert f"database: {db}" in srv.log()

    srv = start_server("embedded", tmp_path, port=port, extra_args=["--db", str(db)])
    try:
        with EventixClient(srv.url) as client:
            assert client.get_task(done.uid).status == TaskStatus.done
            again = client.get_task(pending.uid)
            assert again.status == TaskStatus.processing
            assert again.worker_id == "w9"
            assert again.kwargs == {"x": [1, 2]}
    finally:
        assert srv.stop(signal.SIGINT) == 0


def test_port_in_use_is_one_line_error(embedded) -> None:
    port = embedded.url.rsplit(":", 1)[1]
    proc = subprocess.run(
        [sys.executable, "-m", "eventix_cli", "server", "--port", port, "--db", ":memory:"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in proc.stderr


def test_four_processes_claim_2000_tasks_each_exactly_once(embedded, namespace) -> None:
    with EventixClient(embedded.url) as client:
        for i in range(2000):
            client.post_task(Task(task="n", namespace=namespace, priority=-(i % 7)).to_wire())
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.starmap(claim_until_empty, [(embedded.url, namespace, f"w{i}") for i in range(4)])
    claims = [uid for batch in results for uid in batch]
    assert len(claims) == 2000
    assert len(set(claims)) == 2000
    assert all(len(batch) > 0 for batch in results)  # all four really took part
    with EventixClient(embedded.url) as client:
        assert client.count(namespace=namespace, status="done") == 2000
        assert client.count(namespace=namespace, status="processing") == 0


def test_server_help(cli) -> None:
    result = cli("server", "--help")
    assert result.exit_code == 0
    assert "--db" in result.stdout
    assert ":memory:" in result.stdout
    assert "eventix server --db :memory: --port 8123" in result.stdout


def test_json_round_trip_of_unknown_fields(embedded, namespace) -> None:
    doc = Task(task="x", namespace=namespace).to_wire() | {"tenant": "acme"}
    r = httpx.post(embedded.url + "/task", json=doc)
    assert r.status_code == 200
    assert json.loads(httpx.get(f"{embedded.url}/task/{doc['uid']}").content)["tenant"] == "acme"


def test_listening_socket_is_tcp_so_nodelay_applies() -> None:
    from eventix_cli.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        # asyncio only sets TCP_NODELAY on accepted sockets whose proto is IPPROTO_TCP;
        # without it each response waits for a delayed ACK
        import socket

        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
