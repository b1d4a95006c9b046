"""Real worker processes: a write only while the claim is this worker's (cancel of a running
task, changes by others, deletes), lease renewal, release after a conflict, unreadable claims."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import TaskNotFound
from eventix_cli.core.task import TaskStatus
from tests.support.servers import start_server
from tests.support.tasks import get, post_once, stored
from tests.support.workers import WorkerProcess, misbehaving_tasks_args, wait_for


def test_cancel_force_of_a_running_task_sticks(cli, server, namespace, tmp_path) -> None:
    marker = tmp_path / "started"
    task = post_once(server.url, namespace, "sleep_with_marker", 1.5, str(marker))
    after = post_once(server.url, namespace, "ok", 1)
    worker = WorkerProcess(server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst"])
    wait_for(marker.exists, what=worker.log)
    result = cli("task", "cancel", task.uid, "--force", "--url", server.url)
    assert result.exit_code == 0, result.stderr
    assert worker.wait(60) == 0, worker.log()
    ended = get(server.url, task.uid)
    # the worker's write-back met the cancel and discarded its result: not resurrected as done
    assert (ended.status, ended.worker_id, ended.error.error_class) == (
        TaskStatus.error,
        None,
        "TaskCancelled",
    )
    assert f"task {task.uid} was changed while it ran (now error" in worker.log()
    assert f"end {task.uid} sleep_with_marker -> discarded (" in worker.log()
    assert get(server.url, after.uid).status == TaskStatus.done


def test_write_back_reapplies_when_the_claim_is_still_ours(server, namespace, tmp_path) -> None:
    marker = tmp_path / "touched"
    task = post_once(server.url, namespace, "touch_self_then_sleep", server.url, 0.1, str(marker))
    worker = WorkerProcess(server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst"])
    assert worker.wait(60) == 0, worker.log()
    done = get(server.url, task.uid)
    assert (done.status, done.result, done.kwargs) == (TaskStatus.done, "finished", {"touched": True})


def test_lease_renewal_meets_a_change_and_keeps_the_claim(server, namespace, tmp_path) -> None:
    marker = tmp_path / "touched"
    task = post_once(server.url, namespace, "touch_self_then_sleep", server.url, 2.0, str(marker))
    worker = WorkerProcess(
        server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst", "--lease", "1"]
    )
    assert worker.wait(60) == 0, worker.log()
    log = worker.log()
    assert log.count(f"renewed the lease of task {task.uid}") >= 2, log
    done = get(server.url, task.uid)
    assert (done.status, done.result, done.kwargs) == (TaskStatus.done, "finished", {"touched": True})


def test_lease_renewal_meets_a_deleted_task_and_never_brings_it_back(server, namespace, tmp_path) -> None:
    task = post_once(server.url, namespace, "delete_self_then_sleep", server.url, 2.0)
    worker = WorkerProcess(
        server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst", "--lease", "1"]
    )
    assert worker.wait(60) == 0, worker.log()
    log = worker.log()
    assert f"task {task.uid} is no longer claimed by this worker (deleted)" in log
    assert f"renewed the lease of task {task.uid}" not in log
    with pytest.raises(TaskNotFound):
        get(server.url, task.uid)


def test_release_after_a_conflict(server, namespace, tmp_path) -> None:
    """The document changed under the claim (still ours): a forced stop still releases it."""
    marker = tmp_path / "touched"
    task = post_once(server.url, namespace, "touch_self_then_sleep", server.url, 30, str(marker))
    worker = WorkerProcess(
        server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--shutdown-timeout", "0"]
    )
    wait_for(marker.exists, what=worker.log)
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 1, worker.log()
    released = get(server.url, task.uid)
    assert (released.status, released.worker_id, released.kwargs) == (
        TaskStatus.scheduled,
        None,
        {"touched": True},
    )
    assert f"released task {task.uid}" in worker.log()


def test_unreadable_claim_is_ended_and_the_worker_goes_on(namespace, tmp_path) -> None:
    db = tmp_path / "db.sqlite3"
    server = start_server("embedded", tmp_path, extra_args=["--db", str(db)])
    try:
        bad = post_once(server.url, namespace, "ok", 1)
        good = post_once(server.url, namespace, "ok", 2)
        with sqlite3.connect(db) as conn:  # a document this client version cannot read
            conn.execute(
                "UPDATE tasks SET doc = json_set(doc, '$.args', 'not a list') WHERE uid = ?", (bad.uid,)
            )
        worker = WorkerProcess(server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst"])
        assert worker.wait(60) == 0, worker.log()
        assert f"task {bad.uid} cannot be read by this worker" in worker.log()
        with EventixClient(server.url) as client:
            raw = json.loads(client.request("GET", f"/task/{bad.uid}", idempotent=True).content)
        assert (raw["status"], raw["worker_id"], raw["result"]["error_class"]) == (
            "error",
            None,
            "TaskNotReadable",
        )
        assert stored(server.url, namespace)[good.uid].result == 4
    finally:
        server.stop()


DEEP = "[" * 120 + "]" * 120


def store_kwargs_unchecked(db: Path, uid: str, kwargs_json: str) -> None:
    """Put ``kwargs_json`` into a stored task straight through SQLite: a document no way in of
    the server would take now (a poison task stored before it checked, or by another tool)."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE tasks SET doc = json_set(doc, '$.kwargs', json(?)) WHERE uid = ?", (kwargs_json, uid)
        )


