"""Bulk commands cut short, as real processes: the server killed mid-purge, Ctrl-C mid-purge.

Both must end with the summary on stderr and the -o json report on stdout (what was done,
failed, not attempted), then the documented exit code: 3 for the outage, 130 for Ctrl-C.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import TaskStatus
from tests.support.servers import REPO_ROOT, RunningServer, free_port, start_server
from tests.support.tasks import seed_db
from tests.support.workers import wait_for

TASKS = 6000  # far more than a purge at concurrency 2 deletes in the time the test waits


def _remaining(url: str, namespace: str) -> set[str]:
    with EventixClient(url, retries=0) as client:
        return {doc["uid"] for doc in client.iter_documents(namespace=namespace)}


def _count(url: str, namespace: str) -> int:
    with EventixClient(url, retries=0) as client:
        return client.count(namespace=namespace)


def _start_purge(url: str, namespace: str, cwd: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "eventix_cli", "task", "purge", "--url", url, "-n", namespace]
    cmd += ["-s", "done", "--yes", "-o", "json", "--concurrency", "2", "--request-timeout", "5"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen[bytes]) -> tuple[int, dict, str]:
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"purge did not end; stderr:\n{stderr.decode()}") from None
    text = stderr.decode()
    assert stdout, f"no report on stdout; stderr:\n{text}"
    return process.returncode, json.loads(stdout), text


@pytest.fixture
def db_server(tmp_path: Path, namespace: str):
    """A real `eventix server` on a database file seeded with TASKS done tasks."""
    db = tmp_path / "tasks.sqlite3"
    uids = seed_db(db, namespace, TASKS, status=TaskStatus.done)
    servers: list[RunningServer] = []

    def start() -> RunningServer:
        servers.append(start_server("embedded", tmp_path / "logs", extra_args=["--db", str(db)]))
        return servers[-1]

    yield start, uids
    for server in servers:
        server.stop(signal.SIGKILL)


def test_server_killed_mid_purge_reports_what_was_done_and_exits_3(db_server, namespace, tmp_path) -> None:
    start, uids = db_server
    server = start()
    purge = _start_purge(server.url, namespace, tmp_path)
    try:
        wait_for(lambda: _count(server.url, namespace) <= TASKS - 100, timeout=60)
        server.stop(signal.SIGKILL)  # the outage: mid-purge, without warning
        code, report, stderr = _finish(purge)
    finally:
        if purge.poll() is None:
            purge.kill()
    assert code == 3, stderr
    assert report["error"]["error_class"] in ("ServerUnreachable", "ServerTimeout")
    assert not report["interrupted"]
    done = set(report["done"])
    assert len(done) >= 100
    assert done <= uids
    in_flight = {item["uid"] for item in report["failed"]}
    # the requests in flight when it died (none if it died during a page of the listing): nothing after them
    assert len(in_flight) <= 2
    assert report["not_attempted"] is None  # the unread rest of a listing is not known ...
    assert report["not_attempted_count"] is None  # ... nor counted (--yes off a terminal counts nothing)
    lines = stderr.splitlines()
    failed = f"{len(in_flight)} failed, " if in_flight else ""
    assert lines[0].startswith(f"{len(done):,} purged, {failed}the rest not attempted in ")
    assert any(line.startswith("stopped: the tasks above were handled") for line in lines)
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1
    assert errors[0].endswith(f"({report['error']['error_class']})")
    assert "Traceback" not in stderr

    # the report is the truth: what it calls done is gone, everything else but the in-flight is there
    server = start()
    left = _remaining(server.url, namespace)
    assert not (done & left)
    assert uids - done - in_flight <= left


def test_ctrl_c_mid_purge_reports_what_was_done_and_exits_130(db_server, namespace, tmp_path) -> None:
    start, uids = db_server
    server = start()
    purge = _start_purge(server.url, namespace, tmp_path)
    try:
        wait_for(lambda: _count(server.url, namespace) <= TASKS - 100, timeout=60)
        purge.send_signal(signal.SIGINT)
        code, report, stderr = _finish(purge)
    finally:
        if purge.poll() is None:
            purge.kill()
    assert code == 130, stderr
    assert report["interrupted"]
    assert report["error"] is None
    assert report["failed"] == []
    done = set(report["done"])
    assert len(done) >= 100
    assert _remaining(server.url, namespace) == uids - done  # exactly what the report says was purged
    lines = stderr.splitlines()
    assert lines[0].startswith(f"{len(done):,} purged, the rest not attempted in ")
    assert lines[-1].startswith("interrupted: the tasks above were handled")


def test_ids_never_started_after_an_outage_are_listed(cli) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    ids = [f"{i:032x}" for i in range(5)]
    result = cli("task", "retry", "-", "--url", dead, "-o", "json", "-c", "1", input="\n".join(ids))
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert [f["uid"] for f in report["failed"]] == ids[:1]  # the first request met the outage ...
    assert report["not_attempted"] == ids[1:]  # ... and nothing was tried after it
    assert report["not_attempted_count"] == 4
    assert report["error"]["error_class"] == "ServerUnreachable"
    assert result.stderr.splitlines()[0].startswith("0 retried, 1 failed, 4 not attempted in ")
    rows = cli("task", "cancel", *ids, "--url", dead, "-o", "jsonl", "-c", "1", "--yes")
    assert rows.exit_code == 3
    assert [json.loads(line)["outcome"] for line in rows.stdout.splitlines()] == ["failed"] + [
        "not_attempted"
    ] * 4
