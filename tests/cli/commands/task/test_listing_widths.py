"""``eventix task list`` as a person sees it at 80 and 120 columns (issue 20): what tells
nothing goes first, what the listing is read for stays, wide characters line up, colour only
on a terminal, and a pipe is never cut."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from rich.cells import cell_len

from eventix_cli.core.statuses import TaskStatus
from tests.support.tasks import seed

LONG_NAME = "send_invoice_reminder_email_to_customer"


def _error(error_class: str, message: str) -> dict:
    return {
        "error_class": error_class,
        "error_message": message,
        "error_status_code": 500,
        "error_traceback": [f"{error_class}: {message}\n"],
        "error_payload": {},
    }


def _failures(url: str, task: str, *namespaces: str) -> None:
    """A failed and a retrying task in each namespace, with priority 0 everywhere and no unique key."""
    for namespace in namespaces:
        seed(url, namespace, task=task, status=TaskStatus.retry, result=_error("TaskCancelled", "by ops"))
        seed(url, namespace, task=task, status=TaskStatus.error, result=_error("ValueError", "bad 42"))


def _listing(cli, url: str, *args: str, columns: int, **kw):
    return cli.terminal("task", "list", "--url", url, *args, columns=columns, **kw)


def _columns_start(line: str, header: str, headers: list[str]) -> list[int]:
    return [line.index(h) for h in headers if h in header]


@pytest.mark.parametrize("width", [80, 120])
def test_failures_across_namespaces_keep_namespace_and_whole_errors(cli, embedded_url, width) -> None:
    suffix = uuid.uuid4().hex[:4]
    first, second, task = f"b-{suffix}", f"s-{suffix}", f"j{suffix}"
    _failures(embedded_url, task, first, second)
    result = _listing(cli, embedded_url, "-A", "--status", "error,retry", "--task", task, columns=width)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(cell_len(line) <= width for line in lines), lines
    header = lines[0].split()
    # the all-zero PRIO and the empty UNIQUE KEY go before anything is cut; -A keeps NAMESPACE
    assert header[:4] == ["UID", "NAMESPACE", "TASK", "STATUS"]
    assert "ERROR" in header
    if width == 80:
        assert "PRIO" not in header
        assert "UNIQUE" not in header
        assert "PRIO" in result.stderr
    assert "TaskCancelled" in result.stdout
    assert "ValueError" in result.stdout
    assert first in result.stdout
    assert second in result.stdout
    assert "…" not in result.stdout


@pytest.mark.parametrize("width", [80, 120])
def test_long_names_and_errors_are_cut_last(cli, embedded_url, namespace, width) -> None:
    long_error = "SMTPRecipientsRefusedError"
    seed(embedded_url, namespace, task=LONG_NAME, status=TaskStatus.error, result=_error(long_error, "x"))
    seed(
        embedded_url, namespace, task=LONG_NAME, unique_key="invoice:2026-11-4711", priority=-2, max_retries=3
    )
    result = _listing(cli, embedded_url, "-n", namespace, columns=width)
    lines = result.stdout.splitlines()
    assert all(cell_len(line) <= width for line in lines), lines
    assert lines[0].split()[:3] == ["UID", "TASK", "STATUS"]
    assert lines[0].split()[-1] == "ERROR"
    if width == 120:  # room for both whole
        assert LONG_NAME in result.stdout
        assert long_error in result.stdout
    else:  # cut alike, after every other column went
        assert lines[0].split() == ["UID", "TASK", "STATUS", "ERROR"]
        assert LONG_NAME[:12] in result.stdout
        assert long_error[:12] in result.stdout


def test_the_sorted_column_is_kept(cli, embedded_url, namespace) -> None:
    name = "send_invoice_reminder_email"  # whole at 80 when PRIO goes
    seed(embedded_url, namespace, task=name, unique_key="invoice:2026-11-4711", priority=-3)
    seed(embedded_url, namespace, task=name + "s", unique_key="invoice:2026-11-4712")
    plain = _listing(cli, embedded_url, "-n", namespace, columns=80)
    assert "PRIO" not in plain.stdout.splitlines()[0]
    result = _listing(cli, embedded_url, "-n", namespace, "--sort", "-priority", columns=80)
    assert result.exit_code == 0, result.stderr
    assert "PRIO" in result.stdout.splitlines()[0].split()
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


@pytest.mark.parametrize("width", [80, 120])
def test_wide_characters_line_up(cli, embedded_url, namespace, width) -> None:
    seed(embedded_url, namespace, task="報告書を生成する_月次レポート_📉_集計")
    seed(
        embedded_url, namespace, task="send_invoice", status=TaskStatus.error, result=_error("値エラー", "x")
    )
    seed(embedded_url, namespace, task="再構築", status=TaskStatus.retry, result=_error("Err", "x"))
    result = _listing(cli, embedded_url, "-n", namespace, columns=width)
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert all(cell_len(line) <= width for line in lines), lines
    # STATUS starts in the same terminal cell on every line
    words = ("STATUS", "scheduled", "error", "retry")
    starts = {cell_len(line[: line.index(f" {w}") + 1]) for line in lines for w in words if f" {w}" in line}
    assert len(starts) == 1, lines


def test_a_pipe_is_never_cut_whatever_columns_says(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, task=LONG_NAME, unique_key="invoice:2026-11-4711-" + "x" * 40)
    result = cli("task", "list", "--url", embedded_url, "-n", namespace, env={"COLUMNS": "80"})
    header = result.stdout.splitlines()[0].split()
    assert header == ["UID", "NAMESPACE", "TASK", "STATUS", "PRIO", "ETA", "UNIQUE", "KEY", "RETRIES", "LEFT"]
    assert LONG_NAME in result.stdout
    assert "x" * 40 in result.stdout
    assert "…" not in result.stdout
    assert "hidden" not in result.stderr


def test_columns_does_not_keep_a_whole_uid_while_cutting_the_rest(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, task=LONG_NAME + "_" + "y" * 30, unique_key="k" * 40)
    result = _listing(cli, embedded_url, "-n", namespace, "--columns", "uid,task,unique_key", columns=80)
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    uid, task, _key = (len(part) for part in lines[1].split("   "))
    assert uid < 32  # the uid is shortened before the task name
    assert task > uid


def test_colour_only_on_a_terminal_without_no_color(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, task="a", status=TaskStatus.error, result=_error("ValueError", "x"))
    seed(embedded_url, namespace, task="b", status=TaskStatus.retry, result=_error("ValueError", "x"))
    seed(embedded_url, namespace, task="c", status=TaskStatus.done)
    seed(embedded_url, namespace, task="d", status=TaskStatus.processing)
    coloured = _listing(cli, embedded_url, "-n", namespace, columns=120, color=True).stdout
    assert "\033[31merror\033[0m" in coloured
    assert "\033[33mretry\033[0m" in coloured
    assert "\033[32mdone\033[0m" in coloured
    assert "\033[34mprocessing\033[0m" in coloured
    assert "\033[" not in _listing(cli, embedded_url, "-n", namespace, columns=120).stdout  # NO_COLOR
    assert "\033[" not in cli("task", "list", "--url", embedded_url, "-n", namespace).stdout  # a pipe


@pytest.mark.parametrize("fmt", ["csv", "table"])
def test_no_terminal_escape_reaches_a_pipe(cli, embedded_url, namespace, fmt) -> None:
    seed(embedded_url, namespace, task="evil\x1b[2J\x1b]0;owned\x07", unique_key="k\x1b[31m")
    result = cli("task", "list", "--url", embedded_url, "-n", namespace, "-o", fmt)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "\x07" not in result.stdout
    if fmt == "csv":
        row = next(csv.DictReader(io.StringIO(result.stdout)))
        assert row["task"] == "evil\\e[2J\\e]0;owned\\x07"
