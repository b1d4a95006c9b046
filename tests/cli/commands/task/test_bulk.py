"""retry, cancel and purge: by id, from stdin, by filter; confirmation, dry runs, partial failure."""

from __future__ import annotations

import json

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.task import TaskStatus
from tests.support.tasks import ago, failed, seed, statuses


@pytest.fixture
def tty(monkeypatch):
    """Pretend stdin and stderr are a terminal, so commands ask instead of refusing."""
    monkeypatch.setattr("eventix_cli.cli.bulk_run.interactive", lambda: True)


# -- retry ----------------------------------------------------------------------------------


def test_retry_by_id(cli, server, namespace) -> None:
    bad = failed(server.url, namespace)[0]
    result = cli("task", "retry", bad.uid, "--url", server.url)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("1 retried in ")
    assert statuses(server.url, namespace) == {bad.uid: "scheduled"}


def test_retry_partial_failure_json(cli, server, namespace) -> None:
    bad = failed(server.url, namespace)[0]
    done = seed(server.url, namespace, status=TaskStatus.done)[0]
    queued = seed(server.url, namespace)[0]
    missing = "e" * 32
    result = cli("task", "retry", bad.uid, done.uid, queued.uid, missing, "--url", server.url, "-o", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["done"] == [bad.uid]
    assert report["skipped"] == [{"uid": queued.uid, "reason": "already scheduled"}]
    failures = {f["uid"]: f for f in report["failed"]}
    assert set(failures) == {done.uid, missing}
    assert failures[done.uid]["error_class"] == "WrongTaskStatus"
    assert "status is done" in failures[done.uid]["reason"]
    assert failures[missing]["error_class"] == "NotFound"
    assert f"  {done.uid}: status is done" in result.stderr
    assert statuses(server.url, namespace)[done.uid] == "done"


def test_list_ids_pipe_into_retry(cli, server, namespace) -> None:
    bad = failed(server.url, namespace, 3)
    seed(server.url, namespace)
    ids = cli("task", "list", "--url", server.url, "-n", namespace, "--status", "error", "-o", "ids").stdout
    result = cli("task", "retry", "-", "--url", server.url, input=ids)
    assert result.exit_code == 0, result.stderr
    assert set(statuses(server.url, namespace).values()) == {"scheduled"}
    # jsonl works as input too
    lines = cli("task", "list", "--url", server.url, "-n", namespace, "-o", "jsonl").stdout
    result = cli("task", "retry", "-", "--url", server.url, "-o", "json", input=lines)
    assert len(json.loads(result.stdout)["skipped"]) == 4
    assert len(bad) == 3


def test_retry_by_filter_needs_yes_off_terminal(cli, server, namespace) -> None:
    failed(server.url, namespace, 2, task="a")
    failed(server.url, namespace, 1, task="b")
    result = cli("task", "retry", "--url", server.url, "-n", namespace, "--task", "a")
    assert result.exit_code == 2
    assert "not on a terminal" in result.stderr
    assert "--yes" in result.stderr
    assert sorted(statuses(server.url, namespace).values()) == ["error"] * 3
    result = cli("task", "retry", "--url", server.url, "-n", namespace, "--task", "a", "--yes")
    assert result.exit_code == 0
    assert sorted(statuses(server.url, namespace).values()) == ["error", "scheduled", "scheduled"]


def test_retry_confirm_on_terminal(cli, server, namespace, tty) -> None:
    failed(server.url, namespace, 2)
    no = cli("task", "retry", "--url", server.url, "-n", namespace, input="n\n")
    assert no.exit_code == 0  # declining is not a failure
    assert f"Retry 2 task(s) in namespace {namespace} with status error? [y/N]" in no.stderr
    assert "nothing was changed (not confirmed)" in no.stderr
    assert set(statuses(server.url, namespace).values()) == {"error"}
    yes = cli("task", "retry", "--url", server.url, "-n", namespace, input="y\n")
    assert yes.exit_code == 0
    assert set(statuses(server.url, namespace).values()) == {"scheduled"}


def test_retry_dry_run_changes_nothing(cli, server, namespace) -> None:
    failed(server.url, namespace, 7, created_time=ago(hours=2))
    result = cli(
        "task", "retry", "--url", server.url, "-n", namespace, "--older-than", "1h", "--dry-run", "-o", "json"
    )
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["count"] == 7
    assert len(report["sample"]) == 5
    assert report["query"]["filter"] == {"namespace": namespace, "status": "error"}
    assert "created_before" in report["query"]
    assert set(statuses(server.url, namespace).values()) == {"error"}


def test_retry_force_requeues_done(cli, server, namespace) -> None:
    done = seed(server.url, namespace, status=TaskStatus.done)[0]
    refused = cli("task", "retry", "--url", server.url, "-n", namespace, "--status", "done", "--yes")
    assert refused.exit_code == 2
    assert "--force" in refused.stderr
    result = cli("task", "retry", done.uid, "--force", "--url", server.url)
    assert result.exit_code == 0, result.stderr
    assert "warning: --force requeues done and processing tasks" in result.stderr
    assert statuses(server.url, namespace) == {done.uid: "scheduled"}


def test_retry_with_eta(cli, server, namespace) -> None:
    bad = failed(server.url, namespace)[0]
    assert cli("task", "retry", bad.uid, "--eta", "+2h", "--url", server.url).exit_code == 0
    with EventixClient(server.url) as client:
        task = client.get_task(bad.uid)
    assert 7100 < (task.eta - task.updated_time).total_seconds() < 7300


# -- cancel ---------------------------------------------------------------------------------


def test_cancel_by_id_and_refusals(cli, server, namespace) -> None:
    queued = seed(server.url, namespace)[0]
    running = seed(server.url, namespace, eta=ago(minutes=1))[0]
    with EventixClient(server.url) as client:
        client.delete_task(queued.uid)
        queued = client.post_task(queued.to_task().model_copy(update={"revision": None}).to_wire())
        claimed = client.next_scheduled("w1", namespace)
    assert claimed.uid in (queued.uid, running.uid)
    other = queued if claimed.uid == running.uid else running
    done = seed(server.url, namespace, status=TaskStatus.done)[0]

    result = cli("task", "cancel", other.uid, claimed.uid, done.uid, "--url", server.url, "-o", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["done"] == [other.uid]
    reasons = {f["uid"]: f["reason"] for f in report["failed"]}
    assert "is processing on worker w1; --force ends it as cancelled" in reasons[claimed.uid]
    assert "has already run (status done)" in reasons[done.uid]
    assert set(statuses(server.url, namespace)) == {claimed.uid, done.uid}

    forced = cli("task", "cancel", claimed.uid, "--force", "--url", server.url)
    assert forced.exit_code == 0
    with EventixClient(server.url) as client:
        ended = client.get_task(claimed.uid)  # ended, not deleted: its worker cannot bring it back
    assert (ended.status, ended.worker_id, ended.error.error_class) == (
        TaskStatus.error,
        None,
        "TaskCancelled",
    )
    assert cli("task", "cancel", claimed.uid, "--force", "--url", server.url).exit_code == 0  # no-op


def test_cancel_by_unique_key(cli, server, namespace) -> None:
    task = seed(server.url, namespace, unique_key="rep:7")[0]
    seed(server.url, namespace, unique_key="rep:8")
    result = cli("task", "cancel", "--unique-key", "rep:7", "-n", namespace, "--url", server.url)
    assert result.exit_code == 0, result.stderr
    assert task.uid not in statuses(server.url, namespace)
    again = cli("task", "cancel", "--unique-key", "rep:7", "-n", namespace, "--url", server.url)
    assert again.exit_code == 4
    assert f"error: no task with unique key 'rep:7' in namespace {namespace} (NotFound)" in again.stderr


def test_cancel_by_filter_and_stdin_need_yes(cli, server, namespace) -> None:
    seed(server.url, namespace, 3, task="a")
    keep = seed(server.url, namespace, 1, task="b")[0]
    assert cli("task", "cancel", "--url", server.url, "-n", namespace, "--task", "a").exit_code == 2
    result = cli("task", "cancel", "--url", server.url, "-n", namespace, "--task", "a", "--yes")
    assert result.exit_code == 0
    assert "3 cancelled" in result.stderr
    assert set(statuses(server.url, namespace)) == {keep.uid}
    assert cli("task", "cancel", "-", "--url", server.url, input=keep.uid).exit_code == 2
    assert cli("task", "cancel", "-", "--yes", "--url", server.url, input=keep.uid).exit_code == 0
    assert statuses(server.url, namespace) == {}


def test_cancel_refuses_finished_by_filter(cli, server, namespace) -> None:
    result = cli("task", "cancel", "--url", server.url, "-n", namespace, "--status", "done", "--yes")
    assert result.exit_code == 2
    assert "task purge" in result.stderr


# -- purge ----------------------------------------------------------------------------------


def test_purge_requires_a_filter(cli, server, namespace) -> None:
    result = cli("task", "purge", "--url", server.url, "-n", namespace, "--yes")
    assert result.exit_code == 2
    assert "refusing to purge without a filter" in result.stderr
    assert cli("task", "purge", "--url", server.url, "--status", "processing", "--yes").exit_code == 2


def test_purge_dry_run_then_purge_only_matches(cli, server, namespace) -> None:
    old_done = seed(server.url, namespace, 6, status=TaskStatus.done, created_time=ago(days=8))
    new_done = seed(server.url, namespace, status=TaskStatus.done, created_time=ago(days=1))[0]
    old_error = failed(server.url, namespace, created_time=ago(days=9))[0]
    other_ns = seed(server.url, f"{namespace}-o", status=TaskStatus.done, created_time=ago(days=8))[0]

    dry = cli(
        "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--older-than", "7d", "--dry-run"
    )
    assert dry.exit_code == 0
    lines = dry.stdout.splitlines()
    assert lines[0] == "would purge 6 task(s)"
    assert lines[1] == f'filter sent: {{"namespace": "{namespace}", "status": "done"}}'
    assert lines[2].startswith("and on the client: created before ")
    assert lines[3] == "sample of 5:"
    assert len(lines) == 4 + 1 + 5  # header row + 5 sample rows
    assert len(statuses(server.url, namespace)) == 8

    result = cli(
        "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--older-than", "7d", "--yes"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("6 purged in ")
    assert "/s)" in result.stderr
    assert set(statuses(server.url, namespace)) == {new_done.uid, old_error.uid}
    assert other_ns.uid in statuses(server.url, f"{namespace}-o")
    again = cli(
        "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--older-than", "7d", "--yes"
    )
    assert again.exit_code == 0
    assert again.stderr == "nothing to purge: no task matches\n"
    assert len(old_done) == 6


def test_purge_never_touches_processing(cli, server, namespace) -> None:
    seed(server.url, namespace, 2, eta=ago(minutes=1))
    with EventixClient(server.url) as client:
        claimed = client.next_scheduled("w1", namespace)
    result = cli(
        "task", "purge", "--url", server.url, "-n", namespace, "--task", "job", "--yes", "-o", "json"
    )
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["done"]) == 1
    assert statuses(server.url, namespace) == {claimed.uid: "processing"}


def test_purge_all_namespaces(cli, server, namespace) -> None:
    seed(server.url, f"{namespace}-1", task=f"{namespace}-t")
    seed(server.url, f"{namespace}-2", task=f"{namespace}-t")
    result = cli("task", "purge", "--url", server.url, "-A", "--task", f"{namespace}-t", "--yes")
    assert result.exit_code == 0
    assert "2 purged" in result.stderr


def test_purge_of_a_listed_document_that_is_not_a_task_fails_that_item(cli) -> None:
    # A listing whose document is not a task (a lying server, a proxy): that item fails with
    # the reason, one line, never an internal error.
    from tests.support.hostile_servers import scripted_server

    doc = {"uid": "u1", "task": None, "status": "scheduled", "namespace": "x", "priority": "high"}
    page = {"data": {"u1": doc}, "ids": ["u1"], "max_results": 1}
    with scripted_server(200, json.dumps(page).encode()) as url:
        result = cli("task", "purge", "--status", "scheduled", "--yes", "--url", url, "-o", "json")
    assert "internal error" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert [f["uid"] for f in report["failed"]] == ["u1"]
    assert "not an Eventix task" in report["failed"][0]["reason"]
