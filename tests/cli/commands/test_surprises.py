"""The scripting surprises of issue 11, one test each, and help screens at 80 and 120 columns."""

from __future__ import annotations

import json
import re

import pytest

from eventix_cli.cli.app import COMMANDS
from eventix_cli.core.task import TaskStatus
from tests.support.tasks import failed, seed, statuses


@pytest.fixture
def tty(monkeypatch):
    monkeypatch.setattr("eventix_cli.cli.bulk_run.interactive", lambda: True)


def test_cancel_without_ids_or_filter_is_refused_like_purge(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 3)
    result = cli("task", "cancel", "--yes", "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 2
    assert "refusing to cancel without ids or a filter" in result.stderr
    assert "--status scheduled,retry" in result.stderr
    assert len(statuses(embedded_url, namespace)) == 3
    explicit = cli("task", "cancel", "-s", "scheduled,retry", "--yes", "--url", embedded_url, "-n", namespace)
    assert explicit.exit_code == 0, explicit.stderr
    assert statuses(embedded_url, namespace) == {}


def _dump_file(tmp_path, url: str, namespace: str, count: int):
    from eventix_cli.client.api import EventixClient

    with EventixClient(url) as client:
        docs = [t.to_wire() for t in client.iter_tasks(namespace=namespace)][:count]
    path = tmp_path / "dump.jsonl"
    path.write_text("".join(json.dumps(d | {"uid": d["uid"][::-1]}) + "\n" for d in docs))
    return path


def test_restore_has_dry_run_and_confirmation(cli, embedded_url, namespace, tmp_path, tty) -> None:
    seed(embedded_url, namespace, 3)
    src = _dump_file(tmp_path, embedded_url, namespace, 3)
    target = f"{namespace}-moved"
    base = ("task", "restore", str(src), "-n", target, "--url", embedded_url)
    dry = cli(*base, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout.startswith(
        f"would restore 3 task(s) into namespace {target} (existing tasks are skipped)"
    )
    assert "dry run: nothing was changed" in dry.stderr
    assert statuses(embedded_url, target) == {}
    no = cli(*base, input="n\n")
    assert no.exit_code == 0
    assert f"Restore 3 task(s) into namespace {target} (existing tasks are skipped)? [y/N]" in no.stderr
    assert statuses(embedded_url, target) == {}
    yes = cli(*base, input="y\n")
    assert yes.exit_code == 0, yes.stderr
    assert len(statuses(embedded_url, target)) == 3


def test_restore_refuses_off_a_terminal_without_yes(cli, embedded_url, namespace, tmp_path) -> None:
    seed(embedded_url, namespace)
    src = _dump_file(tmp_path, embedded_url, namespace, 1)
    result = cli("task", "restore", str(src), "-n", f"{namespace}-x", "--url", embedded_url)
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert statuses(embedded_url, f"{namespace}-x") == {}


@pytest.mark.parametrize(
    "args",
    [
        ["task", "retry", "--dry-run"],
        ["task", "retry", "0" * 32, "--dry-run"],
        ["task", "cancel", "--task", "job", "--dry-run"],
        ["task", "cancel", "0" * 32, "--dry-run"],
        ["task", "purge", "--status", "error", "--dry-run"],
        ["task", "restore", "-", "--dry-run"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_dry_runs_work_in_read_only_mode(cli, embedded_url, namespace, args) -> None:
    failed(embedded_url, namespace)
    env = {"EVENTIX_READ_ONLY": "1"}
    result = cli(*args, "--url", embedded_url, "-n", namespace, env=env, input="")
    assert result.exit_code == 0, result.stderr
    assert "nothing was changed" in result.stderr
    assert list(statuses(embedded_url, namespace).values()) == ["error"]


def test_unique_key_of_a_finished_task_says_what_is_there(cli, server, namespace) -> None:
    done = seed(server.url, namespace, unique_key="inv:9", status=TaskStatus.done)[0]
    shown = cli("task", "show", "--unique-key", "inv:9", "-n", namespace, "--url", server.url, "-o", "json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["uid"] == done.uid
    result = cli("task", "cancel", "--unique-key", "inv:9", "-n", namespace, "--url", server.url)
    assert result.exit_code == 1
    assert "stati" not in result.stderr
    assert f"{done.uid}: task {done.uid} has already run (status done)" in result.stderr
    assert "0 cancelled, 1 failed" in result.stderr
    assert done.uid in statuses(server.url, namespace)
    dry = cli("task", "cancel", "-k", "inv:9", "-n", namespace, "--url", server.url, "--dry-run")
    assert dry.exit_code == 0
    assert f"nothing to cancel: task {done.uid} with unique key 'inv:9' is done" in dry.stderr


def test_unique_key_of_a_running_task_names_the_worker(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, unique_key="rep:1", status=TaskStatus.processing, worker_id="w-7")
    result = cli("task", "cancel", "-k", "rep:1", "-n", namespace, "--url", embedded_url)
    assert result.exit_code == 1
    assert "is processing on worker w-7; --force ends it as cancelled" in result.stderr
    missing = cli("task", "show", "-k", "nope", "-n", namespace, "--url", embedded_url)
    assert missing.exit_code == 4
    assert missing.stderr.startswith(f"error: no task with unique key 'nope' in namespace {namespace}")


def test_event_priority_is_logical(cli, embedded_url, namespace, monkeypatch) -> None:
    from eventix_cli.client.api import EventixClient

    sent = []
    monkeypatch.setattr(EventixClient, "post_event", lambda self, event: sent.append(event) or [])
    result = cli("event", "post", "nightly", "--priority", "5", "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 0, result.stderr
    assert sent[0].priority == -5  # stored negated, as `task add --priority 5` stores it


def test_stats_and_ping_refuse_ids_output(cli, embedded_url) -> None:
    for args in (["stats"], ["ping"]):
        result = cli(*args, "-o", "ids", "--url", embedded_url)
        assert result.exit_code == 2, args
        assert "-o ids prints task uids" in result.stderr


def test_gitignore_covers_sqlite_side_files() -> None:
    from tests.support.servers import REPO_ROOT

    patterns = (REPO_ROOT / ".gitignore").read_text().split()
    for name in ("*.sqlite3-wal", "*.sqlite3-shm", "*.db-wal", "*.db-shm"):
        assert name in patterns


def test_top_once_at_80_columns_keeps_each_error_on_one_line(cli, embedded_url, namespace) -> None:
    bad = seed(
        embedded_url,
        namespace,
        task="send_invoice\x1b[31m",
        status=TaskStatus.error,
        result={"error_class": "ValueError", "error_message": "x" * 200 + "\r\nforged"},
    )[0]
    result = cli.terminal("top", "--once", "--url", embedded_url, "-n", namespace, columns=80)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    assert "\x1b" not in result.stdout
    assert "\r" not in result.stdout
    error_lines = [line for line in lines if "ValueError" in line]
    assert len(error_lines) == 1
    assert "send_invoic" in error_lines[0]  # shortened for the error, which is cut last
    assert "forged" not in result.stdout
    piped = cli("top", "--once", "--url", embedded_url, "-n", namespace, env={"COLUMNS": "80"})
    assert bad.uid in piped.stdout  # a pipe is never cut
    assert "send_invoice\\e[31m" in piped.stdout
    assert "\x1b" not in piped.stdout
    assert "x" * 200 + "\\r\\nforged" in piped.stdout


@pytest.mark.parametrize("width", [80, 120])
def test_top_once_shortens_the_uid_before_the_error(cli, embedded_url, namespace, width) -> None:
    message = "smtp.example.com:587 refused the connection after 3 attempts; giving up for now"
    bad = seed(
        embedded_url,
        namespace,
        task="send_invoice_reminder",
        status=TaskStatus.error,
        result={"error_class": "SMTPConnectError", "error_message": message},
    )[0]
    result = cli.terminal("top", "--once", "--url", embedded_url, "-n", namespace, columns=width)
    lines = result.stdout.splitlines()
    assert all(len(line) <= width for line in lines), lines
    error_line = next(line for line in lines if "SMTPConnectError" in line)
    assert bad.uid not in error_line
    assert bad.uid[:8] in error_line  # shortened, still recognisable
    shown = error_line[error_line.index("SMTPConnectError") :]
    assert len(shown) >= width - 52, error_line  # the rest of the line is the error's


def test_show_escapes_control_characters_and_json_stays_exact(cli, embedded_url, namespace) -> None:
    task = seed(
        embedded_url,
        namespace,
        task="job\x1b]0;title\x07",
        status=TaskStatus.error,
        result={"error_class": "E\x1b[2J", "error_message": "m", "error_traceback": ["line\x1b[1A\n"]},
    )[0]
    shown = cli("task", "show", task.uid, "--url", embedded_url)
    assert shown.exit_code == 0
    assert "\x1b" not in shown.stdout
    assert "\x07" not in shown.stdout
    assert "job\\e]0;title\\x07" in shown.stdout
    assert "class    E\\e[2J\nmessage  m\n" in shown.stdout
    assert "line\\e[1A" in shown.stdout
    raw = json.loads(cli("task", "show", task.uid, "--url", embedded_url, "-o", "json").stdout)
    assert raw["task"] == "job\x1b]0;title\x07"


def test_bulk_summaries_escape_task_data(cli, embedded_url, namespace) -> None:
    # a uid from stdin is echoed in the summary: it must not carry escape sequences
    result = cli("task", "retry", "-", "--yes", "--url", embedded_url, input="bad\x1b[2Juid\n")
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr
    assert "bad\\e[2Juid" in result.stderr


def _all_help_paths() -> list[list[str]]:
    from eventix_cli.cli.app import load_command

    paths: list[list[str]] = [[]]
    for name in COMMANDS:
        paths.append([name])
        for sub in getattr(load_command(name), "commands", {}) or {}:
            paths.append([name, sub])
    return paths


@pytest.mark.parametrize("path", _all_help_paths(), ids=lambda p: " ".join(p) or "root")
def test_help_reads_well_at_80_and_uses_120(cli, path) -> None:
    narrow = cli(*path, "--help", env={"COLUMNS": "80"})
    assert narrow.exit_code == 0
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in narrow.stdout  # nothing cut: environment variable names stay whole
    usage = next(line for line in lines if "Usage:" in line)
    assert not re.search(r"\{\w+\}", usage), usage
    assert narrow.stdout.count("─ Arguments ─") <= 1
    wide = cli(*path, "--help", env={"COLUMNS": "120"})
    assert max(len(line) for line in wide.stdout.splitlines()) > 80


def test_stats_takes_columns_and_no_headers(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 2)
    result = cli(
        "stats", "-n", namespace, "--columns", "namespace,scheduled", "--no-headers", "--url", embedded_url
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == [namespace, "2"]
    bad = cli("stats", "-n", namespace, "--columns", "nope", "--url", embedded_url)
    assert bad.exit_code == 2
