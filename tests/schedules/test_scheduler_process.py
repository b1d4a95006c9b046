"""Real processes: two schedulers on one file, and the scheduler inside a worker."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from eventix_cli.client.api import EventixClient
from tests.support.servers import REPO_ROOT, child_env
from tests.support.signal_bursts import send_burst
from tests.support.workers import WorkerProcess, wait_for

pytestmark = pytest.mark.slow

SCHEDULES = """\
[schedules.tick]
every = "1s"
task = "add"
kwargs = { a = 1, b = 2 }
catch_up = "all"
"""


def start_scheduler(url: str, namespace: str, file: Path, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "eventix_cli", "scheduler", str(file), "--url", url, "-n", namespace]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, env=child_env())


def schedule_keys(client: EventixClient, namespace: str) -> list[str]:
    return [t.unique_key or "" for t in client.by_status(namespace=namespace).tasks]


def assert_one_task_per_slot(keys: list[str]) -> None:
    duplicates = {k: n for k, n in Counter(keys).items() if n > 1}
    assert not duplicates, duplicates
    slots = sorted(dt.datetime.strptime(k.removeprefix("schedule:tick:"), "%Y-%m-%dT%H:%M:%SZ") for k in keys)
    expected = [slots[0] + dt.timedelta(seconds=i) for i in range(len(slots))]
    assert slots == expected  # no slot lost either (catch_up = "all")


def test_two_schedulers_on_one_file_enqueue_each_slot_once(embedded_url, namespace, tmp_path) -> None:
    file = tmp_path / "schedules.toml"
    file.write_text(SCHEDULES)
    worker = WorkerProcess(embedded_url, namespace, tmp_path / "logs", args=["--poll-interval", "0.05"])
    first = start_scheduler(embedded_url, namespace, file, tmp_path / "first.log")
    second = start_scheduler(embedded_url, namespace, file, tmp_path / "second.log")
    logs = lambda: "\n".join(p.read_text() for p in (tmp_path / "first.log", tmp_path / "second.log"))  # noqa: E731
    try:
        with EventixClient(embedded_url, retries=0) as client:
            wait_for(lambda: len(schedule_keys(client, namespace)) >= 5, timeout=60, what=logs)
            for process in (first, second):
                process.send_signal(signal.SIGTERM)
            assert [first.wait(30), second.wait(30)] == [0, 0], logs()
            worker.signal(signal.SIGTERM)
            worker.wait()
            tasks = client.by_status(namespace=namespace).tasks
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
        worker.stop()
    assert_one_task_per_slot([t.unique_key or "" for t in tasks])
    assert any(t.status == "done" for t in tasks)  # the worker ran them while both schedulers went on
    assert "enqueued slot" in (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()


def test_the_worker_runs_its_own_schedules(embedded_url, namespace, tmp_path) -> None:
    file = tmp_path / "schedules.toml"
    file.write_text(SCHEDULES)
    worker = WorkerProcess(embedded_url, namespace, tmp_path / "logs", args=["--schedules", str(file)])
    try:
        with EventixClient(embedded_url, retries=0) as client:

            def done() -> int:
                return sum(t.status == "done" for t in client.by_status(namespace=namespace).tasks)

            wait_for(lambda: done() >= 3, timeout=60, what=worker.log)
            worker.signal(signal.SIGTERM)
            assert worker.wait() == 0, worker.log()
            tasks = client.by_status(namespace=namespace).tasks
    finally:
        worker.stop()
    assert_one_task_per_slot([t.unique_key or "" for t in tasks])
    assert all(t.result == 3 for t in tasks if t.status == "done")
    log = worker.log()
    assert "tick: enqueued slot" in log
    assert "scheduler stopped" in log


def test_a_broken_schedules_file_stops_the_worker_before_it_starts(embedded_url, namespace, tmp_path) -> None:
    file = tmp_path / "schedules.toml"
    file.write_text('[schedules.tick]\ncron = "61 * * * *"\ntask = "add"\n')
    worker = WorkerProcess(embedded_url, namespace, tmp_path / "logs", args=["--schedules", str(file)])
    assert worker.wait(30) == 2
    assert "error: schedules.toml: schedule tick: cron '61 * * * *'" in worker.log()


#: schedulers run side by side, each given one burst of stop signals: enough to catch the race
BURST_SCHEDULERS = 8


def test_a_burst_of_stop_signals_never_freezes_the_scheduler(embedded_url, namespace, tmp_path) -> None:
    file = tmp_path / "hourly.toml"
    file.write_text('[schedules.hourly]\nevery = "1h"\ntask = "add"\n')
    logs = [tmp_path / f"scheduler-{i}.log" for i in range(BURST_SCHEDULERS)]
    processes = [start_scheduler(embedded_url, namespace, file, log) for log in logs]
    try:
        for process, log in zip(processes, logs, strict=True):
            wait_for(lambda log=log: "scheduler started" in log.read_text(), timeout=60, what=log.read_text)
            send_burst(process.pid)
        for process, log in zip(processes, logs, strict=True):
            try:
                code = process.wait(20)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the scheduler froze:\n{log.read_text()}") from None
            assert code == 0, log.read_text()
            assert "scheduler stopped" in log.read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(5)
