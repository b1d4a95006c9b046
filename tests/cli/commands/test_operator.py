"""Operator experience: tour, top, config profiles, read-only mode, completions, help texts."""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import subprocess
import sys
import time
import tomllib

import httpx
import pytest
from rich.cells import cell_len

from eventix_cli.cli.app import COMMANDS
from eventix_cli.core.task import TaskStatus
from tests.support.readme import COLUMNS, run_in_terminal
from tests.support.servers import REPO_ROOT, free_port
from tests.support.tasks import failed, seed

# -- tour -----------------------------------------------------------------------------------


def test_tour_runs_and_leaves_nothing_behind(tmp_path) -> None:
    own_tmp = tmp_path / "tmp"  # its own temp folder: the machine-wide one is shared with others
    own_tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_") and k != "COLUMNS"}
    env["TMPDIR"] = str(own_tmp)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "eventix_cli", "tour"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert time.monotonic() - started < 60
    out = proc.stdout
    url = re.search(r"runs at (http://\S+)", out).group(1)
    assert "$ eventix task add unreliable --retry-delay 1" in out
    assert "unreliable -> retry (" in out  # failed once, retried
    assert re.search(r"unreliable\s+done", out)
    assert "$ eventix stats -A" in out
    assert "tour finished in" in out
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)
    assert list(own_tmp.iterdir()) == []


LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \[")


def test_tour_on_an_80_column_terminal_fits_it(tmp_path) -> None:
    """The tour is a newcomer's first step: on a terminal its steps' tables are fitted to it,
    as they would be when the reader types them, so no line is wider than the terminal."""
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_") and k != "COLUMNS"}
    env |= {"TMPDIR": str(own_tmp), "NO_COLOR": "1", "PYTHONPATH": str(REPO_ROOT)}
    outcome = run_in_terminal(f"{sys.executable} -m eventix_cli tour", env, REPO_ROOT, timeout=120)
    assert outcome.code == 0, "\n".join(outcome.lines)
    assert any("$ eventix task list" in line for line in outcome.lines)
    # log records are not fitted (a terminal wraps them): everything else is
    wide = [line for line in outcome.lines if cell_len(line) > COLUMNS and not LOG_RECORD.match(line)]
    assert wide == [], "\n".join(wide)


# -- top ------------------------------------------------------------------------------------


def test_top_once(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 2)
    seed(embedded_url, namespace, status=TaskStatus.done)
    bad = failed(embedded_url, namespace, task="import_csv")[0]
    result = cli.terminal("top", "--once", "--url", embedded_url, "-n", namespace, columns=160)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"eventix top  namespace {namespace}  ")
    assert lines[1] == "done 1/min   failed 1/min   (last minute)"
    row = next(line for line in lines if line.startswith(namespace))
    assert row.split()[:7] == [namespace, "2", "0", "0", "1", "1", "4"]
    error_line = next(line for line in lines if bad.uid in line)
    assert "import_csv" in error_line
    assert "ValueError: bad input 42" in error_line
    doc = json.loads(cli("top", "--once", "--url", embedded_url, "-n", namespace, "-o", "json").stdout)
    assert doc["done_per_minute"] == 1  # one snapshot has rates: the server's last minute
    assert doc["failed_per_minute"] == 1
    assert doc["namespaces"][0]["error"] == 1
    assert doc["latest_errors"][0]["uid"] == bad.uid


def test_top_refuses_off_a_terminal(cli, embedded_url) -> None:
    result = cli("top", "--url", embedded_url)
    assert result.exit_code == 2
    assert "needs a terminal" in result.stderr
    assert "eventix stats" in result.stderr


def test_monitor_rates_count_the_last_minute(embedded_url, namespace) -> None:
    from eventix_cli.client.api import EventixClient
    from eventix_cli.client.monitor import Monitor

    seed(embedded_url, namespace, 3)
    with EventixClient(embedded_url) as client:
        monitor = Monitor(client, namespace)
        first = monitor.snapshot()
        assert first.done_per_minute == 0
        for task in client.iter_tasks(namespace=namespace):
            if task.status == TaskStatus.scheduled:
                task = task.to_task()
                task.status = TaskStatus.done
                client.put_task(task.to_wire())
        second = monitor.snapshot()
    assert second.done_per_minute == 3
    assert second.failed_per_minute == 0


# -- config ---------------------------------------------------------------------------------


