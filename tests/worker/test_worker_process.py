"""Real `eventix worker` processes against real servers."""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
from collections import Counter

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import TaskNotFound
from eventix_cli.core.fields import stored_priority
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from tests.support.servers import free_port, start_server
from tests.support.tasks import get, post
from tests.support.workers import SAMPLE, WorkerProcess, wait_for


def test_burst_runs_upstream_and_plain_tasks(server, namespace, tmp_path) -> None:
    add = post(server.url, namespace, "add", 2, 3)
    where = post(server.url, namespace, "plain_where")
    failing = post(server.url, namespace, "fails_once_for_good", retry=False)
    unknown = post(server.url, namespace, "not_a_task")
    no_store = post(server.url, namespace, "no_store", store_result=False)
    worker = WorkerProcess(
        server.url,
        namespace,
        tmp_path,
        ["--tasks", SAMPLE, "--tasks", f"{SAMPLE}:plain_where", "--burst", "--worker-id", "w-test"],
    )
    assert worker.wait() == 0, worker.log()

    done = get(server.url, add.uid)
    assert (done.status, done.result, done.worker_expires) == (TaskStatus.done, 5, None)
    assert 604700 < (done.expires - utcnow()).total_seconds() <= 604800
    info = get(server.url, where.uid).result
    assert info["namespace"] == namespace
    assert info["worker_id"] == "w-test"
    assert info["uid"] == where.uid
    failed = get(server.url, failing.uid)
    assert failed.status == TaskStatus.error
    assert failed.error.error_class == "RuntimeError"
    assert "no retry for me" in failed.error.error_message
    assert any("raise RuntimeError" in line for line in failed.error.error_traceback)
    missing = get(server.url, unknown.uid)
    assert missing.status == TaskStatus.retry
    assert missing.error.error_class == "TaskNotRegistered"
    with EventixClient(server.url) as client, pytest.raises(TaskNotFound):
        client.get_task(no_store.uid)  # store_result=False: expired at once, deleted on write-back

    log = worker.log()
    assert "[WORKER-w-test]" in log
    assert "registered eventix task 'add' from tests.support.sample_tasks" in log
    assert "registered function 'plain_where' from tests.support.sample_tasks:plain_where" in log
    assert f"start {add.uid} add" in log
    assert f"end {add.uid} add -> done (" in log
    assert re.search(rf"end {add.uid} add -> done \(\d+\.\d (ms|s)\)", log)  # human-sized
    assert "burst done" in log


def test_retry_with_backoff_until_max_retries(embedded_url, namespace, tmp_path) -> None:
    task = post(embedded_url, namespace, "flaky", "boom", max_retries=1, error_eta_inc=30, error_eta_max=40)
    before = utcnow()
    assert WorkerProcess(embedded_url, namespace, tmp_path, ["--burst"]).wait() == 0
    after = utcnow()
    first = get(embedded_url, task.uid)
    assert first.status == TaskStatus.retry
    assert first.max_retries == 0
    assert first.error_eta_inc == 40
    # 30 s after the attempt failed, which was between these two moments (load-independent:
    # bracketed, not measured from now; a millisecond for the stored time's rounding)
    inc, rounding = dt.timedelta(seconds=30), dt.timedelta(milliseconds=1)
    assert before + inc - rounding <= first.eta <= after + inc
    # not due yet: a burst worker leaves it alone
    assert WorkerProcess(embedded_url, namespace, tmp_path, ["--burst"]).wait() == 0
    assert get(embedded_url, task.uid).status == TaskStatus.retry
    with EventixClient(embedded_url) as client:
        client.reschedule(task.uid)
    assert WorkerProcess(embedded_url, namespace, tmp_path, ["--burst"]).wait() == 0
    last = get(embedded_url, task.uid)
    assert last.status == TaskStatus.error
    assert last.error.error_message == "boom"


def test_nested_delay_goes_to_same_server_namespace_and_priority(server, namespace, tmp_path) -> None:
    parent = post(server.url, namespace, "spawn_child", 41, priority=stored_priority(5))
    assert WorkerProcess(server.url, namespace, tmp_path, ["--burst"]).wait() == 0
    child_uid = get(server.url, parent.uid).result
    child = get(server.url, child_uid)
    assert child.namespace == namespace
    assert child.logical_priority == 5
    assert child.task == "add"
    assert child.status == TaskStatus.done  # the burst worker ran the child too
    assert child.result == 42


