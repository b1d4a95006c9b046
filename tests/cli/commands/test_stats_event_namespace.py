"""``eventix stats``, ``eventix namespace list`` and ``eventix event post``."""

from __future__ import annotations

import json

from eventix_cli.core.task import TaskStatus
from tests.support.tasks import ago, failed, seed


def test_stats_counts_and_oldest_due(cli, server, namespace) -> None:
    seed(server.url, namespace, 3, task="a", eta=ago(minutes=30))
    seed(server.url, namespace, 2, task="b", status=TaskStatus.done)
    failed(server.url, namespace, task="b")
    result = cli("stats", "--url", server.url, "-n", namespace, "-o", "json")
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["namespace"] == namespace
    assert (row["scheduled"], row["processing"], row["retry"], row["error"], row["done"]) == (3, 0, 0, 1, 2)
    assert row["total"] == 6
    assert 1790 < row["oldest_due_seconds"] < 1900
    table = cli("stats", "--url", server.url, "-n", namespace)
    header, line = table.stdout.splitlines()
    assert header.split() == [
        "NAMESPACE",
        "SCHEDULED",
        "PROCESSING",
        "RETRY",
        "ERROR",
        "DONE",
        "TOTAL",
        "OLDEST",
        "DUE",
    ]
    assert line.split() == [namespace, "3", "0", "0", "1", "2", "6", "30m"]


def test_stats_by_task_and_all_namespaces(cli, server, namespace) -> None:
    seed(server.url, namespace, 2, task="a")
    failed(server.url, namespace, task="b")
    seed(server.url, f"{namespace}-2", task="c")
    rows = json.loads(cli("stats", "--url", server.url, "-n", namespace, "--by", "task", "-o", "json").stdout)
    assert [(r["task"], r["scheduled"], r["error"]) for r in rows] == [("a", 2, 0), ("b", 0, 1)]
    rows = json.loads(cli("stats", "--url", server.url, "-A", "-o", "json").stdout)
    mine = {r["namespace"]: r["total"] for r in rows if r["namespace"].startswith(namespace)}
    assert mine == {namespace: 3, f"{namespace}-2": 1}
    assert cli("stats", "--url", server.url, "--by", "worker").exit_code == 2


def test_namespace_list(cli, server, namespace) -> None:
    seed(server.url, f"{namespace}-b")
    seed(server.url, f"{namespace}-a")
    names = json.loads(cli("namespace", "list", "--url", server.url, "-o", "json").stdout)
    assert [n for n in names if n.startswith(namespace)] == [f"{namespace}-a", f"{namespace}-b"]
    ids = cli("namespace", "list", "--url", server.url, "-o", "ids").stdout.split()
    assert f"{namespace}-a" in ids


def test_event_post_without_triggers(cli, server, namespace) -> None:
    result = cli("event", "post", "paid", "--payload", '{"invoice": 1}', "-n", namespace, "--url", server.url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == "event paid posted; no trigger created a task\n"
    bad = cli("event", "post", "paid", "--payload", "[1]", "--url", server.url)
    assert bad.exit_code == 2


def test_stats_by_task_of_an_empty_namespace_says_so(cli, server, namespace) -> None:
    # a table with no rows would print nothing at all: the reader is told why
    result = cli("stats", "--url", server.url, "-n", namespace, "--by", "task")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"no tasks in namespace {namespace}" in result.stderr
    as_json = cli("stats", "--url", server.url, "-n", namespace, "--by", "task", "-o", "json")
    assert (as_json.stdout, as_json.stderr) == ("[]\n", "")


def test_event_post_refuses_an_empty_name(cli, server) -> None:
    # no trigger can listen for an empty (or blank) name: refused, nothing sent
    for name in ("", "  "):
        result = cli("event", "post", name, "--url", server.url)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("error: the event name must not be empty"), result.stderr


def test_a_task_with_a_unique_key_counts_as_added_from_the_millisecond_of_the_post() -> None:
    import datetime as dt

    from eventix_cli.cli.commands.event import _added_by
    from eventix_cli.core.task import Task
    from eventix_cli.core.view import TaskView

    posted_at = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)

    def created(microsecond: int, unique_key: str | None = "k") -> TaskView:
        when = posted_at.replace(microsecond=microsecond)
        return TaskView.of_model(Task(task="job", unique_key=unique_key, created_time=when))

    assert _added_by(created(123000), posted_at)  # stored to the millisecond: the post's own
    assert not _added_by(created(122999), posted_at)  # before the post: a pending task updated
    assert _added_by(created(0, unique_key=None), posted_at)  # no unique key: never an update