def test_config_set_use_show_path(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    assert cli("config", "path").stdout.strip() == str(tmp_path / "config.toml")
    assert cli("config", "set", "url", "https://prod.example.com", "--profile", "prod").exit_code == 0
    assert cli("config", "set", "token", "s3cret-token-abcdef", "--profile", "prod").exit_code == 0
    assert cli("config", "set", "namespace", "billing", "--profile", "prod").exit_code == 0
    path = tmp_path / "config.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cli("config", "use", "prod").exit_code == 0
    shown = json.loads(cli("config", "show", "-o", "json").stdout)
    assert shown["url"] == "https://prod.example.com"
    assert shown["namespace"] == "billing"
    assert shown["token"] != "s3cret-token-abcdef"
    assert "s3cret" not in cli("config", "show").stdout
    assert shown["sources"]["url"] == "profile prod"
    # env beats profile, flag beats env
    shown = json.loads(cli("config", "show", "-o", "json", env={"EVENTIX_NAMESPACE": "ops"}).stdout)
    assert shown["namespace"] == "ops"
    assert cli("config", "use", "nope").exit_code == 2
    assert cli("config", "set", "colour", "red").exit_code == 2
    assert cli("config", "set", "timeout", "soon").exit_code == 2


def test_token_in_readable_file_warns(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    cli("config", "set", "token", "abcdefghijklmnop")
    assert "warning" not in cli("config", "show").stderr
    (tmp_path / "config.toml").chmod(0o644)
    result = cli("config", "show")
    assert "warning:" in result.stderr
    assert "chmod 600" in result.stderr


# -- read-only ------------------------------------------------------------------------------

MUTATING = [
    ["task", "add", "job"],
    ["task", "retry", "0" * 32],
    ["task", "retry", "--status", "error", "--yes"],
    ["task", "cancel", "0" * 32],
    ["task", "purge", "--status", "done", "--yes"],
    ["task", "restore", "-"],
    ["event", "post", "something"],
    ["worker", "--tasks", "eventix_cli.examples.tasks:greet", "--burst"],
]


@pytest.mark.parametrize("args", MUTATING, ids=[" ".join(a[:2]) for a in MUTATING])
def test_read_only_refuses_every_mutating_command(cli, embedded_url, namespace, args) -> None:
    seed(embedded_url, namespace)
    result = cli(
        *args,
        "--url",
        embedded_url,
        "-n",
        namespace,
        env={"EVENTIX_READ_ONLY": "1"},
        input="",
    )
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "read-only mode is on (from EVENTIX_READ_ONLY)" in result.stderr
    from eventix_cli.client.api import EventixClient

    with EventixClient(embedded_url) as client:
        assert [t.status for t in client.iter_tasks(namespace=namespace)] == [TaskStatus.scheduled]


def test_read_only_from_profile_still_reads(cli, embedded_url, namespace, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    (tmp_path / "config.toml").write_text(f'[default]\nread_only = true\nurl = "{embedded_url}"\n')
    seed(embedded_url, namespace)
    assert cli("task", "list", "-n", namespace).exit_code == 0
    assert cli("stats", "-n", namespace).exit_code == 0
    assert cli("task", "purge", "-n", namespace, "--status", "scheduled", "--dry-run").exit_code == 0
    refused = cli("task", "add", "job", "-n", namespace)
    assert refused.exit_code == 2
    assert "(from profile default)" in refused.stderr


# -- completions ----------------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_are_current(cli, shell) -> None:
    result = cli("completion", shell)
    assert result.exit_code == 0
    committed = (REPO_ROOT / "completions" / f"eventix.{shell}").read_text()
    assert result.stdout == committed, (
        f"completions/eventix.{shell} is stale: run `eventix completion {shell}`"
    )


def _complete(words: str, cword: int, url: str) -> tuple[list[str], float]:
    env = {
        **os.environ,
        "_EVENTIX_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
        "EVENTIX_URL": url,
    }
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "eventix_cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO_ROOT,
    )
    return proc.stdout.split(), time.monotonic() - started


def test_dynamic_completion_of_namespaces_and_ids(embedded_url, namespace) -> None:
    task = seed(embedded_url, namespace)[0]
    words, _ = _complete("eventix ta", 1, embedded_url)
    assert words == ["task"]
    words, _ = _complete(f"eventix task list -n {namespace[:6]}", 4, embedded_url)
    assert namespace in words
    words, _ = _complete(f"eventix task show -n {namespace} {task.uid[:4]}", 5, embedded_url)
    assert task.uid in words


def test_completion_never_blocks_on_a_dead_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lookup has a time-out of its own, not the configured one (here longer than the
    test's patience): load-independent, the bound is a hang detector."""
    monkeypatch.setenv("EVENTIX_TIMEOUT", "600")
    listener = __import__("socket").socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts, never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        words, seconds = _complete("eventix task list -n ", 4, url)
    finally:
        listener.close()
    assert words == []
    assert seconds < 25  # 0.5 s lookup timeout plus start-up (the configured time-out: 600 s)


# -- help texts -----------------------------------------------------------------------------


def _leaf_commands() -> list[list[str]]:
    from eventix_cli.cli.app import load_command

    leaves = []
    for name in COMMANDS:
        command = load_command(name)
        assert command.name == name  # the loader returns the command the table names
        subs = command.list_commands(None) if hasattr(command, "list_commands") else None
        if subs:
            leaves.extend([name, sub] for sub in subs)
        else:
            leaves.append([name])
    return leaves


@pytest.mark.parametrize("path", _leaf_commands(), ids=lambda p: " ".join(p))
def test_every_command_help_ends_with_two_examples(cli, path) -> None:
    result = cli(*path, "--help", env={"COLUMNS": "120"})
    assert result.exit_code == 0
    tail = result.stdout[result.stdout.index("Examples") :]
    examples = [
        line
        for line in tail.splitlines()
        if line.strip().startswith(("eventix ", "./dev ", "uid=", "for ns", "EVENTIX_", "$EDITOR"))
    ]
    assert len(examples) >= 2, result.stdout


def test_root_help_lists_every_command_without_loading_them(cli) -> None:
    result = cli("--help")
    for name in COMMANDS:
        assert re.search(rf"│ {name}\s", result.stdout), name


def test_completion_of_status_values_and_shell_names() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # static values: no server asked
    words, _ = _complete("eventix task list --status ", 4, url)
    assert words == [s.value for s in TaskStatus]
    words, _ = _complete("eventix task purge -s d", 4, url)
    assert words == ["done"]
    words, _ = _complete("eventix task list --status error,r", 4, url)
    assert words == ["error,retry"]  # a comma list: the values not given yet
    words, _ = _complete("eventix completion ", 2, url)
    assert words == ["bash", "zsh", "fish"]
    words, _ = _complete("eventix completion z", 2, url)
    assert words == ["zsh"]


def test_config_show_names_the_source_of_every_value(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    path = tmp_path / "config.toml"
    assert cli("config", "set", "url", "https://prod.example.com", "--profile", "prod").exit_code == 0
    result = cli("--profile", "prod", "config", "show", env={"EVENTIX_NAMESPACE": "ops"})
    assert result.exit_code == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert rows["url"].endswith(f"(profile prod in {path})")
    assert rows["namespace"].endswith("(EVENTIX_NAMESPACE)")
    assert rows["timeout"].endswith("(default)")
    assert rows["read_only"].endswith("(default)")
    shown = json.loads(cli("--profile", "prod", "config", "show", "-o", "json").stdout)
    assert shown["sources"]["url"] == "profile prod"
    assert shown["sources"]["timeout"] == "default"


def test_config_list_profiles_and_unset_a_key(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    assert cli("config", "set", "url", "https://prod.example.com", "--profile", "prod").exit_code == 0
    assert cli("config", "set", "namespace", "billing", "--profile", "prod").exit_code == 0
    assert cli("config", "set", "namespace", "dev").exit_code == 0
    assert cli("config", "use", "prod").exit_code == 0
    listed = cli("config", "list")
    assert listed.exit_code == 0, listed.stderr
    assert listed.stdout.splitlines() == ["  default", "* prod"]
    as_json = json.loads(cli("config", "list", "-o", "json").stdout)
    assert as_json == [
        {"profile": "default", "active": False, "settings": ["namespace"]},
        {"profile": "prod", "active": True, "settings": ["url", "namespace"]},
    ]
    unset = cli("config", "unset", "namespace", "--profile", "prod")
    assert unset.exit_code == 0, unset.stderr
    assert "unset namespace in profile prod" in unset.stderr
    saved = tomllib.loads((tmp_path / "config.toml").read_text())
    assert saved["prod"] == {"url": "https://prod.example.com"}
    assert saved["default"] == {"namespace": "dev"}
    again = cli("config", "unset", "namespace", "--profile", "prod")
    assert again.exit_code == 0
    assert "namespace is not set in profile prod" in again.stderr
    assert cli("config", "unset", "colour").exit_code == 2


def test_top_once_csv_is_the_counts_table_without_json_cells(cli, embedded_url, namespace) -> None:
    seed(embedded_url, namespace, 2)
    failed(embedded_url, namespace)
    result = cli("top", "--once", "--url", embedded_url, "-n", namespace, "-o", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0][0] == "namespace"
    assert "total" in rows[0]
    assert rows[1][0] == namespace
    assert dict(zip(rows[0], rows[1], strict=True))["error"] == "1"
    assert not any(cell.startswith(("{", "[")) for row in rows for cell in row)