def test_delay_from_a_plain_task_that_imports_upstream_when_it_runs(server, namespace, tmp_path) -> None:
    """The worker points upstream's client at its server without importing upstream's package
    at start: when a task imports it only as it runs, ``.delay()`` still posts there."""
    parent = post(server.url, namespace, "delay_add_later", 41, priority=stored_priority(5))
    tasks = ["--tasks", "tests.support.plain_tasks:delay_add_later", "--max-tasks", "1"]
    worker = WorkerProcess(server.url, namespace, tmp_path, [*tasks, "--log-level", "INFO"])
    assert worker.wait() == 0, worker.log()
    done = get(server.url, parent.uid)
    assert done.status == TaskStatus.done, worker.log()
    child = get(server.url, done.result)
    assert (child.namespace, child.task, child.args) == (namespace, "add", [41, 1])
    assert child.logical_priority == 5
    assert f"upstream EventixClient points at {server.url}" in worker.log()


def test_sigterm_lets_the_running_task_finish(embedded_url, namespace, tmp_path) -> None:
    marker = tmp_path / "started"
    task = post(embedded_url, namespace, "sleep_for", 1.5, str(marker))
    worker = WorkerProcess(embedded_url, namespace, tmp_path)
    wait_for(marker.exists)
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.log()
    done = get(embedded_url, task.uid)
    assert done.status == TaskStatus.done
    assert done.result == 1.5
    assert "stopping: waiting up to 30s for 1 running task(s)" in worker.log()


@pytest.mark.parametrize("how", ["timeout", "second-signal"])
def test_forced_stop_releases_running_tasks(embedded_url, namespace, tmp_path, how) -> None:
    marker = tmp_path / "started"
    task = post(embedded_url, namespace, "sleep_for", 60, str(marker))
    worker = WorkerProcess(
        embedded_url, namespace, tmp_path, ["--shutdown-timeout", "1" if how == "timeout" else "60"]
    )
    wait_for(marker.exists)
    worker.signal(signal.SIGTERM)
    if how == "second-signal":
        wait_for(lambda: "stopping:" in worker.log())
        worker.signal(signal.SIGINT)
    assert worker.wait(30) == 1, worker.log()
    released = get(embedded_url, task.uid)
    assert released.status == TaskStatus.scheduled
    assert released.worker_id is None
    assert released.worker_expires is None
    assert f"released task {task.uid} (sleep_for) back to the queue" in worker.log()


def test_server_restart_mid_run_loses_nothing_and_runs_nothing_twice(namespace, tmp_path) -> None:
    db = tmp_path / "restart.sqlite3"
    port = free_port()
    record = tmp_path / "ran.txt"
    srv = start_server("embedded", tmp_path, port=port, extra_args=["--db", str(db)])
    uids = [post(srv.url, namespace, "plain_record", str(record)).uid for _ in range(30)]
    for _ in range(30):
        post(srv.url, namespace, "plain_sleep", 0.05)
    worker = WorkerProcess(
        srv.url,
        namespace,
        tmp_path,
        ["--tasks", f"{SAMPLE}:plain_record", "--tasks", f"{SAMPLE}:plain_sleep", "--poll-interval", "0.1"],
    )
    try:
        wait_for(lambda: record.exists() and len(record.read_text().split()) >= 5)
        assert srv.stop(signal.SIGTERM) == 0
        wait_for(lambda: "server unreachable" in worker.log(), timeout=20, what=worker.log)
        srv = start_server("embedded", tmp_path, port=port, extra_args=["--db", str(db)])
        with EventixClient(srv.url) as client:
            wait_for(lambda: client.count(namespace=namespace, status="done") == 60, timeout=60)
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0, worker.log()
    finally:
        worker.stop()
        srv.stop()
    runs = Counter(record.read_text().split())
    assert set(runs) == set(uids)
    assert set(runs.values()) == {1}, runs.most_common(3)
    log = worker.log()
    assert log.count("server unreachable") == 1, log
    assert log.count("server reachable again") == 1, log


