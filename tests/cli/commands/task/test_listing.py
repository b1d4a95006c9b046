"""``eventix task list`` end to end against both servers."""

from __future__ import annotations

import csv
import io
import json

from eventix_cli.core.fields import stored_priority
from eventix_cli.core.statuses import TaskStatus
from tests.support.tasks import ago, failed, jsonl, seed


def test_table_text_is_exact(cli, server, namespace) -> None:
    a = seed(
        server.url,
        namespace,
        task="send_invoice",
        priority=stored_priority(5),
        unique_key="inv:1",
        created_time=ago(minutes=2),
        eta=ago(minutes=2),
        max_retries=3,
    )[0]
    b = seed(
        server.url,
        namespace,
        task="sync",
        created_time=ago(minutes=1),
        eta=ago(seconds=-3600 - 30),
        retry=False,
    )[0]
    result = cli("task", "list", "--url", server.url, "-n", namespace, env={"COLUMNS": "140"})
    assert result.exit_code == 0, result.stderr
    ns = namespace.ljust(len("NAMESPACE"))
    assert result.stdout.splitlines() == [
        f"UID{' ' * 32}{'NAMESPACE'.ljust(len(ns))}   TASK           STATUS      PRIO   ETA      "
        "UNIQUE KEY   RETRIES LEFT",
        f"{b.uid}   {ns}   sync           scheduled      0   in 1h" + " " * 28 + "0",
        f"{a.uid}   {ns}   send_invoice   scheduled      5   2m ago   inv:1                   3",
    ]
    assert result.stderr == "2 of 2\n"


def test_json_jsonl_csv_ids(cli, server, namespace) -> None:
    tasks = seed(server.url, namespace, 3, kwargs={"x": 1})
    uids = sorted(t.uid for t in tasks)
    base = ("task", "list", "--url", server.url, "-n", namespace)
    docs = json.loads(cli(*base, "-o", "json").stdout)
    assert sorted(d["uid"] for d in docs) == uids
    assert docs[0]["kwargs"] == {"x": 1}
    assert sorted(d["uid"] for d in jsonl(cli(*base, "-o", "jsonl").stdout)) == uids
    rows = list(csv.DictReader(io.StringIO(cli(*base, "-o", "csv").stdout)))
    assert sorted(r["uid"] for r in rows) == uids
    assert rows[0]["priority"] == "0"
    assert sorted(cli(*base, "-o", "ids").stdout.split()) == uids
    assert cli(*base, "-o", "json").stderr == ""  # the footer is for tables only


def test_env_output_format(cli, server, namespace) -> None:
    seed(server.url, namespace)
    result = cli("task", "list", "--url", server.url, "-n", namespace, env={"EVENTIX_OUTPUT": "ids"})
    assert len(result.stdout.split()) == 1


def test_filters(cli, server, namespace) -> None:
    seed(server.url, namespace, task="a", unique_key="report:2026-01")
    seed(server.url, namespace, task="a", unique_key="report:2026-02", status=TaskStatus.done)
    seed(server.url, namespace, task="b", unique_key="other")
    failed(server.url, namespace, task="b", created_time=ago(hours=3))
    seed(server.url, f"{namespace}-x", task="a")

    def ids(*args: str) -> int:
        result = cli("task", "list", "--url", server.url, "-n", namespace, "-o", "jsonl", *args)
        assert result.exit_code == 0, result.stderr
        return len(jsonl(result.stdout))

    assert ids() == 4
    assert ids("--status", "done") == 1
    assert ids("--status", "done", "--status", "error") == 2
    assert ids("-s", "done,scheduled") == 3
    assert ids("--task", "a") == 2
    assert ids("--unique-key", "report:*") == 2
    assert ids("--unique-key", "report:2026-0?") == 2
    assert ids("--unique-key", "other") == 1
    assert ids("--older-than", "2h") == 1
    assert ids("--newer-than", "90m") == 3
    assert ids("--older-than", "1h", "--all") == 1
    all_ns = cli("task", "list", "--url", server.url, "-A", "--task", "a", "-o", "jsonl", "--all")
    assert {d["namespace"] for d in jsonl(all_ns.stdout)} >= {namespace, f"{namespace}-x"}


def test_limit_and_all(cli, server, namespace) -> None:
    seed(server.url, namespace, 7)
    result = cli("task", "list", "--url", server.url, "-n", namespace, "--limit", "3")
    assert len(result.stdout.splitlines()) == 4
    assert result.stderr == "3 of 7 shown; --all for every match\n"
    result = cli("task", "list", "--url", server.url, "-n", namespace, "--all", "-o", "ids")
    assert len(result.stdout.split()) == 7


def test_sort_newest_first_by_default(cli, server, namespace) -> None:
    old = seed(server.url, namespace, created_time=ago(hours=2))[0]
    new = seed(server.url, namespace, created_time=ago(minutes=1))[0]
    result = cli("task", "list", "--url", server.url, "-n", namespace, "-o", "ids")
    assert result.stdout.split() == [new.uid, old.uid]
    result = cli("task", "list", "--url", server.url, "-n", namespace, "-o", "ids", "--sort", "created_time")
    assert result.stdout.split() == [old.uid, new.uid]


def test_empty_and_bad_input(cli, server, namespace) -> None:
    result = cli("task", "list", "--url", server.url, "-n", namespace)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "no tasks match\n"
    result = cli("task", "list", "--url", server.url, "--status", "sleeping")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown status 'sleeping'")
    result = cli("task", "list", "--url", server.url, "--older-than", "5 parsecs")
    assert result.exit_code == 2
    assert "invalid --older-than '5 parsecs'" in result.stderr


def test_unreachable_exit_3(cli) -> None:
    from tests.support.servers import free_port

    result = cli("task", "list", "--url", f"http://127.0.0.1:{free_port()}", "--request-timeout", "1")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: cannot reach")


def test_time_filter_table_footer_counts_what_was_shown(cli, server, namespace) -> None:
    # The time filters run on the client, so the server's total is unknown: the footer of a
    # table that shows fewer than --limit tasks must say what was shown, never crash.
    seed(server.url, namespace, 2, created_time=ago(hours=3))
    seed(server.url, namespace, created_time=ago(minutes=1))
    result = cli("task", "list", "--url", server.url, "-n", namespace, "--older-than", "2h")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3  # header and the two old tasks
    assert result.stderr == "2 shown\n"
    empty = cli("task", "list", "--url", server.url, "-n", namespace, "--older-than", "30d")
    assert empty.exit_code == 0, empty.stderr
    assert empty.stderr == "no tasks match\n"
