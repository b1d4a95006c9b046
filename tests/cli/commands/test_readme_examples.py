"""Every console example of README.md, run as printed in a terminal of 80 columns against an
embedded server seeded with the tasks the examples name; where the README shows output, the
output must read the same (uids, numbers and column gaps aside: see tests/support/readme.py).

How examples are marked (skip, until-stopped, with-worker) and how files they use are defined:
tests/support/readme.py. After a change to what a command prints, rewrite the samples with

    UPDATE_README_SAMPLES=1 .venv/bin/python -m pytest tests/cli/commands/test_readme_examples.py

and review the diff. Each block starts from the same seeded server and a fresh working directory.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from tests.support.readme import Block, Command, matches, parse, run_in_terminal, updated_sample
from tests.support.servers import PROXY_VARIABLES, REPO_ROOT, running_server
from tests.support.tasks import ago
from tests.support.workers import WorkerProcess

README = REPO_ROOT / "README.md"
BLOCKS, FILES = parse(README.read_text(encoding="utf-8"))
UPDATE = os.environ.get("UPDATE_README_SAMPLES") == "1"
SHOWN_URL = "http://127.0.0.1:8000"

#: the tasks the README's examples name, by uid
FAILED = "3f2a9c0e8d7b4a1f9e6d5c4b3a291807"
SCHEDULED = "6b0d7c1e2f3a4b5c6d7e8f9012345678"
RUNNING_EXPIRED = "9e6d5c4b3a2918073f2a9c0e8d7b4a1f"
DONE = "5a1e0c3b7d9f4e2a8c6b0d1f3e5a7c9b"  # also "$uid" in the examples
RUNNING = "7d9f4e2a8c6b0d1f3e5a7c9b5a1e0c3b"
ERROR_RESULT = {
    "error_class": "ValueError",
    "error_message": "no such invoice: 4711",
    "error_status_code": 500,
    "error_traceback": ["Traceback (most recent call last):\n", "ValueError: no such invoice: 4711\n"],
    "error_payload": {},
}


def seed(url: str) -> None:
    """Empty the server, then store the tasks the examples name (and a few around them)."""
    future = ago(hours=-1)
    tasks = [
        Task(uid=FAILED, task="send_invoice", status=TaskStatus.error, priority=-5, unique_key="inv:4711",
             eta=ago(hours=2), created_time=ago(hours=2), result=ERROR_RESULT, max_retries=0),
        Task(uid=SCHEDULED, task="send_invoice", eta=future, kwargs={"invoice_id": 4712}),
        Task(task="rebuild_report", eta=future, unique_key="report:2026-11", kwargs={"scope": "all"}),
        Task(uid=DONE, task="send_invoice", status=TaskStatus.done, kwargs={"invoice_id": 4710},
             result="invoice 4710 sent", created_time=ago(minutes=30)),
        *(Task(task="send_invoice", status=TaskStatus.done, created_time=ago(days=8)) for _ in range(3)),
        Task(uid=RUNNING_EXPIRED, task="import_csv", namespace="billing", status=TaskStatus.processing,
             worker_id="host-42", worker_expires=ago(minutes=1), created_time=ago(minutes=6)),
        Task(uid=RUNNING, task="send_invoice", namespace="billing", status=TaskStatus.processing,
             worker_id="host-41", worker_expires=ago(minutes=-4)),
        *(Task(task="send_invoice", namespace="billing", eta=future) for _ in range(2)),
        Task(task="import_csv", namespace="billing", status=TaskStatus.error, result=ERROR_RESULT),
        *(Task(task="send_invoice", namespace="billing", status=TaskStatus.done) for _ in range(2)),
    ]  # fmt: skip
    with EventixClient(url) as client:
        for namespace in client.namespaces():
            for task in list(client.iter_tasks(namespace=namespace)):
                client.delete_task(task.uid)
        for task in tasks:
            client.put_task(task.to_wire())


def _files(work: Path, url: str) -> None:
    """What the examples read besides the README's own files: written as a user would have them."""
    for path, text in FILES.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    (work / "params.json").write_text('{"scope": "all"}\n')
    (work / "tasks.jsonl").write_text('{"task": "send_invoice", "kwargs": {"invoice_id": 4720}}\n')
    dump = work / "eventix-dump"  # upstream's `eventixcli dump`: one JSON file per task
    dump.mkdir()
    with EventixClient(url) as client:
        document = client.get_task(DONE).to_wire()
    (dump / f"{DONE}.json").write_text(json.dumps(document, indent=2))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    logs = tmp_path_factory.mktemp("readme-server")
    with running_server(
        "embedded", logs, extra_args=["--db", ":memory:", "--cleanup-interval", "3600"]
    ) as srv:
        yield srv