def test_two_workers_share_a_namespace(embedded_url, namespace, tmp_path) -> None:
    record = tmp_path / "ran.txt"
    args = ["--tasks", f"{SAMPLE}:plain_record", "--poll-interval", "0.05", "--concurrency", "3"]
    workers = [
        WorkerProcess(embedded_url, namespace, tmp_path, [*args, "--worker-id", f"w{i}"]) for i in range(2)
    ]
    # both poll before there is work, so neither finishes it all before the other has started
    wait_for(lambda: all("concurrency 3" in w.log() for w in workers), what=lambda: workers[1].log())
    # both stopped while the tasks are posted, then both let go: both meet a full queue
    # (posted one by one to polling workers, one worker could take each as it came on a loaded
    # machine; load-independent, unlike a head start in seconds)
    for worker in workers:
        worker.signal(signal.SIGSTOP)
    try:
        with EventixClient(embedded_url) as client:
            uids = [
                client.post_task(
                    Task(task="plain_record", namespace=namespace, args=[str(record)]).to_wire()
                ).uid
                for _ in range(200)
            ]
    finally:
        for worker in workers:
            worker.signal(signal.SIGCONT)
    wait_for(lambda: record.exists() and len(record.read_text().split()) >= 200, what=workers[0].log)
    wait_for(lambda: all(w.log().count("end ") == w.log().count("start ") for w in workers))
    for worker in workers:
        worker.signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait() == 0, worker.log()
    runs = Counter(record.read_text().split())
    assert set(runs) == set(uids)
    assert set(runs.values()) == {1}
    assert all("end " in w.log() for w in workers)  # both did work


def test_max_tasks_health_file_and_json_logs(embedded_url, namespace, tmp_path) -> None:
    for i in range(5):
        post(embedded_url, namespace, "add", i, i)
    health = tmp_path / "alive"
    worker = WorkerProcess(
        embedded_url,
        namespace,
        tmp_path,
        ["--max-tasks", "3", "--health-file", str(health), "--log-format", "json", "--worker-id", "j1"],
    )
    assert worker.wait() == 0, worker.log()
    assert health.exists()
    entries = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    ends = [e for e in entries if e["message"].startswith("end ")]
    assert len(ends) == 3
    assert ends[0]["status"] == "done"
    assert ends[0]["worker_id"] == "j1"
    assert ends[0]["task_name"] == "add"
    assert "duration_ms" in ends[0]
    with EventixClient(embedded_url) as client:
        assert client.count(namespace=namespace, status="done") == 3


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ("no_such_module_xyz", "cannot import no_such_module_xyz"),
        (f"{SAMPLE}:missing", "has no attribute 'missing'"),
        ("json", "no Eventix task objects in json"),
    ],
)
def test_registration_errors_stop_startup(embedded_url, namespace, tmp_path, tasks, message) -> None:
    worker = WorkerProcess(embedded_url, namespace, tmp_path, ["--tasks", tasks, "--burst"])
    assert worker.wait() == 2
    lines = [line for line in worker.log().splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert message in lines[0]
    assert "Traceback" not in worker.log()


def test_duplicate_names_stop_startup(embedded_url, namespace, tmp_path) -> None:
    worker = WorkerProcess(embedded_url, namespace, tmp_path, ["--tasks", SAMPLE, "--tasks", f"{SAMPLE}:add"])
    assert worker.wait() == 2
    assert "task name 'add' is registered twice" in worker.log()


def test_env_local_and_k8s_worker_id(embedded_url, namespace, tmp_path) -> None:
    workdir = tmp_path / "app"
    workdir.mkdir()
    (workdir / ".env.local").write_text(
        f"EVENTIX_NAMESPACE={namespace}\nEVENTIX_TASK_WORKER_ID=K8S_HOSTNAME\n"
    )
    task = post(embedded_url, namespace, "plain_where")
    import os
    import subprocess
    import sys

    from tests.support.servers import REPO_ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_")}
    env |= {
        "PYTHONPATH": str(REPO_ROOT),
        "HOSTNAME": "eventix-worker-7d9f-abc12",
        "EVENTIX_URL": embedded_url,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "eventix_cli", "worker", "--tasks", f"{SAMPLE}:plain_where", "--burst"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result = get(embedded_url, task.uid).result
    assert result["worker_id"] == "abc12"
    assert result["namespace"] == namespace


def test_server_supplied_text_is_escaped_in_the_worker_log(embedded_url, namespace, tmp_path) -> None:
    """A task name with a terminal escape and a newline neither restyles the operator's
    screen nor forges a log line of its own."""
    name = "evil\x1b[31mred\rback\nFORGED line \u202egnp.exe"
    task = post(embedded_url, namespace, name, retry=False)
    worker = WorkerProcess(embedded_url, namespace, tmp_path, ["--tasks", SAMPLE, "--burst"])
    assert worker.wait() == 0, worker.log()
    log = worker.log()
    assert f"start {task.uid} evil\\e[31mred\\rback\\nFORGED line \\u202egnp.exe" in log, log
    assert not any(char in log for char in "\x1b\r\u202e"), log
    assert not any(line.startswith("FORGED") for line in log.splitlines()), log
