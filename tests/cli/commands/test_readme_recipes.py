"""The README's scripting recipes, extracted from README.md and run exactly as printed (in bash,
as real processes) against an embedded server of their own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import TaskStatus
from tests.support.servers import REPO_ROOT, running_server
from tests.support.tasks import ago, failed, seed, statuses
from tests.support.workers import WorkerProcess

CRON = re.compile(r"^(?:\S+\s+){5}(?P<command>eventix .*)$")


def readme_recipes() -> list[tuple[str, str]]:
    """(comment, command) of every recipe in the README's "Scripting recipes" block."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Scripting recipes", 1)[1]
    block = section.split("```console\n", 1)[1].split("```", 1)[0]
    recipes, comment = [], ""
    for line in block.splitlines():
        if line.startswith("# "):
            comment = line[2:]
        elif line.startswith("$ "):
            recipes.append((comment, line[2:]))
        elif cron := CRON.match(line):
            recipes.append((comment, cron.group("command")))
        elif line.strip():
            raise AssertionError(f"a README recipe line this test cannot run: {line!r}")
    return recipes


def test_the_readme_has_the_recipes_this_test_expects() -> None:
    comments = [c for c, _ in readme_recipes()]
    assert len(comments) == 8
    assert comments[0].startswith("retry every error")
    assert comments[1].startswith("cron:")
    assert comments[2].startswith("CI:")


@pytest.fixture
def recipe_env(tmp_path: Path):
    # no cleanup during the test: it would requeue the task whose lease the running recipe flags
    extra = ["--db", ":memory:", "--cleanup-interval", "3600"]
    with running_server("embedded", tmp_path / "logs", extra_args=extra) as srv:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("EVENTIX_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
        }
        env |= {
            "EVENTIX_URL": srv.url,
            "EVENTIX_CONFIG_DIR": str(tmp_path / "config"),
            "EVENTIX_STATE_DIR": str(tmp_path / "state"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(REPO_ROOT),
            "NO_PROXY": "127.0.0.1",
        }
        env.pop("COLUMNS", None)
        yield srv, env, tmp_path


def _run(command: str, env: dict, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_readme_recipes_run_as_printed(recipe_env) -> None:
    srv, env, tmp = recipe_env
    recipes = readme_recipes()

    def recipe(start: str) -> str:
        [command] = [command for comment, command in recipes if comment.startswith(start)]
        return command

    work = tmp / "work"
    work.mkdir()

    # retry every error of one task function from the last hour: more than 50, all of them
    errors = failed(srv.url, "default", 57, task="send_invoice")
    old_error = failed(srv.url, "default", task="send_invoice", created_time=ago(hours=3))[0]
    result = _run(recipe("retry every error of one task function from the last hour"), env, work)
    assert result.returncode == 0, result.stderr
    now = statuses(srv.url, "default")
    assert {now[t.uid] for t in errors} == {"scheduled"}
    assert now[old_error.uid] == "error"
    with EventixClient(srv.url) as client:
        for task in errors:  # out of the way of the CI recipe's worker
            client.delete_task(task.uid)

    # cron: purge done tasks older than 7 days
    old_done = seed(srv.url, "billing", 3, status=TaskStatus.done, created_time=ago(days=8))
    new_done = seed(srv.url, "billing", status=TaskStatus.done)[0]
    result = _run(recipe("cron"), env, work)
    assert result.returncode == 0, result.stderr
    left = statuses(srv.url, "billing")
    assert new_done.uid in left
    assert not {t.uid for t in old_done} & set(left)

    # CI: a failing task fails the job at once, not after 10 minutes
    worker = WorkerProcess(srv.url, "default", tmp / "logs", ["--tasks", "eventix_cli.examples.tasks:greet"])
    try:
        started = time.monotonic()
        result = _run(recipe("CI"), env, work, timeout=120)
        took = time.monotonic() - started
    finally:
        worker.stop()
    assert result.returncode == 1, result.stderr
    assert "failed an attempt: TaskNotRegistered" in result.stderr
    assert took < 60

    # enqueue a batch
    result = _run(recipe("enqueue a batch, one JSON object per line"), env, work)
    assert result.returncode == 0, result.stderr
    uids = result.stdout.split()
    with EventixClient(srv.url) as client:
        assert [client.get_task(u).kwargs["invoice_id"] for u in uids] == [4711, 4712, 4713]

    # errors per task function, as JSON
    failed(srv.url, "billing", 2, task="import_csv")
    result = _run(recipe("errors per task function, as JSON"), env, work)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"task": "import_csv", "error": 2}

    # what is running where
    seed(srv.url, "billing", status=TaskStatus.processing, worker_id="w-1", worker_expires=ago(seconds=60))
    result = _run(recipe("what is running where, and whose lease ran out"), env, work)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"worker_id": "w-1", "expired": 1}

    # back up a namespace before a risky change, and put it back as it was
    before = {t.uid: t for t in _tasks(srv.url, "billing")}
    result = _run(recipe("back up a namespace before a risky change"), env, work)
    assert result.returncode == 0, result.stderr
    assert (work / "billing.jsonl").exists()
    # the risky change: a done task purged, an error task requeued, a task added
    gone = next(t for t in before.values() if t.status.value == "done")
    changed = next(t for t in before.values() if t.status.value == "error")
    with EventixClient(srv.url) as client:
        client.delete_task(gone.uid)
    assert _run(f"eventix task retry {changed.uid} -n billing", env, work).returncode == 0
    added = seed(srv.url, "billing")[0]
    result = _run(recipe("put it back as it was"), env, work)
    assert result.returncode == 0, result.stderr
    after = {t.uid: t for t in _tasks(srv.url, "billing")}
    assert set(after) == set(before) | {added.uid}
    assert {uid: (t.status, t.kwargs, t.result) for uid, t in after.items() if uid != added.uid} == {
        uid: (t.status, t.kwargs, t.result) for uid, t in before.items()
    }


def _tasks(url: str, namespace: str) -> list:
    with EventixClient(url) as client:
        return list(client.iter_tasks(namespace=namespace))
