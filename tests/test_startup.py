"""Start-up: a command loads only what it needs; lazily loaded commands behave as if eager."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import REPO_ROOT

TASK_MODULES = {
    "eventix_cli.cli.commands.task.add",
    "eventix_cli.cli.commands.task.cancel",
    "eventix_cli.cli.commands.task.dump",
    "eventix_cli.cli.commands.task.listing",
    "eventix_cli.cli.commands.task.purge",
    "eventix_cli.cli.commands.task.retry",
    "eventix_cli.cli.commands.task.show",
    "eventix_cli.cli.commands.task.wait",
}

_PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.__stderr__.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from eventix_cli.cli.app import main
sys.argv = ["eventix", *sys.argv[1:]]
main()
"""


def _modules_after(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> set[str]:
    """The modules a real process of ``eventix ARGS`` has imported when it exits."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_") or k == "EVENTIX_STATE_DIR"}
    env = {**kept, **(env or {})}  # the state directory stays the test's own (the journal)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


@pytest.mark.parametrize(
    ("args", "own"),
    [
        (["task", "show", "--help"], "eventix_cli.cli.commands.task.show"),
        (["task", "list", "--help"], "eventix_cli.cli.commands.task.listing"),
        (["task", "add", "--help"], "eventix_cli.cli.commands.task.add"),
    ],
)
def test_a_task_command_imports_no_other_task_command(args, own) -> None:
    loaded = _modules_after(*args)
    assert own in loaded
    assert not (TASK_MODULES - {own}) & loaded


def test_task_help_lists_every_task_command_in_order(cli) -> None:
    from eventix_cli.cli.commands.task import SUBCOMMANDS

    result = cli("task", "--help", env={"COLUMNS": "120"})
    assert result.exit_code == 0
    positions = [result.stdout.index(f"│ {name} ") for name in SUBCOMMANDS]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [(["tsk"], "Did you mean 'task'?"), (["task", "lst"], "Did you mean 'list'?")],
)
def test_a_mistyped_command_gets_a_suggestion(cli, args, suggestion) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert suggestion in result.stderr
    assert len([x for x in result.stderr.splitlines() if x.startswith("error:")]) == 1


def test_list_show_and_add_run_without_pydantic(embedded_url, namespace) -> None:
    """`task list`, `task show` and `task add` need no pydantic (~40 ms of start-up), nor, over
    http, the CA bundles (certifi, ~20 ms)."""
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.task import Task

    with EventixClient(embedded_url) as client:
        uid = client.post_task(Task(task="noop", namespace=namespace).to_wire()).uid
    for args in (
        ["task", "show", "--url", embedded_url, uid],
        ["task", "show", "--url", embedded_url, "-o", "json", uid],
        ["task", "list", "--url", embedded_url, "-n", namespace, "--limit", "1"],
        ["task", "list", "--url", embedded_url, "-n", namespace, "--limit", "1", "--sort", "eta"],
        ["task", "add", "--url", embedded_url, "-n", namespace, "noop", "--kwarg", "a=1", "--eta", "+1m"],
        ["task", "add", "--url", embedded_url, "-n", namespace, "-o", "json", "noop"],
    ):
        loaded = _modules_after(*args)
        assert not {m for m in loaded if m == "pydantic" or m.startswith("pydantic.")}, args
        assert "eventix_cli.core.task" not in loaded, args
        assert not {"certifi", "truststore"} & loaded, args  # http: no CA bundle to load


@pytest.mark.parametrize(
    ("args", "own"),
    [
        (["task", "cancel", "--help"], "eventix_cli.cli.commands.task.cancel"),
        (["worker", "--help"], "eventix_cli.cli.commands.worker"),
    ],
)
def test_help_of_a_command_that_deferred_pydantic_runs_without_it(args, own) -> None:
    """cancel imports its outcome helpers, and worker the worker package, only to run: both
    bring the pydantic task model."""
    loaded = _modules_after(*args)
    assert own in loaded
    assert not {m for m in loaded if m == "pydantic" or m.startswith("pydantic.")}


def test_a_command_that_draws_nothing_and_reads_no_settings_loads_none_of_their_modules() -> None:
    """rich is imported by output.py only to draw, logging only with --debug or a log option,
    platformdirs and tomllib only when settings are read (config.py), the client (httpx) by
    completion.py only to look up namespaces or ids."""
    loaded = _modules_after("completion", "bash")
    assert "eventix_cli.cli.commands.completion" in loaded
    tops = {m.split(".")[0] for m in loaded}
    assert not tops & {"rich", "logging", "platformdirs", "tomllib", "httpx"}, tops


@pytest.mark.parametrize("args", [["config", "path"], ["config", "show"]], ids=" ".join)
def test_a_command_without_log_options_loads_no_logging(args, tmp_path) -> None:
    """The logging package comes with --debug or a log option only (app.py and options.py
    import eventix_cli.logging when one is given); nor rich (nothing drawn) nor httpx."""
    loaded = _modules_after(*args, env={"EVENTIX_CONFIG_DIR": str(tmp_path)})
    assert "eventix_cli.cli.options" in loaded
    tops = {m.split(".")[0] for m in loaded}
    assert not tops & {"logging", "rich", "httpx"}, tops


def test_a_worker_of_plain_functions_starts_without_upstream_or_extras(embedded_url, tmp_path) -> None:
    """A worker loads upstream's eventix package (~250 ms: requests, redis, pymongo, ...) only
    when its task modules do, python-dotenv only when there is a .env.local, and nothing of
    the scheduler, the metrics or rich unless asked for, nor urllib3 (it sends through kept-alive
    connections)."""
    args = ["worker", "--url", embedded_url, "-n", "startup-empty"]
    args += ["--tasks", "tests.support.plain_tasks:plain_noop", "--burst"]
    loaded = _modules_after(*args, cwd=tmp_path)
    assert "tests.support.plain_tasks" in loaded  # it really ran
    tops = {m.split(".")[0] for m in loaded}
    assert not tops & {"eventix", "dotenv", "rich", "prometheus_client", "cronsim", "urllib3"}, tops
    assert "eventix_cli.cli.commands.scheduler" not in loaded
    assert not {
        m for m in loaded if m.startswith(("eventix_cli.cli.schedule_files", "eventix_cli.schedules"))
    }
    assert "eventix_cli.cli.commands.task" not in loaded


def test_a_worker_of_upstream_tasks_loads_them(embedded_url, tmp_path) -> None:
    (tmp_path / ".env.local").write_text("EVENTIX_WORKER_TEST_VARIABLE=1\n")
    args = ["worker", "--url", embedded_url, "-n", "startup-empty"]
    args += ["--tasks", "tests.support.sample_tasks", "--burst"]
    loaded = _modules_after(*args, cwd=tmp_path)
    assert {"eventix.functions.core", "eventix.functions.eventix_client", "dotenv"} <= loaded


@pytest.mark.parametrize(
    "first",
    [
        "eventix_cli.client.answer",
        "eventix_cli.client.keepalive",
        "eventix_cli.client.transport",
        "eventix_cli.client.sender",
    ],
)
def test_httpx_comes_without_its_command_line_whichever_module_imports_it_first(first) -> None:
    probe = (
        f"import sys, {first}; print(sorted(m for m in ('rich', 'click', 'pygments') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# Modules a command's start-up does without: each is kept off by an import deferred into the
# function that needs it (a comment there says what it keeps off), so these tests fail when one
# of those imports moves to the top of its module.
HEAVY = (
    "pydantic",
    "httpx",
    "urllib3",
    "certifi",
    "truststore",
    "yaml",
    "prometheus_client",
    "fastapi",
    "uvicorn",
    "starlette",
    "anyio",
    "eventix",
    "platformdirs",
    "tomllib",
    "dotenv",
    "cronsim",
    "textual",
    "sqlite3",
    "concurrent.futures",
    "rich.progress",
    "rich.live",
)

HELP_PATHS = [
    [],
    ["task"],
    *(["task", name] for name in ("list", "show", "running", "add", "retry", "cancel", "purge")),
    *(["task", name] for name in ("wait", "dump", "restore")),
    ["stats"],
    ["check"],
    ["top"],
    ["worker"],
    ["namespace"],
    ["namespace", "list"],
    ["event"],
    ["event", "post"],
    ["trigger"],
    ["trigger", "check"],
    ["trigger", "test"],
    ["schedule"],
    ["schedule", "list"],
    ["scheduler"],
    ["server"],
    ["exporter"],
    ["history"],
    ["history", "show"],
    ["undo"],
    ["ping"],
    ["config"],
    *(["config", name] for name in ("path", "show", "set", "use")),
    ["tour"],
    ["completion"],
]

# schedule files are read through the schedule model (pydantic), cron expressions and TOML,
# which the schedule commands import at the top of their modules
HELP_ALLOWS = {
    "schedule": {"pydantic", "cronsim", "tomllib"},
    "scheduler": {"pydantic", "cronsim", "tomllib"},
}


def _heavy(loaded: set[str]) -> set[str]:
    return {name for name in HEAVY if name in loaded}


def test_help_paths_cover_every_command() -> None:
    from eventix_cli.cli.app import COMMANDS
    from eventix_cli.cli.commands.task import SUBCOMMANDS

    assert {p[0] for p in HELP_PATHS if p} == set(COMMANDS)
    assert {p[1] for p in HELP_PATHS if p[:1] == ["task"] and len(p) == 2} == set(SUBCOMMANDS)


@pytest.mark.parametrize("path", HELP_PATHS, ids=lambda p: " ".join(p) or "eventix")
def test_help_loads_no_heavy_module(path) -> None:
    """`--help` of every command: no HTTP client, no pydantic, no server, metrics, YAML,
    settings or progress-bar modules (only what the command's help itself needs)."""
    loaded = _modules_after(*path, "--help")
    assert _heavy(loaded) <= HELP_ALLOWS.get(path[0] if path else "", set()), _heavy(loaded)


_CONNECT = ["--url", "{url}"]
_IN_NAMESPACE = [*_CONNECT, "-n", "{namespace}"]


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["task", "list", *_IN_NAMESPACE, "--limit", "1"], set()),
        (["task", "list", *_IN_NAMESPACE, "-o", "json"], set()),
        (["task", "show", *_CONNECT, "{uid}"], set()),
        (["task", "show", *_CONNECT, "-o", "json", "{uid}"], set()),
        (["task", "add", *_IN_NAMESPACE, "noop", "--kwarg", "a=1"], set()),
        (["task", "running", *_IN_NAMESPACE], set()),
        (["task", "wait", *_CONNECT, "--timeout", "0", "{uid}"], set()),
        (["task", "purge", *_IN_NAMESPACE, "--status", "done", "--dry-run"], set()),
        (["task", "dump", *_IN_NAMESPACE], set()),
        (["namespace", "list", *_CONNECT], set()),
        (["ping", *_CONNECT], set()),
        (["stats", *_CONNECT], {"concurrent.futures"}),  # stats asks for the namespaces in parallel
        (["top", *_CONNECT, "--once", "-A"], {"concurrent.futures"}),  # and top, like stats
        # a monitor runs check often: it reads through the monitor's functions (concurrent.futures)
        (["check", *_IN_NAMESPACE, "--max-queued", "10", "--max-errors", "5"], {"concurrent.futures"}),
    ],
    ids=lambda v: " ".join(a for a in v if not a.startswith(("-", "{"))) if isinstance(v, list) else "",
)
def test_common_commands_run_without_heavy_modules(embedded_url, namespace, args, allowed) -> None:
    """The common commands against a server over http load httpx and urllib3 and none of the
    rest: no pydantic, no CA bundles, no TOML parser without a config file, and nothing of rich
    (tables are plain text; rich draws only help, progress bars and `top`'s live view)."""
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.task import Task

    with EventixClient(embedded_url) as client:
        uid = client.post_task(Task(task="noop", namespace=namespace).to_wire()).uid
    args = [a.format(url=embedded_url, namespace=namespace, uid=uid) for a in args]
    loaded = _modules_after(*args)
    assert {"httpx", "urllib3"} <= loaded, args  # it really ran
    # platformdirs finds the config file the settings are read from (there is none: no tomllib)
    assert _heavy(loaded) - {"httpx", "urllib3", "platformdirs"} <= allowed, (args, _heavy(loaded))
    assert "rich" not in loaded, args


