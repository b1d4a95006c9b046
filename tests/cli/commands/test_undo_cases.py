"""``eventix undo`` in the cases testers found: an undo cut short by Ctrl-C, an entry whose
changes cannot be undone, an entry undone already, an entry with nothing to do."""

from __future__ import annotations

import _thread
import json
import time
import uuid
from itertools import takewhile
from pathlib import Path

from eventix_cli.cli import bulk
from eventix_cli.cli.commands import undo as undo_command
from eventix_cli.cli.journaling import journal_dir
from eventix_cli.client.api import EventixClient
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.task import Task
from eventix_cli.core.view import TaskView
from eventix_cli.journal.reader import Change
from tests.cli.commands.test_undo import run_ok, snapshot, undo
from tests.support.tasks import failed, seed


def test_an_undo_cut_short_names_the_entry_to_undo_again(cli, server, namespace, monkeypatch) -> None:
    seed(server.url, namespace, 6, status=TaskStatus.done)
    before = snapshot(server.url, namespace)
    run_ok(cli, "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes")
    purge_id = json.loads(run_ok(cli, "history", "-o", "json").stdout)[0]["id"]
    runs: list[bulk._BulkRun] = []
    real_run_threads, real_undo_one = bulk._BulkRun.run_threads, undo_command.undo_one

    def run_threads(self, concurrency: int) -> None:
        runs.append(self)
        real_run_threads(self, concurrency)

    def undo_one(client, change, *rest) -> None:
        real_undo_one(client, change, *rest)
        if len(runs) == 1 and len(runs[0].result.done) == 1:  # Ctrl-C after the second task
            _thread.interrupt_main()
            deadline = time.monotonic() + 30
            while not runs[0].stop.is_set() and time.monotonic() < deadline:
                time.sleep(0.01)

    monkeypatch.setattr(bulk._BulkRun, "run_threads", run_threads)
    monkeypatch.setattr(undo_command, "undo_one", undo_one)
    cut = cli("undo", "--url", server.url, "--yes", "--concurrency", "1")
    assert cut.exit_code == 130, cut.stderr
    assert f"`eventix undo {purge_id}` handles the rest" in cut.stderr
    assert "running the same command again" not in cut.stderr
    assert 0 < len(snapshot(server.url, namespace)) < 6

    again = cli("undo", str(purge_id), "--url", server.url, "--yes", "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert len(json.loads(again.stdout)["done"]) == 4
    assert set(snapshot(server.url, namespace)) == set(before)


def _unique_key_update(cli, url: str, namespace: str) -> None:
    """A `task add --unique-key` that updated the pending task with that key: a change with no
    before-image."""
    add = ("task", "add", "job", "--url", url, "-n", namespace, "--unique-key", "k1")
    run_ok(cli, *add)
    run_ok(cli, *add, "--kwarg", "v=2")


def test_a_change_with_no_before_image_is_not_undoable(cli, server, namespace) -> None:
    _unique_key_update(cli, server.url, namespace)
    listed = json.loads(run_ok(cli, "history", "-o", "json").stdout)
    assert listed[0]["changed"] == {"change": 1}
    assert listed[0]["undoable"] is False
    dry = cli("undo", "--url", server.url, "--dry-run")
    assert "write back" not in dry.stderr + dry.stdout
    assert "1 cannot be undone (earlier state not recorded)" in dry.stdout
    real = undo(cli, server)
    assert real.exit_code == 1
    assert "cannot be undone (earlier state not recorded)" in real.stderr


def test_history_and_undo_say_an_entry_was_undone(cli, server, namespace) -> None:
    seed(server.url, namespace, 2, status=TaskStatus.done)
    run_ok(cli, "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes")
    run_ok(cli, "undo", "--url", server.url, "--yes")
    listed = json.loads(run_ok(cli, "history", "-o", "json").stdout)
    undo_id, purge_id = listed[0]["id"], listed[1]["id"]
    assert listed[1]["undone_by"] == undo_id
    table = run_ok(cli, "history").stdout
    assert f"undone by {undo_id}" in table
    again = cli("undo", str(purge_id), "--url", server.url, "--dry-run")
    assert f"entry {purge_id} was undone already (by entry {undo_id})" in again.stderr


def test_an_undo_with_nothing_to_do_says_so_in_words(cli, server, namespace) -> None:
    pending = seed(server.url, namespace, 1)[0]  # retry skips it: an entry with nothing done
    run_ok(cli, "task", "retry", pending.uid, "--url", server.url)
    dry = cli("undo", "--url", server.url, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "nothing task(s)" not in dry.stdout
    assert "nothing to do" in dry.stdout


def _purged(cli, server, namespace: str, count: int) -> tuple[int, Path]:
    """Purge ``count`` done tasks: the journal entry's id and file."""
    seed(server.url, namespace, count, status=TaskStatus.done)
    run_ok(cli, "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes")
    entry_id = json.loads(run_ok(cli, "history", "-o", "json").stdout)[0]["id"]
    return entry_id, journal_dir() / f"{entry_id}.jsonl"


def test_undo_of_an_entry_damaged_in_the_middle_refuses_unless_partial(cli, server, namespace) -> None:
    entry_id, path = _purged(cli, server, namespace, 20)
    lines = path.read_bytes().splitlines(keepends=True)
    number = next(n for n, line in enumerate(lines, 1) if b'"kind":"after"' in line)
    lost = json.loads(lines[number - 1])["uid"]
    lines[number - 1] = lines[number - 1][:20] + b"\n"  # that a task was deleted, cut
    path.write_bytes(b"".join(lines))

    table = run_ok(cli, "history").stdout.splitlines()
    assert table[1].split()[0] == str(entry_id)
    assert "damaged" in table[1]
    refused = undo(cli, server)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[0] == (
        f"error: journal entry {entry_id} is damaged: line {number} is unreadable; "
        "20 before-image(s) of 20 change(s) could be read (CannotUndo)"
    )
    assert snapshot(server.url, namespace) == {}

    partial = undo(cli, server, "--partial")
    assert partial.exit_code == 0, partial.stderr
    assert f"journal entry {entry_id} is damaged" in partial.stderr
    assert set(snapshot(server.url, namespace)) == set(json.loads(partial.stdout)["done"])
    assert len(json.loads(partial.stdout)["done"]) == 19
    assert lost not in snapshot(server.url, namespace)  # its deletion not known for sure


def test_undo_does_not_skip_a_newest_entry_whose_header_is_unreadable(cli, server, namespace) -> None:
    entry_id, path = _purged(cli, server, namespace, 2)
    (path.parent / f"{entry_id + 1}.jsonl").write_bytes(b"\x00\x01binary\n\x02\n")
    (path.parent / f"{entry_id + 2}.jsonl").mkdir()

    listed = json.loads(run_ok(cli, "history", "-o", "json").stdout)
    assert [(e["id"], e["undo"]) for e in listed] == [
        (entry_id + 2, "damaged"),
        (entry_id + 1, "damaged"),
        (entry_id, "yes"),
    ]
    refused = undo(cli, server)
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: journal entry {entry_id + 2} is damaged")
    named = undo(cli, server, str(entry_id + 1))
    assert named.exit_code == 1
    assert f"journal entry {entry_id + 1} is damaged: its header (line 1) is unreadable" in named.stderr
    assert undo(cli, server, str(entry_id)).exit_code == 0
    assert len(snapshot(server.url, namespace)) == 2


def _plan(result) -> dict[str, tuple[str, str | None]]:
    assert result.exit_code == 0, result.stderr
    return {item["uid"]: (item["undo"], item["reason"]) for item in json.loads(result.stdout)["plan"]}


def test_a_dry_run_reads_the_tasks_and_says_what_undo_would_do_to_each(cli, server, namespace) -> None:
    kept, edited, deleted = failed(server.url, namespace, 3)
    run_ok(cli, "task", "retry", kept.uid, edited.uid, deleted.uid, "--url", server.url)
    with EventixClient(server.url) as client:
        now = client.get_task(edited.uid).to_wire()
        edited_revision = client.put_task({**now, "priority": 7}).revision
        client.delete_task(deleted.uid)
    before = snapshot(server.url, namespace)

    dry = cli("undo", "--url", server.url, "--dry-run", "-o", "json")
    plan = _plan(dry)
    assert plan[kept.uid] == ("write back", None)
    assert plan[edited.uid][0] == "skip"
    assert plan[edited.uid][1].startswith(f"changed since (revision {edited_revision}, left at ")
    assert plan[deleted.uid] == ("skip", "deleted since; left as it is")
    assert json.loads(dry.stdout)["counts"] == {"write back": 1, "skip": 2}
    assert snapshot(server.url, namespace) == before  # read only

    table = cli("undo", "--url", server.url, "--dry-run")
    assert "write back 1 task(s); 2 skipped" in table.stdout.splitlines()[0]
    assert f"  skip        {deleted.uid}: deleted since; left as it is" in table.stdout.splitlines()

    done = undo(cli, server)  # undo itself decides the same for every task
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["done"] == [kept.uid]
    assert {item["uid"]: ("skip", item["reason"]) for item in report["skipped"]} == {
        uid: step for uid, step in plan.items() if step[0] == "skip"
    }


def test_a_dry_run_skips_a_deleted_task_that_exists_again(cli, server, namespace) -> None:
    gone, back = seed(server.url, namespace, 2, status=TaskStatus.done)
    run_ok(cli, "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes")
    with EventixClient(server.url) as client:
        client.put_task({**back.to_wire(), "revision": None})  # re-created under its uid
    plan = _plan(cli("undo", "--url", server.url, "--dry-run", "-o", "json"))
    assert plan[gone.uid] == ("re-create", None)
    assert plan[back.uid] == ("skip", "exists (not deleted, or re-created since); left as it is")
    assert set(snapshot(server.url, namespace)) == {back.uid}
    report = json.loads(undo(cli, server).stdout)
    assert report["done"] == [gone.uid]
    assert report["skipped"] == [{"uid": back.uid, "reason": plan[back.uid][1]}]


def test_undo_of_a_cancel_never_makes_a_second_pending_task_of_one_unique_key(cli, server, namespace) -> None:
    add = ("task", "add", "job", "--url", server.url, "-n", namespace, "--unique-key", "k1")
    old = run_ok(cli, *add).stdout.strip()
    run_ok(cli, "task", "cancel", old, "--url", server.url, "-n", namespace)
    cancel_id = json.loads(run_ok(cli, "history", "-o", "json").stdout)[0]["id"]
    new = run_ok(cli, *add).stdout.strip()  # the key is taken again: a new pending task
    assert new != old

    plan = _plan(cli("undo", str(cancel_id), "--url", server.url, "--dry-run", "-o", "json"))
    undone = undo(cli, server, str(cancel_id))
    pending = [
        uid
        for uid, doc in snapshot(server.url, namespace).items()
        if doc["unique_key"] == "k1" and doc["status"] in ("scheduled", "retry")
    ]
    assert pending == [new], "two pending tasks of one unique key"
    reason = f"its unique key is held by pending task {new} now; left as it is"
    assert plan[old] == ("skip", reason)
    assert json.loads(undone.stdout)["skipped"] == [{"uid": old, "reason": reason}]


def test_a_redo_never_writes_a_task_back_to_pending_beside_a_new_holder_of_its_key(
    cli, server, namespace
) -> None:
    bad = failed(server.url, namespace, unique_key="k1")[0]
    run_ok(cli, "task", "retry", bad.uid, "--url", server.url)  # error -> scheduled: holds k1
    run_ok(cli, "undo", "--url", server.url, "--yes")  # back to error
    undo_id = json.loads(run_ok(cli, "history", "-o", "json").stdout)[0]["id"]
    new = run_ok(cli, "task", "add", "job", "--url", server.url, "-n", namespace, "--unique-key", "k1")
    new_uid = new.stdout.strip()

    plan = _plan(cli("undo", str(undo_id), "--url", server.url, "--dry-run", "-o", "json"))
    redone = undo(cli, server, str(undo_id))  # would write bad back to scheduled
    reason = f"its unique key is held by pending task {new_uid} now; left as it is"
    assert plan[bad.uid] == ("skip", reason)
    assert json.loads(redone.stdout)["skipped"] == [{"uid": bad.uid, "reason": reason}]
    assert {uid: doc["status"] for uid, doc in snapshot(server.url, namespace).items()} == {
        bad.uid: "error",
        new_uid: "scheduled",
    }


def test_tasks_of_one_entry_do_not_hold_their_key_against_each_other(cli, server, namespace) -> None:
    """Two pending tasks of one key cancelled together are both put back, as the dry run says:
    undo restores the entry's own state; only a task that is not the entry's blocks the key.
    (Were the first re-created to block the second, the outcome would hang on their order,
    and on which check came first at a concurrency above 1.)"""
    first = seed(server.url, namespace, 1, unique_key="k1")[0]
    with EventixClient(server.url) as client:  # a second pending task of k1, as one was made
        # a uid of its own: the servers are shared by the session, where other tests name
        # "0" * 32 as a task that is not there
        second = client.put_task({**first.to_wire(), "uid": uuid.uuid4().hex, "revision": None})
    run_ok(cli, "task", "cancel", first.uid, second.uid, "--url", server.url, "-n", namespace)
    plan = _plan(cli("undo", "--url", server.url, "--dry-run", "-o", "json"))
    assert plan == {first.uid: ("re-create", None), second.uid: ("re-create", None)}
    report = json.loads(undo(cli, server, "--concurrency", "1").stdout)
    assert sorted(report["done"]) == sorted([first.uid, second.uid])
    assert set(snapshot(server.url, namespace)) == {first.uid, second.uid}


def test_a_write_back_to_pending_is_skipped_only_when_it_adds_a_holder_of_the_key() -> None:
    """undo's decision on a changed task whose before-image is pending with a unique key: a
    task pending under that key already adds no holder by being written back; one that is not
    (another status, another key) would make a second pending task of the key."""
    image = Task(task="job", namespace="ns", unique_key="k1").to_wire()
    other = "f" * 32

    def decision(**now: object) -> str:
        current = TaskView({**image, "revision": "3-x", **now})
        change = Change(image["uid"], "change", revision="3-x", image=image, confirmed=True)
        try:
            return undo_command.decide(change, current, {("ns", "k1"): sorted([image["uid"], other])})
        except bulk.Skip as skip:
            return skip.reason

    taken = f"its unique key is held by pending task {other} now; left as it is"
    assert decision() == "write back"  # pending under k1 already
    assert decision(status="retry") == "write back"
    assert decision(status="error") == taken
    assert decision(unique_key="k2") == taken
    assert decision(unique_key=None) == taken
    assert decision(namespace="elsewhere") == taken


def test_the_question_says_what_the_dry_run_says(cli, server, namespace, monkeypatch) -> None:
    """On a terminal undo asks with the plan read from the tasks as they are now, as the dry
    run shows it, not with the journal's plan (which counts a task that exists again)."""
    monkeypatch.setattr("eventix_cli.cli.bulk_run.interactive", lambda: True)
    gone, back = seed(server.url, namespace, 2, status=TaskStatus.done)
    run_ok(cli, "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes")
    with EventixClient(server.url) as client:
        client.put_task({**back.to_wire(), "revision": None})  # re-created under its uid
    dry = run_ok(cli, "undo", "--url", server.url, "--dry-run").stdout.splitlines()[0]
    assert dry.endswith(": re-create 1 task(s); 1 skipped")
    plan = dry.removeprefix("would undo ")

    declined = cli("undo", "--url", server.url, input="n\n")
    assert declined.exit_code == 0, declined.stderr
    assert f"Undo {plan}? [y/N]" in declined.stderr
    assert set(snapshot(server.url, namespace)) == {back.uid}

    confirmed = cli("undo", "--url", server.url, "-o", "json", input="y\n")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert f"Undo {plan}? [y/N]" in confirmed.stderr
    assert json.loads(confirmed.stdout)["done"] == [gone.uid]
    assert set(snapshot(server.url, namespace)) == {gone.uid, back.uid}


def test_dry_run_lines_fit_80_columns_on_a_terminal_and_are_never_cut_in_a_pipe(
    cli, server, namespace
) -> None:
    gone, back = seed(server.url, namespace, 2, status=TaskStatus.done)
    run_ok(cli, "task", "purge", "--url", server.url, "-n", namespace, "-s", "done", "--yes")
    with EventixClient(server.url) as client:
        client.put_task({**back.to_wire(), "revision": None})  # re-created under its uid
    args = ("undo", "--url", server.url, "--dry-run")
    plan = "re-create 1 task(s); 1 skipped"
    exists = "exists (not deleted, or re-created since); left as it is"

    piped = run_ok(cli, *args).stdout.splitlines()
    assert piped[0].startswith("would undo entry ")
    assert piped[0].endswith(f" UTC): {plan}")  # one line, however long
    assert f"  skip        {back.uid}: {exists}" in piped
    assert f"  re-create   {gone.uid}" in piped

    shown = cli.terminal(*args, columns=80)
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert [line for line in lines if len(line) > 80] == []
    assert f"  re-create   {gone.uid}" in lines
    heading = lines[: min(n for n, line in enumerate(lines) if gone.uid in line or back.uid in line)]
    assert " ".join(line.strip() for line in heading) == piped[0]
    assert heading[0].endswith(" UTC):"), "the plan goes on the next line when the heading is too long"
    start = lines.index(next(line for line in lines if back.uid in line))
    assert lines[start].startswith(f"  skip        {back.uid}: ")
    rest = list(takewhile(lambda line: line.startswith(" " * 14), lines[start + 1 :]))  # under the uid
    assert rest, "the reason wraps onto the lines under the uid"
    assert " ".join([lines[start].split(": ", 1)[1], *(line.strip() for line in rest)]) == exists
