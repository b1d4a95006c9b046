"""``eventix task list``: what a script or a narrow terminal sees (issue 11)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from eventix_cli.core.task import TaskStatus
from tests.support.tasks import failed, jsonl, seed


def _list(cli, url: str, namespace: str, *args: str, columns: int = 100, **kw):
    return cli("task", "list", "--url", url, "-n", namespace, *args, env={"COLUMNS": str(columns)}, **kw)


def _shown(cli, url: str, namespace: str, *args: str, columns: int, **kw):
    """The listing as a terminal ``columns`` wide shows it."""
    return cli.terminal("task", "list", "--url", url, "-n", namespace, *args, columns=columns, **kw)


@pytest.mark.parametrize("fmt", ["table", "ids", "json", "jsonl", "csv"])
def test_a_cut_listing_says_so_on_stderr_in_every_format(cli, embedded_url, namespace, fmt) -> None:
    seed(embedded_url, namespace, 7, status=TaskStatus.error)
    result = _list(cli, embedded_url, namespace, "--status", "error", "--limit", "5", "-o", fmt)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "5 of 7 shown; --all for every match\n"


def test_a_cut_listing_with_time_filters_says_there_may_be_more(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 4)
    result = _list(cli, embedded_url, namespace, "--newer-than", "1h", "--limit", "3", "-o", "ids")
    assert len(result.stdout.split()) == 3
    assert "there may be more" in result.stderr
    assert "--all" in result.stderr


def test_a_complete_listing_is_silent_off_the_table(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 2)
    result = _list(cli, embedded_url, namespace, "-o", "ids")
    assert result.stderr == ""


def _long_tasks(url: str, namespace: str) -> None:
    seed(url, namespace, task="send_invoice", unique_key="invoice:2026-11-4711", max_retries=3)
    failed(url, namespace, task="rebuild_search_index")


def test_80_columns_drop_what_tells_nothing_first_and_keep_names_whole(cli, embedded_url, namespace) -> None:
    _long_tasks(embedded_url, namespace)
    result = _shown(cli, embedded_url, namespace, columns=80)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    # one namespace, PRIO 0 everywhere, the same ETA: they go first; then the lowest ranks;
    # headers, uids, task names and errors stay whole
    assert lines[0].split() == ["UID", "TASK", "STATUS", "ERROR"]
    assert "send_invoice" in result.stdout
    assert "rebuild_search_index" in result.stdout
    assert "ValueError" in result.stdout
    assert "…" not in result.stdout
    assert "hidden: NAMESPACE, PRIO, ETA, UNIQUE KEY, RETRIES LEFT" in result.stderr
    assert "--columns" in result.stderr


def test_80_columns_the_hidden_columns_line_fits_too(cli, embedded_url, namespace) -> None:
    _long_tasks(embedded_url, namespace)
    result = _shown(cli, embedded_url, namespace, columns=80)
    assert result.exit_code == 0, result.stderr
    assert "hidden: NAMESPACE, PRIO, ETA, UNIQUE KEY, RETRIES LEFT" in result.stderr
    assert all(len(line) <= 80 for line in result.stderr.splitlines()), result.stderr.splitlines()


def test_120_columns_use_the_width(cli, embedded_url, namespace) -> None:
    _long_tasks(embedded_url, namespace)
    result = _shown(cli, embedded_url, namespace, columns=120)
    lines = result.stdout.splitlines()
    assert all(len(line) <= 120 for line in lines), lines
    assert lines[0].split() == ["UID", "TASK", "STATUS", "UNIQUE", "KEY", "RETRIES", "LEFT", "ERROR"]
    assert "send_invoice" in result.stdout
    assert "ValueError" in result.stdout
    assert "invoice:2026-11-4711" in result.stdout
    assert "hidden: NAMESPACE, PRIO, ETA " in result.stderr


def test_piped_tables_are_never_cut(cli, embedded_url, namespace) -> None:
    _long_tasks(embedded_url, namespace)
    result = cli("task", "list", "--url", embedded_url, "-n", namespace, env={"COLUMNS": ""})
    header = result.stdout.splitlines()[0].split()
    assert header[-3:] == ["RETRIES", "LEFT", "ERROR"]


def test_retries_left_is_a_number_or_unlimited(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, task="a", max_retries=2)
    seed(embedded_url, namespace, task="b")
    seed(embedded_url, namespace, task="c", retry=False)
    result = _list(cli, embedded_url, namespace, "-o", "csv")
    rows = {r["task"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert {t: r["retries_left"] for t, r in rows.items()} == {"a": "2", "b": "unlimited", "c": "0"}


def test_error_class_in_listings_of_failed_tasks(cli, embedded_url, namespace) -> None:
    failed(embedded_url, namespace)
    seed(embedded_url, namespace, task="fine")
    table = _shown(cli, embedded_url, namespace, columns=140).stdout
    assert "ERROR" in table.splitlines()[0]
    assert "ValueError" in table
    rows = list(csv.DictReader(io.StringIO(_list(cli, embedded_url, namespace, "-o", "csv").stdout)))
    assert sorted(r["error_class"] for r in rows) == ["", "ValueError"]
    only_fine = _shown(cli, embedded_url, namespace, "--task", "fine", columns=140).stdout
    assert "ERROR" not in only_fine  # a listing without failures has no empty ERROR column


def test_no_headers_and_columns(cli, embedded_url, namespace) -> None:
    task = seed(embedded_url, namespace, task="send_invoice")[0]
    table = _list(cli, embedded_url, namespace, "--columns", "uid,task", "--no-headers")
    assert table.stdout == f"{task.uid}   send_invoice\n"
    out = _list(cli, embedded_url, namespace, "-o", "csv", "--columns", "task,uid", "--no-headers")
    assert out.stdout == f"send_invoice,{task.uid}\n"
    out = _list(cli, embedded_url, namespace, "-o", "csv", "--columns", "status")
    assert out.stdout == "status\nscheduled\n"
    # header names work too, in any case
    assert _list(cli, embedded_url, namespace, "--columns", "Unique Key,STATUS").stdout.split() == [
        "UNIQUE",
        "KEY",
        "STATUS",
        "scheduled",
    ]


def test_unknown_column_is_bad_input(cli, embedded_url, namespace) -> None:
    result = _list(cli, embedded_url, namespace, "--columns", "uid,colour")
    assert result.exit_code == 2
    assert "unknown column 'colour'" in result.stderr
    assert result.stdout == ""


def test_sort_fields_are_checked_and_all_does_not_ignore_sort(cli, embedded_url, namespace) -> None:
    low = seed(embedded_url, namespace, 3, priority=1)
    high = seed(embedded_url, namespace, 2, priority=5)
    bad = _list(cli, embedded_url, namespace, "--sort", "nosuchfield")
    assert bad.exit_code == 2
    assert "unknown field 'nosuchfield'" in bad.stderr
    refused = _list(cli, embedded_url, namespace, "--all", "--sort", "-eta")
    assert refused.exit_code == 2
    assert "cannot sort" in refused.stderr
    by_uid = _list(cli, embedded_url, namespace, "--all", "--sort", "uid", "-o", "ids")
    assert by_uid.exit_code == 0, by_uid.stderr
    assert by_uid.stdout.split() == sorted(t.uid for t in low + high)
    by_priority = _list(cli, embedded_url, namespace, "--sort", "-priority,uid", "-o", "ids")
    assert by_priority.exit_code == 0, by_priority.stderr
    assert by_priority.stdout.split() == sorted(t.uid for t in high) + sorted(t.uid for t in low)


def test_task_filter_has_no_short_flag_clashing_with_worker_tasks(cli, embedded_url, namespace) -> None:
    result = _list(cli, embedded_url, namespace, "-t", "x")
    assert result.exit_code == 2


def test_watch_refuses_off_a_terminal(cli, embedded_url, namespace) -> None:
    result = _list(cli, embedded_url, namespace, "--watch")
    assert result.exit_code == 2
    assert "terminal" in result.stderr
    assert "hint:" in result.stderr


def test_watch_redraws_until_ctrl_c(cli, embedded_url, namespace, monkeypatch) -> None:
    from eventix_cli.cli import output
    from eventix_cli.cli.commands.task import listing

    seed(embedded_url, namespace, task="first")
    monkeypatch.setattr(output, "is_terminal", lambda stream=None: True)
    sleeps: list[float] = []

    def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            seed(embedded_url, namespace, task="second")  # the next redraw shows it
        else:
            raise KeyboardInterrupt

    monkeypatch.setattr(listing.time, "sleep", fake_sleep)
    result = _list(cli, embedded_url, namespace, "--watch", "--interval", "0.5")
    assert result.exit_code == 0, result.stderr
    frames = result.stdout.split("\033[H\033[2J")[1:]
    assert len(frames) == 2
    assert sleeps == [0.5, 0.5]
    assert "first" in frames[0]
    assert "second" not in frames[0]
    assert "second" in frames[1]
    assert "2 of 2" in frames[1]


HOSTILE = "evil\x1b[2J\x1b]0;pwned\x07\rname\u202e"


def test_control_characters_are_escaped_in_tables_and_exact_in_json(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, task=HOSTILE, unique_key="k\nforged line")
    table = _list(cli, embedded_url, namespace, columns=200)
    assert "\x1b" not in table.stdout
    assert "\r" not in table.stdout
    assert "\u202e" not in table.stdout
    assert len(table.stdout.splitlines()) == 2  # the newline in the key forged no line
    assert "evil\\e[2J\\e]0;pwned\\x07\\rname\\u202e" in table.stdout
    assert "k\\nforged line" in table.stdout
    docs = json.loads(_list(cli, embedded_url, namespace, "-o", "json").stdout)
    assert docs[0]["task"] == HOSTILE
    assert docs[0]["unique_key"] == "k\nforged line"
    assert jsonl(_list(cli, embedded_url, namespace, "-o", "jsonl").stdout)[0]["task"] == HOSTILE