_QUERY, _BULK, _FIELDS = "eventix_cli.core.query", "eventix_cli.cli.bulk", "eventix_cli.core.fields"
_COMMON, _BATCH = "eventix_cli.cli.commands.task.common", "eventix_cli.cli.commands.task.batch"
_WAITING = "eventix_cli.cli.commands.task.waiting"


@pytest.mark.parametrize(
    ("args", "absent"),
    [
        (["task", "list", "--help"], {_QUERY, _BULK, _FIELDS}),
        (["task", "show", "--help"], {_COMMON, _QUERY, _BULK}),
        (["task", "add", "--help"], {_QUERY, _BULK, _BATCH, _WAITING}),
        (["server", "--help"], {"eventix_cli.cli.commands.trigger", "eventix_cli.cli.commands.task.add"}),
        (["task", "list", *_IN_NAMESPACE], {_BULK}),
        (["task", "show", *_CONNECT, "{uid}"], {_COMMON, _QUERY, _BULK}),
        (["task", "add", *_IN_NAMESPACE, "noop"], {_QUERY, _BULK, _BATCH, _WAITING}),
    ],
    ids=lambda v: " ".join(a for a in v if not a.startswith("{")) if isinstance(v, list) else "",
)
def test_the_common_commands_skip_what_only_other_uses_need(embedded_url, namespace, args, absent) -> None:
    """Our own modules too, where deferring them measurably shortens the common start-ups:
    the query module (--status and the like), bulk actions (~4 ms of dataclass set-up),
    --from files, --wait, --sort checking, and the trigger loader of `server`."""
    from eventix_cli.client.api import EventixClient
    from eventix_cli.core.task import Task

    with EventixClient(embedded_url) as client:
        uid = client.post_task(Task(task="noop", namespace=namespace).to_wire()).uid
    args = [a.format(url=embedded_url, namespace=namespace, uid=uid) for a in args]
    loaded = _modules_after(*args)
    assert args[-1] == "--help" or "httpx" in loaded, args  # a run really ran
    assert not absent & loaded, (args, absent & loaded)


def test_only_the_interactive_top_imports_textual() -> None:
    """Textual (~100 ms) is imported at module level only by the cli/top package, and that
    package only inside `eventix top`'s interactive path: no other command, nor `top --help`
    or `top --once` (test_help_loads_no_heavy_module and the common commands check those runs)."""
    import ast

    package = REPO_ROOT / "eventix_cli"
    top_package = package / "cli" / "top"
    importers = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: deferred imports sit inside functions
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "textual" or n.startswith(("textual.", "eventix_cli.cli.top")) for n in names):
                importers.add(path)
    assert importers
    assert all(top_package in path.parents for path in importers), sorted(map(str, importers))
