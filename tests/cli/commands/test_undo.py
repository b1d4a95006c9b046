"""``eventix undo`` against both servers: after each journaled command and its undo the
store is back to its before-image, and a task changed after the command is skipped and
reported, never overwritten."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventix_cli.client.api import EventixClient
from eventix_cli.core.statuses import TaskStatus
from tests.support.tasks import ago, failed, get, seed

#: fields a write sets whatever it writes: the revision counter and the time of the write
VOLATILE = ("revision", "updated_time", "_id")


def snapshot(url: str, namespace: str) -> dict[str, dict[str, Any]]:
    """Every task of the namespace as stored, but for what every write changes."""
    with EventixClient(url) as client:
        docs = {t.uid: t.to_wire() for t in client.iter_tasks(namespace=namespace)}
    return {uid: {k: v for k, v in doc.items() if k not in VOLATILE} for uid, doc in docs.items()}


def differences(now: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]]) -> list[str]:
    """What differs between two snapshots, field by field (empty: the same)."""
    out = [f"{uid}: {'gone' if uid in before else 'new'}" for uid in set(now) ^ set(before)]
    for uid in set(now) & set(before):
        keys = set(now[uid]) | set(before[uid])
        out += [
            f"{uid}.{k}: {before[uid].get(k)!r} -> {now[uid].get(k)!r}"
            for k in sorted(keys)
            if now[uid].get(k) != before[uid].get(k)
        ]
    return out


def run_ok(cli, *args: str, input: str | None = None) -> Any:
    result = cli(*args, input=input)
    assert result.exit_code == 0, result.stderr
    return result


def undo(cli, server, *extra: str):
    return cli("undo", "--url", server.url, "--yes", "-o", "json", *extra)


def undo_all(cli, server) -> dict[str, Any]:
    """Undo the last entry; every task of it must have been undone."""
    result = undo(cli, server)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["skipped"], report["failed"]) == ([], []), result.stderr
    return report


def test_undo_of_a_purge_recreates_every_task(cli, server, namespace) -> None:
    done = seed(server.url, namespace, 3, status=TaskStatus.done)
    errors = failed(server.url, namespace, 2)
    seed(server.url, namespace, 1, eta=ago(minutes=1))  # pending: a purge of done,error leaves it
    before = snapshot(server.url, namespace)
    run_ok(cli, "task", "purge", "--url", server.url, "-n", namespace, "-s", "done,error", "--yes")
    assert set(snapshot(server.url, namespace)) == set(before) - {t.uid for t in done + errors}

    result = undo(cli, server)
    assert result.exit_code == 0, result.stderr
    assert sorted(json.loads(result.stdout)["done"]) == sorted(t.uid for t in done + errors)
    assert differences(snapshot(server.url, namespace), before) == []


def test_undo_of_a_cancel_puts_pending_tasks_back(cli, server, namespace) -> None:
    tasks = seed(server.url, namespace, 3)
    before = snapshot(server.url, namespace)
    run_ok(cli, "task", "cancel", "--url", server.url, "-n", namespace, "--task", "job", "--yes")
    assert snapshot(server.url, namespace) == {}
    undo_all(cli, server)
    assert differences(snapshot(server.url, namespace), before) == []
    assert {t.uid for t in tasks} == set(before)


def test_undo_of_cancel_force_puts_the_running_task_back(cli, server, namespace) -> None:
    seed(server.url, namespace, 1, eta=ago(minutes=1))
    with EventixClient(server.url) as client:
        running = client.next_scheduled("w1", namespace)
    assert running is not None
    before = snapshot(server.url, namespace)
    run_ok(cli, "task", "cancel", "--url", server.url, "-n", namespace, running.uid, "--force")
    assert get(server.url, running.uid).status == TaskStatus.error
    undo_all(cli, server)
    assert differences(snapshot(server.url, namespace), before) == []
    assert get(server.url, running.uid).worker_id == "w1"


def test_undo_of_a_retry_restores_the_failures(cli, server, namespace) -> None:
    errors = failed(server.url, namespace, 3)
    before = snapshot(server.url, namespace)
    run_ok(cli, "task", "retry", "--url", server.url, "-n", namespace, "--yes")
    assert {t.status for t in map(lambda t: get(server.url, t.uid), errors)} == {TaskStatus.scheduled}
    undo_all(cli, server)
    assert differences(snapshot(server.url, namespace), before) == []


def test_undo_of_a_restore_removes_what_it_added_and_writes_back_what_it_replaced(
    cli, server, namespace, tmp_path
) -> None:
    kept = seed(server.url, namespace, 1, kwargs={"version": "old"})[0]
    dump = kept.to_wire() | {"kwargs": {"version": "from the dump"}}
    added = seed(server.url, f"{namespace}-src", 1)[0].to_wire() | {"namespace": namespace}
    source = tmp_path / "dump.jsonl"
    source.write_text(json.dumps(dump) + "\n" + json.dumps(added) + "\n")
    before = snapshot(server.url, namespace)
    run_ok(cli, "task", "restore", str(source), "--url", server.url, "--overwrite", "--yes")
    assert get(server.url, kept.uid).kwargs == {"version": "from the dump"}
    assert added["uid"] in snapshot(server.url, namespace)
    undo_all(cli, server)
    assert differences(snapshot(server.url, namespace), before) == []


def test_undo_of_a_batch_add_deletes_the_tasks_it_added(cli, server, namespace) -> None:
    seed(server.url, namespace, 1)
    before = snapshot(server.url, namespace)
    lines = "".join(json.dumps({"task": "job", "kwargs": {"i": i}}) + "\n" for i in range(5))
    added = run_ok(cli, "task", "add", "--from", "-", "--url", server.url, "-n", namespace, input=lines)
    assert len(added.stdout.split()) == 5
    undo_all(cli, server)
    assert differences(snapshot(server.url, namespace), before) == []


def test_a_task_changed_after_the_command_is_skipped_and_reported(cli, server, namespace) -> None:
    errors = failed(server.url, namespace, 2)
    run_ok(cli, "task", "retry", "--url", server.url, "-n", namespace, "--yes")
    with EventixClient(server.url) as client:  # a worker claims one of the retried tasks
        claimed = client.next_scheduled("w1", namespace)
    assert claimed is not None
    untouched = next(t.uid for t in errors if t.uid != claimed.uid)

    result = undo(cli, server)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["done"] == [untouched]
    assert [item["uid"] for item in report["skipped"]] == [claimed.uid]
    assert "changed since" in report["skipped"][0]["reason"]
    assert f"{claimed.uid}: changed since" in result.stderr
    now = get(server.url, claimed.uid)
    assert (now.status, now.worker_id) == (TaskStatus.processing, "w1")  # never overwritten
    assert get(server.url, untouched).status == TaskStatus.error


def test_an_undo_is_journaled_and_can_be_undone(cli, server, namespace) -> None:
    seed(server.url, namespace, 2, status=TaskStatus.done)
    run_ok(cli, "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes")
    after_purge = snapshot(server.url, namespace)
    undo_all(cli, server)
    assert len(snapshot(server.url, namespace)) == 2
    undo_all(cli, server)  # the last entry is the undo: redo
    assert differences(snapshot(server.url, namespace), after_purge) == []
    history = json.loads(run_ok(cli, "history", "-o", "json").stdout)
    assert [e["action"] for e in history[:3]] == ["undo", "undo", "purge"]
    assert history[0]["undoes"] == history[1]["id"]


@pytest.mark.parametrize("kind", ["embedded"])
def test_read_only_allows_history_and_undo_dry_run_only(cli, server_pool, namespace, kind) -> None:
    url = server_pool.get(kind).url
    seed(url, namespace, 1, status=TaskStatus.done)
    run_ok(cli, "task", "purge", "--url", url, "-n", namespace, "-s", "done", "--yes")
    env = {"EVENTIX_READ_ONLY": "1"}
    assert cli("history", env=env).exit_code == 0
    dry = cli("undo", "--url", url, "--dry-run", "-o", "json", env=env)
    assert dry.exit_code == 0, dry.stderr
    assert json.loads(dry.stdout)["counts"] == {"re-create": 1}
    refused = cli("undo", "--url", url, "--yes", env=env)
    assert refused.exit_code == 2
    assert "read-only" in refused.stderr
    assert snapshot(url, namespace) == {}


def test_undo_leaves_alone_what_the_command_did_not_change(cli, server, namespace) -> None:
    """A before-image recorded for a task the command then skipped (already scheduled) is not
    in the plan: only the changes the command made are undone."""
    error = failed(server.url, namespace, 1)[0]
    pending = seed(server.url, namespace, 1)[0]
    result = cli("task", "retry", error.uid, pending.uid, "--url", server.url, "-o", "json")
    assert json.loads(result.stdout)["skipped"] == [{"uid": pending.uid, "reason": "already scheduled"}]
    dry = cli("undo", "--url", server.url, "--dry-run", "-o", "json")
    assert dry.exit_code == 0, dry.stderr
    assert [item["uid"] for item in json.loads(dry.stdout)["plan"]] == [error.uid]
    undo_all(cli, server)
    assert get(server.url, error.uid).status == TaskStatus.error
