"""The test support itself: servers, workers and fixtures ignore the machine's proxy settings.

A developer's shell often carries HTTP_PROXY and friends; a test server on 127.0.0.1 must not
be asked for through them. Every proxy variable here points at a dead loopback port, so any
request that used one would fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from eventix_cli.core.task import Task
from tests.support.servers import PROXY_VARIABLES, REPO_ROOT, free_port, running_server
from tests.support.workers import WorkerProcess

DEAD_PROXY = f"http://127.0.0.1:{free_port()}"


def _with_dead_proxies(env: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in env.items() if k not in PROXY_VARIABLES}
    return env | {"HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY}


def test_a_server_and_a_worker_started_under_proxy_variables_work(monkeypatch, tmp_path, namespace) -> None:
    for name, value in _with_dead_proxies({}).items():
        monkeypatch.setenv(name, value)
    with running_server("embedded", tmp_path) as server:  # waits for /healthz: through no proxy
        direct = httpx.Client(trust_env=False)
        task = Task(task="add", namespace=namespace, args=[2, 3])
        assert direct.post(f"{server.url}/task", json=task.to_wire()).status_code == 200
        worker = WorkerProcess(server.url, namespace, tmp_path, ["--burst"])
        assert worker.wait() == 0, worker.log()
        stored = direct.get(f"{server.url}/task/{task.uid}").json()
        assert stored["status"] == "done", worker.log()
        assert stored["result"] == 5


def test_the_fixtures_work_in_a_shell_with_proxy_variables(tmp_path: Path) -> None:
    """A pytest run of tests that use the session's servers (both kinds), CLI runner and seeds."""
    env = _with_dead_proxies({k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")})
    tests = [
        "tests/cli/commands/task/test_bulk.py::test_retry_by_id",
        "tests/contract/test_client_contract.py::test_unique_key_post_updates_a_task_in_retry",
    ]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--basetemp={tmp_path / 'pt'}",
            *tests,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "4 passed" in run.stdout
