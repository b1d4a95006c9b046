"""`task retry --set` and `--edit` against both servers: one revision-checked write that leaves
the task as the server's reschedule would, with the fields changed."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from eventix_cli.cli.commands.task.retrying import retried_document, write_retry
from eventix_cli.client.api import EventixClient
from eventix_cli.core.errors import RevisionConflict
from eventix_cli.core.times import utcnow
from tests.support.servers import free_port
from tests.support.tasks import failed, get, seed

# what a write changes by itself, whoever makes it
WRITTEN = {"revision", "updated_time"}

EDITOR = """\
import json, os, sys
path = sys.argv[1]
with open(os.environ["EDITOR_LOG"], "a") as log:
    log.write(path + "\\n")
mode = os.environ["EDIT_MODE"]
if mode == "invalid":
    open(path, "w").write('{"args": [1,')
elif mode != "keep":
    doc = json.load(open(path))
    doc["kwargs"].update(json.loads(mode))
    open(path, "w").write(json.dumps(doc))
"""


@pytest.fixture
def editor(tmp_path: Path):
    """An editor for the command to run: a script told by EDIT_MODE what to do with the file
    (a JSON object merged into kwargs, ``invalid``, ``keep``); it logs each file it opened."""
    script = tmp_path / "editor.py"
    script.write_text(EDITOR)
    log = tmp_path / "editor.log"

    def env(mode: str, command: str | None = None) -> dict[str, str]:
        return {
            "VISUAL": "",
            "EDITOR": command or f"{sys.executable} {script}",
            "EDIT_MODE": mode,
            "EDITOR_LOG": str(log),
        }

    env.opened = lambda: log.read_text().split() if log.exists() else []  # type: ignore[attr-defined]
    return env


def _logical(doc_priority: int) -> int:
    return -doc_priority


def test_set_changes_fields_in_the_one_retry_write(cli, server, namespace) -> None:
    bad = failed(server.url, namespace, kwargs={"invoice_id": 1, "dry_run": True}, args=[1])[0]
    result = cli(
        "task", "retry", bad.uid, "--url", server.url,
        "--set", "kwargs.invoice_id=4712", "--set", 'args=[2, "EUR"]', "--set", "priority=5",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("1 retried in ")
    after = get(server.url, bad.uid)
    assert after.status.value == "scheduled"
    assert after.worker_id is None
    assert after.kwargs == {"invoice_id": 4712, "dry_run": True}
    assert after.args == [2, "EUR"]
    assert after.logical_priority == 5
    assert after.result == bad.result  # as the server's reschedule: the last error stays readable
    assert after.revision != bad.revision


def test_set_eta_schedules_the_retry_then(cli, server, namespace) -> None:
    bad = failed(server.url, namespace)[0]
    result = cli("task", "retry", bad.uid, "--url", server.url, "--set", "eta=+1h")
    assert result.exit_code == 0, result.stderr
    eta = get(server.url, bad.uid).eta
    assert abs((eta - (utcnow() + dt.timedelta(hours=1))).total_seconds()) < 60


def test_the_write_leaves_the_task_as_the_servers_reschedule_does(server, namespace) -> None:
    by_server, by_write = failed(server.url, namespace, 2, worker_id="w1")
    eta = (utcnow() + dt.timedelta(minutes=5)).replace(microsecond=0)
    with EventixClient(server.url) as client:
        client.reschedule(by_server.uid, eta)
        before = client.get_task(by_write.uid).to_wire()
        write_retry(client, before, retried_document(before, (), eta, force=False))
        one, other = client.get_task(by_server.uid).to_wire(), client.get_task(by_write.uid).to_wire()
    changed_by_server = {k for k in one if one[k] != by_server.to_wire().get(k)} - WRITTEN
    changed_by_write = {k for k in other if other[k] != by_write.to_wire().get(k)} - WRITTEN
    assert changed_by_write == changed_by_server == {"status", "eta", "worker_id"}
    for key in changed_by_server:
        assert one[key] == other[key], key


def test_a_task_changed_since_it_was_read_is_not_overwritten(server, namespace) -> None:
    bad = failed(server.url, namespace)[0]
    with EventixClient(server.url) as client:
        before = client.get_task(bad.uid).to_wire()
        client.reschedule(bad.uid)  # someone else retried it meanwhile
        with pytest.raises(RevisionConflict):
            write_retry(client, before, retried_document(before, (), None, force=False))
    assert get(server.url, bad.uid).kwargs == bad.kwargs


def test_set_by_filter_and_from_stdin(cli, server, namespace) -> None:
    bad = failed(server.url, namespace, 3, task="send", kwargs={"n": 1})
    result = cli(
        "task", "retry", "--url", server.url, "-n", namespace, "--task", "send",
        "--set", "kwargs.n=2", "--yes",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert {get(server.url, t.uid).kwargs["n"] for t in bad} == {2}
    again = failed(server.url, namespace, 2, kwargs={"n": 1})
    ids = "\n".join(t.uid for t in again) + "\n"
    result = cli("task", "retry", "-", "--url", server.url, "--set", "kwargs.n=3", input=ids)
    assert result.exit_code == 0, result.stderr
    assert {get(server.url, t.uid).kwargs["n"] for t in again} == {3}


def test_set_on_tasks_that_cannot_be_retried(cli, server, namespace) -> None:
    from eventix_cli.core.statuses import TaskStatus

    done = seed(server.url, namespace, status=TaskStatus.done)[0]
    queued = seed(server.url, namespace)[0]
    result = cli(
        "task", "retry", done.uid, queued.uid, "--url", server.url, "--set", "kwargs.x=1", "-o", "json"
    )  # fmt: skip
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["skipped"] == [{"uid": queued.uid, "reason": "already scheduled"}]
    assert report["failed"][0]["error_class"] == "WrongTaskStatus"
    assert "status is done" in report["failed"][0]["reason"]
    assert get(server.url, done.uid).revision == done.revision
    forced = cli("task", "retry", done.uid, "--url", server.url, "--set", "kwargs.x=1", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert (get(server.url, done.uid).status.value, get(server.url, done.uid).kwargs) == (
        "scheduled",
        {"x": 1},
    )


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("colour=red", "unknown field"),
        ("args=[1,", "invalid JSON"),
        ("kwargs.a.b=1", "one keyword name"),
        ("priority=high", "not an integer"),
    ],
)
def test_bad_set_is_one_line_exit_2_and_nothing_sent(cli, spec, says) -> None:
    # no server listens on this port: reaching it would be exit 3, not 2
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("task", "retry", "a" * 32, "--url", url, "--set", spec)
    assert result.exit_code == 2, result.stderr
    assert says in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("error:") == 1


def test_set_with_eta_twice_is_refused(cli) -> None:
    result = cli("task", "retry", "a" * 32, "--set", "eta=+1h", "--eta", "+2h")
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_dry_run_shows_the_change_and_changes_nothing(cli, server, namespace) -> None:
    bad = failed(server.url, namespace, kwargs={"n": 1}, priority=-1)[0]
    args = ("task", "retry", bad.uid, "--url", server.url, "--set", "kwargs.n=2", "--set", "priority=4")
    result = cli(*args, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert f"{bad.uid}  kwargs.n: 1 -> 2" in result.stdout
    assert f"{bad.uid}  priority: 1 -> 4" in result.stdout
    report = json.loads(cli(*args, "--dry-run", "-o", "json").stdout)
    assert report["tasks"] == [
        {
            "uid": bad.uid,
            "changes": [
                {"field": "kwargs.n", "before": 1, "after": 2},
                {"field": "priority", "before": 1, "after": 4},
            ],
            "reason": None,
        }
    ]
    by_filter = json.loads(
        cli(
            "task",
            "retry",
            "--url",
            server.url,
            "-n",
            namespace,
            "--set",
            "kwargs.n=2",
            "--dry-run",
            "-o",
            "json",
        ).stdout
    )
    assert by_filter["count"] == 1
    assert by_filter["query"]["filter"] == {"namespace": namespace, "status": "error"}
    assert by_filter["tasks"][0]["changes"] == [{"field": "kwargs.n", "before": 1, "after": 2}]
    lines = [json.loads(line) for line in cli(*args, "--dry-run", "-o", "jsonl").stdout.splitlines()]
    assert lines == [
        {"uid": bad.uid, "field": "kwargs.n", "before": 1, "after": 2},
        {"uid": bad.uid, "field": "priority", "before": 1, "after": 4},
    ]
    assert get(server.url, bad.uid).revision == bad.revision


# -- --edit ---------------------------------------------------------------------------------


def test_edit_retries_with_what_the_editor_saved(cli, server, namespace, editor) -> None:
    bad = failed(server.url, namespace, kwargs={"n": 1, "keep": "me"})[0]
    result = cli("task", "retry", bad.uid, "--url", server.url, "--edit", env=editor('{"n": 2}'))
    assert result.exit_code == 0, result.stderr
    after = get(server.url, bad.uid)
    assert (after.status.value, after.kwargs) == ("scheduled", {"n": 2, "keep": "me"})
    [opened] = editor.opened()
    assert not Path(opened).exists()  # the file is removed once the task is written


def test_edit_saved_unchanged_sends_nothing(cli, server, namespace, editor) -> None:
    bad = failed(server.url, namespace)[0]
    result = cli("task", "retry", bad.uid, "--url", server.url, "--edit", env=editor("keep"))
    assert result.exit_code == 0, result.stderr
    assert "nothing was sent" in result.stderr
    assert get(server.url, bad.uid).revision == bad.revision


def test_edit_invalid_json_keeps_the_file_for_another_try(cli, server, namespace, editor) -> None:
    bad = failed(server.url, namespace, kwargs={"n": 1})[0]
    result = cli("task", "retry", bad.uid, "--url", server.url, "--edit", env=editor("invalid"))
    assert result.exit_code == 2
    [kept] = editor.opened()
    assert f"{kept}: invalid JSON" in result.stderr
    assert f"--edit-file {kept}" in result.stderr
    assert Path(kept).read_text() == '{"args": [1,'
    assert get(server.url, bad.uid).revision == bad.revision
    # the second try opens the kept file as it was left
    Path(kept).write_text('{"args": [], "kwargs": {"n": 5}}')
    again = cli("task", "retry", bad.uid, "--url", server.url, "--edit-file", kept, env=editor('{"m": 6}'))
    assert again.exit_code == 0, again.stderr
    assert get(server.url, bad.uid).kwargs == {"n": 5, "m": 6}
    assert not Path(kept).exists()


def test_edit_opens_no_editor_for_a_task_that_cannot_be_retried(cli, server, namespace, editor) -> None:
    queued = seed(server.url, namespace)[0]
    result = cli("task", "retry", queued.uid, "--url", server.url, "--edit", env=editor('{"n": 2}'))
    assert result.exit_code == 0
    assert f"{queued.uid}: already scheduled" in result.stderr
    assert editor.opened() == []


def test_edit_with_a_failing_editor_sends_nothing(cli, server, namespace, editor) -> None:
    bad = failed(server.url, namespace)[0]
    result = cli("task", "retry", bad.uid, "--url", server.url, "--edit", env=editor("keep", "false"))
    assert result.exit_code == 1
    assert "the editor exited with status 1; nothing was sent" in result.stderr
    assert get(server.url, bad.uid).revision == bad.revision


def test_edit_needs_exactly_one_id(cli) -> None:
    for args in (["a" * 32, "b" * 32], ["-"], []):
        result = cli("task", "retry", *args, "--edit")
        assert result.exit_code == 2
        assert "exactly one task id" in result.stderr
    result = cli("task", "retry", "a" * 32, "--edit", "--set", "kwargs.a=1")
    assert result.exit_code == 2


def test_the_deepest_value_set_is_stored(cli, server, namespace) -> None:
    bad = failed(server.url, namespace)[0]
    deep = "[" * 98 + "]" * 98
    result = cli("task", "retry", bad.uid, "--url", server.url, "--set", f"kwargs.deep={deep}")
    assert result.exit_code == 0, result.stderr
    assert json.dumps(get(server.url, bad.uid).kwargs["deep"]).replace(" ", "") == deep
    deeper = cli("task", "retry", bad.uid, "--url", server.url, "--set", f"kwargs.deep=[{deep}]")
    assert deeper.exit_code == 2


def test_the_edit_flow_as_the_view_calls_it(server, namespace, editor, monkeypatch) -> None:
    from eventix_cli.cli.bulk import Skip
    from eventix_cli.cli.commands.task.editing import edit_and_retry

    bad = failed(server.url, namespace, kwargs={"n": 1})[0]
    with EventixClient(server.url) as client:
        for name, value in editor("keep").items():
            monkeypatch.setenv(name, value)
        assert edit_and_retry(client, bad.uid) is None  # saved unchanged: nothing sent
        monkeypatch.setenv("EDIT_MODE", '{"n": 2}')
        stored = edit_and_retry(client, bad.uid)
        assert stored is not None
        assert (stored.status.value, stored.kwargs) == ("scheduled", {"n": 2})
        with pytest.raises(Skip):  # now scheduled: the editor is not opened again
            edit_and_retry(client, bad.uid)
    assert len(editor.opened()) == 2
