"""The embedded server's GET /metrics: upstream's JSON shape, with true task counts."""

from __future__ import annotations

from pathlib import Path

import httpx

from eventix_cli.core.task import TaskStatus
from tests.support.servers import running_server
from tests.support.tasks import failed, seed


def _metrics(url: str) -> dict:
    response = httpx.get(url + "/metrics", trust_env=False, timeout=10)
    assert response.status_code == 200
    return response.json()


def test_metrics_have_upstreams_shape(server_pool) -> None:
    upstream = _metrics(server_pool.get("upstream").url)
    embedded = _metrics(server_pool.get("embedded").url)
    assert set(upstream) == {"memory", "worker", "tasks"}
    # ours adds the server's own health (database space, cleanups, backups)
    assert set(embedded) == {*upstream, "server"}
    for section in upstream:
        # every key a tool reads from upstream is there, with a number
        assert set(upstream[section]) <= set(embedded[section]), section
        assert all(isinstance(embedded[section][key], int) for key in upstream[section])
    # upstream reports no processing count; ours adds it
    assert set(embedded["tasks"]) == {"scheduled", "processing", "retry", "error", "done"}


def test_metrics_count_every_task_of_every_namespace(tmp_path: Path) -> None:
    with running_server("embedded", tmp_path) as srv:
        assert _metrics(srv.url)["tasks"] == dict.fromkeys(
            ("scheduled", "processing", "retry", "error", "done"), 0
        )
        seed(srv.url, "a", 3)
        seed(srv.url, "b", 2)
        failed(srv.url, "a", 1)
        seed(srv.url, "b", 4, status=TaskStatus.done)
        seed(srv.url, "a", 1, status=TaskStatus.retry)
        seed(srv.url, "c", 1, status=TaskStatus.processing, worker_id="w1")
        tasks = _metrics(srv.url)["tasks"]
    assert tasks == {"scheduled": 5, "processing": 1, "retry": 1, "error": 1, "done": 4}
