"""``eventix task running``: what is processed right now, grouped by worker (issue 11)."""

from __future__ import annotations

import json

from eventix_cli.core.task import TaskStatus
from tests.support.tasks import ago, seed


def _claimed(url: str, namespace: str, worker: str, task: str, **fields):
    return seed(url, namespace, task=task, status=TaskStatus.processing, worker_id=worker, **fields)[0]


def test_running_grouped_by_worker_with_expired_leases_flagged(cli, server, namespace) -> None:
    a1 = _claimed(server.url, namespace, "w-a", "send_invoice", worker_expires=ago(seconds=-240))
    a2 = _claimed(server.url, namespace, "w-a", "rebuild", worker_expires=ago(seconds=-290))
    dead = _claimed(server.url, namespace, "w-b", "import_csv", worker_expires=ago(seconds=120))
    seed(server.url, namespace, task="queued")  # not running: not shown
    base = ("task", "running", "--url", server.url, "-n", namespace)

    table = cli.terminal(*base, columns=120)
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["WORKER", "TASK", "UID", "NAMESPACE", "RUNNING", "LEASE"]
    assert lines[1].split()[:3] == ["w-a", "send_invoice", a1.uid]  # longest running first
    assert lines[2].split()[:2] == ["rebuild", a2.uid]  # the worker id once per group
    assert lines[3].split()[:3] == ["w-b", "import_csv", dead.uid]
    assert "1m" in lines[1]
    assert "in 3m" in lines[1]  # 240 s less a moment
    assert "EXPIRED 2m ago" in lines[3]
    assert "3 task(s) running on 2 worker(s)" in table.stderr
    assert "1 lease(s) expired" in table.stderr

    groups = json.loads(cli(*base, "-o", "json").stdout)
    assert [g["worker_id"] for g in groups] == ["w-a", "w-b"]
    assert [t["uid"] for t in groups[0]["tasks"]] == [a1.uid, a2.uid]
    assert groups[1]["expired"] == 1
    assert groups[1]["tasks"][0]["lease_expired"] is True
    assert sorted(cli(*base, "-o", "ids").stdout.split()) == sorted([a1.uid, a2.uid, dead.uid])


def test_nothing_running_says_why_idle_workers_are_not_listed(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace)
    result = cli("task", "running", "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no worker registry" in result.stderr


def test_running_at_80_columns(cli, embedded_url, namespace) -> None:
    _claimed(embedded_url, namespace, "host-12345", "rebuild_search_index", worker_expires=ago(seconds=-200))
    result = cli.terminal("task", "running", "--url", embedded_url, "-n", namespace, columns=80)
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert lines[0].split() == ["WORKER", "TASK", "UID", "RUNNING", "LEASE"]