@pytest.mark.parametrize(
    "poison",
    [
        pytest.param('{"big": 123456789012345678901234567890}', id="int-beyond-64-bits"),
        pytest.param(f'{{"deep": {DEEP}}}', id="nested-too-deep"),
    ],
)
def test_a_task_the_server_cannot_take_back_is_ended_once(namespace, tmp_path, poison) -> None:
    """Run once, then stored as error without what the server refuses: never claimed again."""
    db = tmp_path / "db.sqlite3"
    server = start_server("embedded", tmp_path, extra_args=["--db", str(db)])
    try:
        bad = post_once(server.url, namespace, "takes_anything", retry=True)
        good = post_once(server.url, namespace, "ok", 2)
        store_kwargs_unchecked(db, bad.uid, poison)
        worker = WorkerProcess(
            server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--burst", "--lease", "2"]
        )
        assert worker.wait(60) == 0, worker.log()
        log = worker.log()
        assert log.count(f"start {bad.uid} ") == 1, log
        with EventixClient(server.url) as client:
            raw = json.loads(client.request("GET", f"/task/{bad.uid}", idempotent=True).content)
        assert (raw["status"], raw["result"]["error_class"]) == ("error", "TaskNotStorable"), raw
        assert raw["result"]["error_payload"] == {"dropped_fields": ["kwargs"]}
        assert raw["kwargs"] == {}
        assert stored(server.url, namespace)[good.uid].result == 4
    finally:
        server.stop()


def test_a_running_task_the_server_cannot_take_back_is_ended_at_its_first_renewal(
    namespace, tmp_path
) -> None:
    """Its lease cannot be renewed either: ended at once, not left to expire and run again."""
    db = tmp_path / "db.sqlite3"
    server = start_server("embedded", tmp_path, extra_args=["--db", str(db)])
    marker = tmp_path / "started"
    try:
        bad = post_once(server.url, namespace, "sleep_with_marker_taking_anything", 60, str(marker))
        store_kwargs_unchecked(db, bad.uid, '{"big": 123456789012345678901234567890}')
        worker = WorkerProcess(
            server.url,
            namespace,
            tmp_path,
            [*misbehaving_tasks_args(), "--lease", "1", "--shutdown-timeout", "0"],
        )
        wait_for(marker.exists, what=worker.log)
        wait_for(lambda: get(server.url, bad.uid).status == TaskStatus.error, timeout=20, what=worker.log)
        ended = get(server.url, bad.uid)
        assert (ended.error.error_class, ended.kwargs) == ("TaskNotStorable", {})
        assert f"task {bad.uid} is no longer claimed by this worker (ended: its document" in worker.log()
        worker.signal(signal.SIGTERM)
        worker.wait(30)
        assert get(server.url, bad.uid).status == TaskStatus.error  # a forced stop released nothing
    finally:
        server.stop()


