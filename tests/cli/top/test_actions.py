"""Actions from ``eventix top``: each asked first (how many, which), then reported as the bulk
commands report; marks; the force semantics of cancel on a processing task; read-only mode
refuses with nothing sent."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from eventix_cli.cli.top.actions import ACTIONS, LISTED, question
from eventix_cli.cli.top.dialogs import Confirm
from eventix_cli.core.errors import TaskNotFound
from eventix_cli.core.task import Task
from eventix_cli.core.times import utcnow
from eventix_cli.core.view import TaskView
from tests.cli.top.pilot import run, running_top, settled, table_rows, text_of, until
from tests.cli.top.test_tasks_view import ERROR, store

pytestmark = pytest.mark.contract


def uids(pilot) -> list[str]:
    return [row[1] for row in table_rows(pilot)]


async def ask(pilot, *keys: str) -> str:
    """Press the keys of an action; returns the question the dialog asks."""
    await pilot.press(*keys)
    dialog = await until(
        pilot, lambda: isinstance(pilot.app.screen, Confirm) and pilot.app.screen, "the dialog"
    )
    return str(dialog.query_one("#question").render())


def test_retry_asks_then_reschedules_and_reports(client, server, namespace) -> None:
    failed = store(client, namespace, 0, status="error", result=ERROR, task="send_invoice")

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            question = await ask(pilot, "r")
            assert question.startswith("Retry 1 task(s)?")
            assert f"{failed}  send_invoice  (error)" in question
            await pilot.press("n")
            await until(pilot, lambda: "not confirmed" in text_of(pilot, "#status"), "declined")
            assert client.get_task(failed).status.value == "error"
            await ask(pilot, "r")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(pilot.app.screen, Confirm), "escape declines")
            assert client.get_task(failed).status.value == "error"
            await ask(pilot, "r")
            await pilot.press("y")
            await until(pilot, lambda: text_of(pilot, "#status").startswith("1 retried"), "the report")
            assert client.get_task(failed).status.value == "scheduled"
            await until(pilot, lambda: table_rows(pilot)[0][3] == "scheduled", "the row refreshed")
            await pilot.press("r")  # now scheduled: skipped, with the reason, as `task retry` says
            await pilot.press("y")
            await until(pilot, lambda: "1 skipped" in text_of(pilot, "#status"), "the skip")
            assert "already scheduled" in text_of(pilot, "#status")

    run(scenario)


def test_marked_rows_are_cancelled_and_deleted_together(client, server, namespace) -> None:
    pending = [store(client, namespace, minute) for minute in (0, 1, 2)]
    done = store(client, namespace, 3, status="done")

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            assert uids(pilot) == [done, *reversed(pending)]
            await pilot.press("down", "space", "space")  # marks the two newest pending ones
            assert [row[0] for row in table_rows(pilot)] == [" ", "*", "*", " "]
            assert "2 marked" in text_of(pilot, "#counts")
            question = await ask(pilot, "c")
            assert question.startswith("Cancel 2 task(s)?")
            assert pending[2] in question
            assert pending[1] in question
            assert pending[0] not in question
            await pilot.press("y")
            await until(pilot, lambda: text_of(pilot, "#status").startswith("2 cancelled"), "the report")
            await until(pilot, lambda: uids(pilot) == [done, pending[0]], "the rows gone")
            assert "marked" not in text_of(pilot, "#counts")
            # none is marked: the row under the cursor, which stayed on its task through the refresh
            question = await ask(pilot, "ctrl+d")
            assert question.startswith("Delete 1 task(s)?")
            assert pending[0] in question
            await pilot.press("y")
            await until(pilot, lambda: text_of(pilot, "#status").startswith("1 deleted"), "the report")
        assert _gone(client, pending[0])
        assert not _gone(client, done)

    run(scenario)


def _gone(client, uid: str) -> bool:
    try:
        client.get_task(uid)
    except TaskNotFound:
        return True
    return False


def test_cancel_of_a_processing_task_warns_and_ends_it_as_cancelled(client, server, namespace) -> None:
    now = utcnow()
    task = Task(
        namespace=namespace,
        task="long_job",
        status="processing",
        worker_id="worker-1",
        worker_expires=now + dt.timedelta(minutes=5),
    )
    uid = client.post_task(task.to_wire()).uid

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            question = await ask(pilot, "c")
            assert "warning: 1 processing task(s) will be ended at once as error TaskCancelled" in question
            await pilot.press("y")
            await until(pilot, lambda: text_of(pilot, "#status").startswith("1 cancelled"), "the report")
        ended = client.get_task(uid)
        assert ended.status.value == "error"
        assert ended.error.error_class == "TaskCancelled"

    run(scenario)


@pytest.mark.parametrize("key", ["r", "c", "ctrl+d"])
def test_read_only_refuses_every_action_and_sends_nothing(client, server, namespace, key) -> None:
    failed = store(client, namespace, 0, status="error", result=ERROR)
    before = client.get_task(failed).to_wire()

    async def scenario() -> None:
        async with running_top(server.url, namespace, read_only=True) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            await pilot.press("space", key)
            status = await until(pilot, lambda: text_of(pilot, "#status"), "the refusal")
            assert "read-only mode is on" in status
            assert "(ReadOnlyError)" in status
            assert not isinstance(pilot.app.screen, Confirm)
        assert client.get_task(failed).to_wire() == before

    run(scenario)


def test_read_only_from_the_environment(client, server, namespace, monkeypatch) -> None:
    failed = store(client, namespace, 0, status="error", result=ERROR)
    monkeypatch.setenv("EVENTIX_READ_ONLY", "1")

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            await pilot.press("r")
            status = await until(pilot, lambda: text_of(pilot, "#status"), "the refusal")
            assert "refusing to retry tasks: read-only mode is on (from EVENTIX_READ_ONLY)" in status
        assert client.get_task(failed).status.value == "error"

    run(scenario)


def test_the_question_names_tasks_with_their_control_characters_escaped() -> None:
    tasks = [TaskView.of_model(Task(task="evil\x1b[2Jname", namespace="x")) for _ in range(LISTED + 2)]
    text = question(ACTIONS["delete"], tasks)
    assert "\x1b" not in text
    assert "evil\\e[2Jname" in text
    assert text.splitlines()[0] == f"Delete {LISTED + 2} task(s)?"
    assert text.splitlines()[-1] == "  ... and 2 more"


def test_actions_are_journaled_and_undone_as_the_task_commands_are(cli, client, server, namespace) -> None:
    """A cancel and a delete from the view are one journal entry each (the tasks one question
    confirmed); `eventix undo` puts the deleted tasks back, and the retried one as it was."""
    pending = store(client, namespace, 0, kwargs={"n": 1})
    failed = store(client, namespace, 1, status="error", result=ERROR, task="send_invoice")

    async def scenario() -> None:
        async with running_top(server.url, namespace) as pilot:
            await until(pilot, lambda: settled(pilot), "the first rows")
            assert uids(pilot) == [failed, pending]
            await ask(pilot, "r")  # the cursor is on the failed task
            await pilot.press("y")
            await until(pilot, lambda: text_of(pilot, "#status").startswith("1 retried"), "the retry")
            await pilot.press("down")
            await ask(pilot, "ctrl+d")
            await pilot.press("y")
            await until(pilot, lambda: text_of(pilot, "#status").startswith("1 deleted"), "the delete")

    run(scenario)
    assert _gone(client, pending)
    entries = json.loads(cli("history", "-o", "json").stdout)
    assert [(e["action"], e["changed"]) for e in entries][:2] == [
        ("top delete", {"delete": 1}),
        ("top retry", {"change": 1}),
    ]
    undone = cli("undo", "--yes", "--url", server.url)
    assert undone.exit_code == 0, undone.stderr
    assert client.get_task(pending).kwargs == {"n": 1}  # re-created under its uid
    undone = cli("undo", str(entries[1]["id"]), "--yes", "--url", server.url)  # the retry: back to error
    assert undone.exit_code == 0, undone.stderr
    assert client.get_task(failed).status.value == "error"