def _env(url: str, tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EVENTIX_") and k not in PROXY_VARIABLES and k not in ("COLUMNS", "LINES")
    }
    (tmp / "home").mkdir()
    return env | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp / "home"),
        "XDG_DATA_HOME": str(tmp / "home" / "data"),
        "EVENTIX_URL": url,
        "EVENTIX_CONFIG_DIR": str(tmp / "config"),
        "NO_COLOR": "1",
        "TERM": "xterm",
        "uid": DONE,
    }


def _shown(lines: list[str], url: str, work: Path) -> list[str]:
    return [line.replace(url, SHOWN_URL).replace(str(work), ".") for line in lines]


def _rewrite_sample(command: Command, lines: list[str]) -> None:
    """Put ``lines`` in the README in place of the sample shown after ``command``."""
    text = README.read_text(encoding="utf-8")
    dollar = "$ " + command.text
    old = "\n".join([dollar, *command.sample]) + "\n"
    new = "\n".join([dollar, *updated_sample(command.sample, lines)]) + "\n"
    assert text.count(old) == 1, f"cannot find the sample of `{command.text}` in README.md"
    README.write_text(text.replace(old, new), encoding="utf-8")


def _params() -> list:
    params = []
    for block in BLOCKS:
        marks = [pytest.mark.skip(reason=f"README: {block.reason}")] if block.mode == "skip" else []
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


@pytest.mark.parametrize("block", _params())
def test_readme_console_example(block: Block, server, tmp_path: Path) -> None:
    assert block.commands, f"a console block without a `$ ` command: README.md line {block.line + 1}"
    work = tmp_path / "work"
    work.mkdir()
    seed(server.url)
    _files(work, server.url)
    env = _env(server.url, tmp_path)
    worker = None
    if block.mode == "with-worker":
        worker = WorkerProcess(server.url, "default", tmp_path / "logs")
    try:
        for command in block.commands:
            outcome = run_in_terminal(
                command.text, env, work, timeout=90, until_stopped=block.mode == "until-stopped"
            )
            shown = _shown(outcome.lines, server.url, work)
            where = f"README.md line {command.line + 1}: $ {command.text}"
            assert outcome.code == 0, f"{where}\nexit {outcome.code}\n" + "\n".join(shown)
            if command.sample and not matches(command.sample, shown):
                if UPDATE:
                    _rewrite_sample(command, shown)
                    continue
                pytest.fail(
                    f"{where}\nthe README shows:\n"
                    + "\n".join(command.sample)
                    + "\nthe command printed:\n"
                    + "\n".join(shown)
                    + "\n(UPDATE_README_SAMPLES=1 rewrites the README's samples)"
                )
    finally:
        if worker is not None:
            worker.stop()


def test_every_example_block_is_run_or_skipped_with_a_reason() -> None:
    assert len(BLOCKS) > 30
    for block in BLOCKS:
        assert block.mode != "skip" or block.reason, f"README.md line {block.line + 1}: a skip needs a reason"
    run = [b for b in BLOCKS if b.mode != "skip"]
    assert len(run) > len(BLOCKS) / 2


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_to_a_section_of_the_readme_finds_it() -> None:
    text = README.read_text(encoding="utf-8")
    anchors = {
        _anchor(h) for h in re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M)
    }
    links = set(re.findall(r"\]\(#([^)]+)\)", re.sub(r"<!--.*?-->", "", text, flags=re.S)))
    assert links - anchors == set()


def test_the_sample_comparison_is_strict_about_what_does_not_vary() -> None:
    sample = ["UID   TASK   STATUS", f"{FAILED}   send_invoice   error", "..."]
    assert matches(
        sample, ["UID  TASK  STATUS", "0123456789abcdef0123456789abcdef  send_invoice  error", "x"]
    )
    assert not matches(sample, ["UID  TASK  STATUS  PRIO", f"{FAILED}  send_invoice  error  5"])
    assert not matches(["1 cancelled in 0.03s (35/s)"], ["1 cancelled in 0.03s (35/s)", "warning: extra"])
    assert matches(["would purge 1,204 task(s)"], ["would purge 3 task(s)"])
