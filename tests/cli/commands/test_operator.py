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


def test_config_show_says_what_an_unset_value_means_never_none(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    result = cli("config", "show")
    assert result.exit_code == 0, result.stderr
    assert "None" not in result.stdout
    rows = {
        line.split()[0]: line.split("  (")[0].split(None, 1)[1].strip() for line in result.stdout.splitlines()
    }
    assert rows["output"] == "table"  # the format a command prints in when nothing sets one
    assert rows["token"] == "not set"
    assert rows["ca_bundle"] == "not set"
    shown = json.loads(cli("config", "show", "-o", "json").stdout)
    assert (shown["output"], shown["sources"]["output"]) == ("json", "flag")
    shown = json.loads(cli("config", "show", env={"EVENTIX_OUTPUT": "json"}).stdout)
    assert (shown["output"], shown["sources"]["output"]) == ("json", "EVENTIX_OUTPUT")


def test_config_list_shows_every_profile_and_the_one_in_use(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    assert cli("config", "set", "url", "https://prod.example.com", "--profile", "prod").exit_code == 0
    assert cli("config", "list").stdout.splitlines() == ["* default", "  prod"]
    assert cli("config", "use", "prod").exit_code == 0
    assert cli("config", "list").stdout.splitlines() == ["  default", "* prod"]
    assert json.loads(cli("config", "list", "-o", "json").stdout) == [
        {"profile": "default", "active": False, "settings": []},
        {"profile": "prod", "active": True, "settings": ["url"]},
    ]
    assert cli("--profile", "default", "config", "list").stdout.splitlines() == ["* default", "  prod"]
    by_env = cli("config", "list", env={"EVENTIX_PROFILE": "default"})
    assert by_env.stdout.splitlines() == ["* default", "  prod"]
    assert cli("config", "use", "default").exit_code == 0
    assert cli("config", "list").stdout.splitlines() == ["* default", "  prod"]


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


def test_config_set_and_unset_change_the_profile_the_global_flag_names(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    assert cli("config", "set", "namespace", "dev").exit_code == 0
    result = cli("--profile", "prod", "config", "set", "namespace", "billing")
    assert result.exit_code == 0, result.stderr
    saved = tomllib.loads((tmp_path / "config.toml").read_text())
    assert saved["default"] == {"namespace": "dev"}, "the default profile was changed"
    assert saved.get("prod") == {"namespace": "billing"}
    assert cli("--profile", "prod", "config", "unset", "namespace").exit_code == 0
    assert tomllib.loads((tmp_path / "config.toml").read_text())["default"] == {"namespace": "dev"}


def test_config_list_does_not_list_an_undefined_profile_as_in_use(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    assert cli("config", "set", "namespace", "dev").exit_code == 0
    env = {"EVENTIX_PROFILE": "nosuch"}
    shown = cli("config", "show", env=env)
    assert shown.exit_code == 2
    assert "profile 'nosuch' is not defined" in shown.stderr
    listed = cli("config", "list", env=env)
    assert (listed.exit_code, listed.stderr) == (shown.exit_code, shown.stderr)
    assert "nosuch" not in listed.stdout


def test_config_set_writes_through_a_symlinked_config_file(cli, tmp_path, monkeypatch) -> None:
    config_dir, dotfiles = tmp_path / "config", tmp_path / "dotfiles"
    config_dir.mkdir()
    dotfiles.mkdir()
    target = dotfiles / "eventix.toml"
    target.write_text('[default]\nnamespace = "dev"\n')
    target.chmod(0o640)
    (config_dir / "config.toml").symlink_to(os.path.join("..", "dotfiles", "eventix.toml"))
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(config_dir))
    assert cli("config", "set", "url", "https://prod.example.com").exit_code == 0
    assert (config_dir / "config.toml").is_symlink()
    assert tomllib.loads(target.read_text())["default"] == {
        "namespace": "dev",
        "url": "https://prod.example.com",
    }
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the mode its owner chose
    assert sorted(p.name for p in dotfiles.iterdir()) == ["eventix.toml"]  # no temporary file left
    assert sorted(p.name for p in config_dir.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(("key", "value"), [("timeout", "nan"), ("timeout", "inf"), ("namespace", "")])
def test_config_set_refuses_what_the_commands_would_refuse(cli, tmp_path, monkeypatch, key, value) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    result = cli("config", "set", key, value)
    shown = cli("config", "show")
    assert shown.exit_code == 0, f"set exited {result.exit_code}, then: {shown.stderr}"
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert not (tmp_path / "config.toml").exists()


def test_a_profile_named_active_profile_is_refused_or_kept_whole(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    made = cli("config", "set", "url", "https://prod.example.com", "--profile", "active_profile")
    if made.exit_code == 2:  # refused as a profile name: nothing written
        assert not (tmp_path / "config.toml").exists()
        return
    assert made.exit_code == 0, made.stderr
    listed = cli("config", "list")
    assert listed.exit_code == 0, listed.stderr
    assert cli("config", "use", "active_profile").exit_code == 0
    shown = json.loads(cli("config", "show", "-o", "json").stdout)
    assert shown["url"] == "https://prod.example.com"


@pytest.mark.parametrize("how", ["--profile", "EVENTIX_PROFILE", "config use"])
def test_the_file_s_own_keys_are_refused_as_profile_names(cli, tmp_path, monkeypatch, how) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    assert cli("config", "set", "namespace", "dev").exit_code == 0
    before = (tmp_path / "config.toml").read_text()
    if how == "--profile":
        result = cli("--profile", "active_profile", "config", "show")
    elif how == "EVENTIX_PROFILE":
        result = cli("config", "list", env={"EVENTIX_PROFILE": "active_profile"})
    else:
        result = cli("config", "use", "active_profile")
    assert result.exit_code == 2
    assert "'active_profile' cannot be a profile name" in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert (tmp_path / "config.toml").read_text() == before


def test_a_file_with_an_active_profile_table_says_it_is_not_a_profile(cli, tmp_path, monkeypatch) -> None:
    """A file written before the name was refused: every reader says what is wrong (no internal
    error), and `config use` does not overwrite the table's settings."""
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    path = tmp_path / "config.toml"
    path.write_text('[default]\nnamespace = "dev"\n\n[active_profile]\nurl = "https://prod.example.com"\n')
    before = path.read_text()
    for args in (("config", "list"), ("config", "show"), ("config", "use", "default"), ("ping",)):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert "[active_profile] is not a profile" in result.stderr, (args, result.stderr)
        assert "internal error" not in result.stderr
    assert path.read_text() == before


def test_config_set_refuses_a_read_only_config_file(cli, tmp_path, monkeypatch) -> None:
    """Its owner made it read-only: not replaced by a writable file (root may rename over it)."""
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    path = tmp_path / "config.toml"
    path.write_text('[default]\nnamespace = "dev"\n')
    path.chmod(0o400)
    for args in (("set", "namespace", "billing"), ("unset", "namespace"), ("use", "default")):
        result = cli("config", *args)
        assert result.exit_code == 2, (args, result.stderr)
        assert f"config file {path} is read-only (mode 0400)" in result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert stat.S_IMODE(path.stat().st_mode) == 0o400
        assert path.read_text() == '[default]\nnamespace = "dev"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


def test_config_set_keeps_the_mode_of_an_existing_file_and_warns_of_a_readable_token(
    cli, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    path = tmp_path / "config.toml"
    path.write_text('[default]\nnamespace = "dev"\n')
    path.chmod(0o640)
    result = cli("config", "set", "url", "https://prod.example.com")
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    result = cli("config", "set", "token", "abcdefghijklmnop")
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert f"warning: {path} holds a token and can be read by other users; run: chmod 600 {path}" in (
        result.stderr
    )


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root gives a file away")
def test_config_set_as_root_keeps_the_owner_of_the_file(cli, tmp_path, monkeypatch) -> None:
    """`sudo eventix config set ...` on a user's file: still theirs (0600 and root's, they could
    not read it)."""
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    path = tmp_path / "config.toml"
    path.write_text('[default]\nnamespace = "dev"\n')
    path.chmod(0o600)
    os.chown(path, 65534, 65534)
    assert cli("config", "set", "namespace", "billing").exit_code == 0
    assert (path.stat().st_uid, path.stat().st_gid, stat.S_IMODE(path.stat().st_mode)) == (
        65534,
        65534,
        0o600,
    )
    assert tomllib.loads(path.read_text())["default"] == {"namespace": "billing"}


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
