"""``eventix top -n NS`` as a whole process in a pseudo-terminal, read back as a person would
see it: filter, open a failed task, retry it (asked first), see it rescheduled through the API,
quit with exit 0; the same in read-only mode, where the retry is refused and nothing changes;
and the server killed while the view is open: a banner, the process lives, ``q`` exits 0."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from tests.support.pty_screen import ENTER, ESCAPE, PATIENCE, PtyScreen, cli_env
from tests.support.servers import running_server

ERROR = {
    "error_class": "InvoiceMissing",
    "error_message": "no invoice for order 7",
    "error_status_code": 500,
    "error_traceback": ["Traceback (most recent call last):\n", '  File "billing.py", line 3\n'],
    "error_payload": {},
}


def _seed(url: str, namespace: str) -> tuple[str, list[str]]:
    """One failed task and a few others; the failed task's uid and the others'."""
    later = utcnow().replace(year=utcnow().year + 1)  # never due: nothing runs them
    with EventixClient(url, retries=0) as client:
        others = [
            client.post_task(Task(task=f"report-build-{i}", namespace=namespace, eta=later).to_wire()).uid
            for i in range(4)
        ]
        failed = client.post_task(
            Task(
                task="invoice-sync", namespace=namespace, status="error", retry=False, result=ERROR
            ).to_wire()
        ).uid
    return failed, others


def _status(url: str, uid: str) -> str:
    with EventixClient(url, retries=0) as client:
        return client.get_task(uid).status.value


@pytest.fixture
def top(tmp_path: Path) -> Iterator:
    started: list[PtyScreen] = []

    def start(url: str, *args: str, env: dict[str, str] | None = None) -> PtyScreen:
        screen = PtyScreen(
            "top", *args, "--interval", "0.5", env=cli_env(url, tmp_path / "config", env), cwd=tmp_path
        )
        started.append(screen)
        return screen

    yield start
    for screen in started:
        screen.close()


def _line_of(screen: str, uid: str) -> str:
    return next((line for line in screen.splitlines() if uid in line), "")


def _filter_and_open(screen: PtyScreen, failed: str, others: list[str]) -> None:
    screen.wait_for(lambda s: failed in s and all(uid in s for uid in others), "the task rows")
    screen.send("/")
    screen.wait_for(lambda s: "filter:" in s, "the filter box")
    screen.send("INVOICE" + ENTER)
    screen.wait_for(lambda s: failed in s and not any(uid in s for uid in others), "only the failed task")
    screen.send(ENTER)
    screen.wait_for(lambda s: "no invoice for order 7" in s and "billing.py" in s, "the task's error")
    screen.send(ESCAPE)
    screen.wait_for(lambda s: failed in s and "no invoice for order 7" not in s, "the tasks view again")


def test_filter_open_retry_confirm_quit(tmp_path: Path, top, namespace: str) -> None:
    with running_server("embedded", tmp_path / "logs") as server:
        failed, others = _seed(server.url, namespace)
        screen = top(server.url, "-n", namespace)
        _filter_and_open(screen, failed, others)
        screen.send("r")
        screen.wait_for(lambda s: "1 task(s)?" in s and failed in s, "the confirmation dialog")
        assert _status(server.url, failed) == "error"  # asked first: nothing sent yet
        screen.send("y")
        deadline = time.monotonic() + PATIENCE
        while _status(server.url, failed) != "scheduled":
            assert time.monotonic() < deadline, f"not rescheduled; the screen:\n{screen.text()}"
            screen.pump(0.2)
        screen.wait_for(
            lambda s: "retried" in s and "scheduled" in _line_of(s, failed), "the report and new status"
        )
        screen.send("q")
        assert screen.wait_exit() == 0
        assert "Traceback" not in screen.text()


def test_e_edits_a_failed_task_in_the_editor_and_retries_it(tmp_path: Path, top, namespace: str) -> None:
    """`e`: the view gives the terminal to $EDITOR (here a script that changes a kwarg), then
    retries the task with what was saved (journaled as every action of the view)."""
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import json, sys\n"
        "path = sys.argv[1]\n"
        "doc = json.load(open(path))\n"
        "doc['kwargs']['order'] = 8\n"
        "json.dump(doc, open(path, 'w'))\n"
    )
    with running_server("embedded", tmp_path / "logs") as server:
        failed, others = _seed(server.url, namespace)
        screen = top(server.url, "-n", namespace, env={"EDITOR": f"{sys.executable} {editor}"})
        _filter_and_open(screen, failed, others)
        screen.send("e")
        screen.wait_for(lambda s: "edited and retried" in s, "the report after the editor")
        with EventixClient(server.url, retries=0) as client:
            task = client.get_task(failed)
        assert (task.status.value, task.kwargs) == ("scheduled", {"order": 8})
        screen.send("q")
        assert screen.wait_exit() == 0
        assert "Traceback" not in screen.text()


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_read_only_refuses_the_retry_and_changes_nothing(
    tmp_path: Path, top, namespace: str, how: str
) -> None:
    with running_server("embedded", tmp_path / "logs") as server:
        failed, others = _seed(server.url, namespace)
        if how == "flag":
            screen = top(server.url, "-n", namespace, "--read-only")
        else:
            screen = top(server.url, "-n", namespace, env={"EVENTIX_READ_ONLY": "1"})
        _filter_and_open(screen, failed, others)
        screen.send("r")
        screen.wait_for(lambda s: "read-only" in s, "the refusal")
        assert "1 task(s)?" not in screen.text()  # no dialog: refused before asking
        screen.send("y")  # a stray confirmation changes nothing either
        screen.pump(1.0)
        assert _status(server.url, failed) == "error"
        screen.send("q")
        assert screen.wait_exit() == 0


def test_server_killed_while_open_shows_a_banner_and_q_exits_0(tmp_path: Path, top, namespace: str) -> None:
    with running_server("embedded", tmp_path / "logs") as server:
        failed, _others = _seed(server.url, namespace)
        screen = top(server.url, "-n", namespace)
        screen.wait_for(lambda s: failed in s, "the task rows")
        server.stop(signal.SIGKILL)
        text = screen.wait_for(lambda s: "server unreachable" in s, "the banner")
        assert failed in text  # the last data stays
        screen.pump(2.0)  # several refreshes fail meanwhile
        assert screen.child.isalive()
        assert "Traceback" not in screen.text()
        screen.send("q")
        assert screen.wait_exit() == 0
