"""``eventix undo`` in the cases testers found: an undo cut short by Ctrl-C, an entry whose
changes cannot be undone, an entry undone already, an entry with nothing to do."""

from __future__ import annotations

import _thread
import json
import time

from eventix_cli.cli import bulk
from eventix_cli.cli.commands import undo as undo_command
from eventix_cli.core.statuses import TaskStatus
from tests.cli.commands.test_undo import run_ok, snapshot, undo
from tests.support.tasks import seed


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

    def undo_one(client, change, entry=undo_command.NO_ENTRY) -> None:
        real_undo_one(client, change, entry)
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


def test_an_undo_with_nothing_to_do_says_so_in_words(cli, server, namespace) -> None:
    pending = seed(server.url, namespace, 1)[0]  # retry skips it: an entry with nothing done
    run_ok(cli, "task", "retry", pending.uid, "--url", server.url)
    dry = cli("undo", "--url", server.url, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "nothing task(s)" not in dry.stdout
    assert "nothing to do" in dry.stdout
