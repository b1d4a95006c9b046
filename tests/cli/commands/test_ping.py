"""``eventix ping`` against real servers, a stopped one, and misbehaving ones."""

from __future__ import annotations

import json

import pytest

from tests.support.hostile_servers import scripted_server
from tests.support.servers import free_port


def test_ping_healthy_table(cli, server) -> None:
    result = cli("ping", "--url", server.url)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"url      {server.url}"
    assert lines[1] == "status   healthy"
    assert lines[2].startswith("version  ")
    assert lines[3].startswith("rtt_ms   ")
    assert result.stderr == ""


def test_ping_json(cli, server) -> None:
    result = cli("ping", "--url", server.url, "-o", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["url"] == server.url
    assert doc["status"] == "healthy"
    assert doc["version"]
    assert doc["rtt_ms"] >= 0


def test_ping_uses_env_url(cli, server) -> None:
    result = cli("ping", "-o", "jsonl", env={"EVENTIX_URL": server.url})
    assert result.exit_code == 0
    assert json.loads(result.stdout)["url"] == server.url


def test_ping_unreachable_is_one_line_exit_3(cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("ping", "--url", url)
    assert result.exit_code == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: cannot reach {url}")
    assert lines[0].endswith("(ServerUnreachable)")
    assert lines[1].startswith("hint: ")
    assert "Traceback" not in result.stderr


def test_ping_unhealthy_exit_5(cli) -> None:
    with scripted_server(200, b'{"status": "degraded"}') as url:
        result = cli("ping", "--url", url)
    assert result.exit_code == 5
    assert "status   degraded" in result.stdout
    assert "reports status 'degraded'" in result.stderr


def test_ping_server_error_exit_5(cli) -> None:
    with scripted_server(
        500, b'{"detail": {"error_class": "RuntimeError", "error_message": "db down"}}'
    ) as url:
        result = cli("ping", "--url", url)
    assert result.exit_code == 5
    assert result.stderr.splitlines()[0] == "error: db down (RuntimeError)"


def test_ping_proxy_html_exit_5(cli) -> None:
    with scripted_server(502, b"<html><body>Bad Gateway</body></html>", "text/html") as url:
        result = cli("ping", "--url", url)
    assert result.exit_code == 5
    assert "non-JSON" in result.stderr.splitlines()[0]


def test_ping_not_eventix_exit_4(cli) -> None:
    with scripted_server(404, b"") as url:
        result = cli("ping", "--url", url)
    assert result.exit_code == 4
    assert "empty body" in result.stderr


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://host", "http://"])
def test_ping_bad_url_is_usage_error(cli, url: str) -> None:
    result = cli("ping", "--url", url)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid server URL")
    assert len(result.stderr.splitlines()) == 1


def test_ping_unhealthy_503_prints_the_servers_reason(cli) -> None:
    body = b'{"status": "unhealthy", "reason": "database file was deleted"}'
    with scripted_server(503, body) as url:
        result = cli("ping", "--url", url)
    assert result.exit_code == 5
    assert "status   unhealthy" in result.stdout
    assert "reason   database file was deleted" in result.stdout
    assert result.stderr.splitlines()[0] == (
        f"error: {url} reports status 'unhealthy': database file was deleted (ServerUnhealthy)"
    )
