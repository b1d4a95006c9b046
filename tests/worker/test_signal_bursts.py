"""A burst of stop signals (``timeout`` signals the child, then its process group) never
freezes a worker: each one ends promptly with the documented forced-stop exit code."""

from __future__ import annotations

import uuid

import pytest

from eventix_cli.core.statuses import TaskStatus
from tests.support.signal_bursts import send_burst
from tests.support.tasks import get, post
from tests.support.workers import WorkerProcess, wait_for

pytestmark = pytest.mark.slow

#: workers run side by side, each given one burst: enough tries to catch the race
WORKERS = 8


def test_a_burst_of_stop_signals_forces_the_stop_and_releases_the_running_task(
    embedded_url, tmp_path
) -> None:
    runs = []
    for index in range(WORKERS):
        namespace = f"t-{uuid.uuid4().hex[:12]}"
        marker = tmp_path / f"started-{index}"
        task = post(embedded_url, namespace, "sleep_for", 120, str(marker))
        worker = WorkerProcess(embedded_url, namespace, tmp_path, ["--shutdown-timeout", "120"])
        runs.append((worker, marker, task))
    try:
        for worker, marker, _ in runs:
            wait_for(marker.exists, timeout=60, what=worker.log)
            send_burst(worker.process.pid)
        for worker, _, task in runs:
            # a second signal: release the running task and exit 1, long before the task or
            # --shutdown-timeout would end; a frozen worker never exits
            assert worker.wait(30) == 1, worker.log()
            assert get(embedded_url, task.uid).status == TaskStatus.scheduled, worker.log()
    finally:
        for worker, _, _ in runs:
            worker.stop()
