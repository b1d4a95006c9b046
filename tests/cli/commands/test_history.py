"""``eventix history``: the entries newest first, one in full, tokens never written, and the
size limit: a change too large for the journal is warned about and cannot be undone."""

from __future__ import annotations

import json
from pathlib import Path

from eventix_cli.core.statuses import TaskStatus
from tests.support.tasks import seed


def _history(cli, *args: str) -> list[dict]:
    result = cli("history", "-o", "json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_history_lists_the_entries_newest_first(cli, embedded_url, namespace) -> None:
    uid = cli("task", "add", "job", "--url", embedded_url, "-n", namespace).stdout.strip()
    assert cli("task", "cancel", uid, "--url", embedded_url, "-n", namespace).exit_code == 0
    listed = _history(cli)
    assert [(e["action"], e["changed"], e["namespace"], e["url"]) for e in listed] == [
        ("cancel", {"delete": 1}, namespace, embedded_url),
        ("add", {"add": 1}, namespace, embedded_url),
    ]
    assert listed[0]["command"] == ["eventix", "task", "cancel", uid, "--url", embedded_url, "-n", namespace]
    assert [e["id"] for e in _history(cli, "-l", "1")] == [listed[0]["id"]]

    table = cli("history").stdout.splitlines()
    assert table[0].split() == ["ID", "TIME", "ACTION", "NAMESPACE", "CHANGED", "UNDO", "COMMAND"]
    assert table[1].split()[1:6] == ["now", "cancel", namespace, "1", "delete"]  # the time relative

    shown = json.loads(cli("history", "show", str(listed[0]["id"]), "-o", "json").stdout)
    assert [(t["uid"], t["op"], t["before"]["status"]) for t in shown["tasks"]] == [
        (uid, "delete", "scheduled")
    ]


def test_history_show_of_an_unknown_entry_is_a_usage_error(cli) -> None:
    result = cli("history", "show", "99")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no journal entry 99 (UsageError)")


def test_a_dry_run_and_a_change_of_nothing_leave_no_entry(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 2, status=TaskStatus.done)
    purge = ("task", "purge", "--url", embedded_url, "-n", namespace)
    assert cli(*purge, "-s", "done", "--dry-run").exit_code == 0
    assert cli(*purge, "-s", "error", "--yes").exit_code == 0  # nothing matches
    assert _history(cli) == []


def test_the_token_is_never_written_to_the_journal(cli, embedded_url, namespace, tmp_path: Path) -> None:
    token = "journal-test-token-0123456789"
    env = {"EVENTIX_TOKEN": token}
    result = cli(
        "task", "add", "job", "--url", embedded_url, "-n", namespace, "--kwarg", f"t={token}", env=env
    )
    assert result.exit_code == 0, result.stderr
    written = b"".join(p.read_bytes() for p in (tmp_path / "state").rglob("*.jsonl"))
    assert b"task" in written
    assert token.encode() not in written


def test_a_change_too_large_for_the_journal_is_warned_about_and_cannot_be_undone(
    cli, embedded_url, namespace
) -> None:
    seed(embedded_url, namespace, 20, kwargs={"pad": "x" * 1000})
    env = {"EVENTIX_JOURNAL_LIMIT": "8kB"}
    cancel = ("task", "cancel", "--url", embedded_url, "-n", namespace, "--task", "job", "--yes")
    result = cli(*cancel, env=env)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("warning: 20 tasks of ~1,")
    assert "`eventix task dump` first" in lines[0]
    assert "cannot be undone" in lines[-1]
    assert _history(cli)[0]["undoable"] is False

    refused = cli("undo", "--url", embedded_url, "--yes")
    assert refused.exit_code == 2
    assert "cannot be undone: its before-images went over the journal's limit" in refused.stderr


def test_undo_acts_only_on_the_server_an_entry_was_made_against(cli, embedded_url, namespace) -> None:
    assert (
        cli("undo", "--url", embedded_url, "--yes").stderr
        == f"nothing to undo: the journal has no entry for {embedded_url}\n"
    )
    uid = cli("task", "add", "job", "--url", embedded_url, "-n", namespace).stdout.strip()
    other = "http://127.0.0.1:9"
    assert cli("undo", "--url", other, "--yes").stderr.startswith(
        "nothing to undo: the journal has no entry for"
    )
    entry_id = str(_history(cli)[0]["id"])
    refused = cli("undo", entry_id, "--url", other, "--yes")
    assert refused.exit_code == 2
    assert f"journal entry {entry_id} changed tasks on {embedded_url}, not on {other}" in refused.stderr
    assert f"hint: pass --url {embedded_url}" in refused.stderr
    assert cli("task", "show", uid, "--url", embedded_url).exit_code == 0  # nothing was undone