def test_a_running_task_the_server_cannot_take_back_is_ended_by_a_forced_stop(namespace, tmp_path) -> None:
    """It cannot be released either: ended, not left to its lease and run again."""
    db = tmp_path / "db.sqlite3"
    server = start_server("embedded", tmp_path, extra_args=["--db", str(db)])
    marker = tmp_path / "started"
    try:
        bad = post_once(server.url, namespace, "sleep_with_marker_taking_anything", 60, str(marker))
        store_kwargs_unchecked(db, bad.uid, f'{{"deep": {DEEP}}}')
        worker = WorkerProcess(
            server.url, namespace, tmp_path, [*misbehaving_tasks_args(), "--shutdown-timeout", "0"]
        )
        wait_for(marker.exists, what=worker.log)
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 1, worker.log()
        ended = get(server.url, bad.uid)
        assert (ended.status, ended.error.error_class, ended.kwargs) == (
            TaskStatus.error,
            "TaskNotStorable",
            {},
        )
    finally:
        server.stop()


#: claims the worker tries while the server is down, each after a pause it logs (debug)
OUTAGE_CLAIMS = 6


def _claim_pauses(log: str) -> list[float]:
    """The pauses before the next claim that the worker logged during outages, in seconds."""
    return [float(seconds) for seconds in re.findall(r"; next claim in ([0-9.]+)s", log)]


def test_outage_backoff_is_capped_renewal_resumes_and_health_pauses(namespace, tmp_path) -> None:
    db = tmp_path / "db.sqlite3"
    server = start_server("embedded", tmp_path, extra_args=["--db", str(db)])
    port = int(server.url.rsplit(":", 1)[1])
    health = tmp_path / "healthy"
    marker = tmp_path / "started"
    try:
        # long enough to outlast the outage and a slow restart on a loaded machine: the lease
        # renewal this test looks for happens only while the task still runs afterwards
        slow = post_once(server.url, namespace, "sleep_with_marker", 16, str(marker))
        worker = WorkerProcess(
            server.url,
            namespace,
            tmp_path,
            [
                *misbehaving_tasks_args(),
                "--concurrency",
                "2",
                "--lease",
                "8",
                "--max-backoff",
                "0.5",
                "--poll-interval",
                "0.1",
                "--health-file",
                str(health),
                "--log-level",
                "debug",
            ],
        )
        wait_for(lambda: marker.exists() and health.exists(), what=worker.log)
        server.stop()
        wait_for(lambda: "server unreachable" in worker.log(), what=worker.log)
        time.sleep(0.5)
        touched = health.stat().st_mtime_ns
        # load-independent: the claim backoff is counted in claims and read from the log, not
        # timed; uncapped, the third pause would be a second or more
        wait_for(lambda: len(_claim_pauses(worker.log())) >= OUTAGE_CLAIMS, timeout=120, what=worker.log)
        assert health.stat().st_mtime_ns == touched, "health file touched while the server was down"
        server = start_server("embedded", tmp_path, port=port, extra_args=["--db", str(db)])
        quick = post_once(server.url, namespace, "ok", 21)
        wait_for(lambda: get(server.url, quick.uid).status == TaskStatus.done, timeout=60, what=worker.log)
        assert max(_claim_pauses(worker.log())) <= 0.5, worker.log()  # --max-backoff
        wait_for(lambda: get(server.url, slow.uid).status == TaskStatus.done, timeout=30, what=worker.log)
        log = worker.log()
        after = log[log.index("server reachable again") :]
        assert f"renewed the lease of task {slow.uid}" in after, log
        assert health.stat().st_mtime_ns > touched
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0, worker.log()
    finally:
        server.stop()
