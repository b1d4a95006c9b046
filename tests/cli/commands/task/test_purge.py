"""``task purge`` leaves processing tasks out of what it lists: a dry run neither counts nor
samples them, and a real purge never meets one (none is reported as skipped)."""

from __future__ import annotations

import json

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import TaskStatus
from tests.support.servers import free_port
from tests.support.tasks import ago, failed, seed, statuses


def test_processing_tasks_are_never_listed_by_a_purge(cli, server, namespace) -> None:
    pending = [t.uid for t in seed(server.url, namespace, 4, eta=ago(minutes=1))]
    with EventixClient(server.url) as client:
        running = {client.next_scheduled(f"w{i}", namespace).uid for i in range(2)}
    finished = [
        seed(server.url, namespace, status=TaskStatus.done)[0].uid,
        failed(server.url, namespace, task="job")[0].uid,
    ]
    purgeable = (set(pending) - running) | set(finished)
    assert len(running) == 2
    assert len(purgeable) == 4
    purge = ("task", "purge", "--url", server.url, "-n", namespace, "--task", "job", "-o", "json")

    dry = cli(*purge, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["count"] == len(purgeable)
    assert {task["uid"] for task in report["sample"]} == purgeable
    assert len(statuses(server.url, namespace)) == 6  # a dry run changes nothing

    real = cli(*purge, "--yes")
    assert real.exit_code == 0, real.stderr
    report = json.loads(real.stdout)
    assert report["skipped"] == []
    assert report["failed"] == []
    assert set(report["done"]) == purgeable
    assert statuses(server.url, namespace) == dict.fromkeys(running, "processing")


def test_purge_with_no_server_says_it_is_unreachable(cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("task", "purge", "--status", "done", "--yes", "--url", url)
    assert result.exit_code == 3
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"error: cannot reach {url}")
    assert "purged" not in result.stderr
    assert "stopped" not in result.stderr
