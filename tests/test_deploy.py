"""The systemd units of docs/deploy/: valid for systemd, every option one the command takes, and
stop timeouts longer than each command's own graceful shutdown."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eventix_cli.cli.app import load_command
from eventix_cli.server import GRACEFUL_SHUTDOWN
from eventix_cli.worker.config import WorkerConfig
from tests.support.servers import REPO_ROOT

DEPLOY = REPO_ROOT / "docs" / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
INSTALLED = "/usr/local/bin/eventix"


#: options of issue 23's server work, merged separately: the lead empties this set after the merge
def _service(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#",))
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    text = re.sub(r"\\\n\s*", " ", unit.read_text())  # continuation lines joined, as systemd does
    parser.read_string(text)
    return parser["Service"]


def _argv(unit: Path) -> list[str]:
    return shlex.split(_service(unit)["ExecStart"])


def test_there_is_a_unit_for_each_long_running_command() -> None:
    assert {_argv(unit)[1] for unit in UNITS} == {"server", "worker", "scheduler", "exporter"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: point it at this checkout's eventix
    eventix = Path(sys.executable).parent / "eventix"
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED, str(eventix)))
    names = [str(tmp_path / unit.name) for unit in UNITS]
    result = subprocess.run(
        ["systemd-analyze", "verify", *names], capture_output=True, text=True, timeout=60, check=False
    )
    # unknown keys and unparsable values are only warnings (exit 0): no output at all is the bar
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).strip() == ""


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.stem)
def test_every_option_of_a_unit_is_one_its_command_takes(unit: Path) -> None:
    program, command, *args = _argv(unit)
    assert program == INSTALLED
    takes = {opt for param in load_command(command).params for opt in param.opts}
    given = {arg for arg in args if arg.startswith("-")}
    assert given - takes == set()


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.stem)
def test_a_unit_stops_its_command_gracefully_and_keeps_the_token_off_the_command_line(unit: Path) -> None:
    service = _service(unit)
    args = _argv(unit)
    assert service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "on-failure"
    stop_timeout = float(service["TimeoutStopSec"])
    if args[1] == "server":
        assert stop_timeout > 2 * GRACEFUL_SHUTDOWN
    if args[1] == "worker":
        grace = float(args[args.index("--shutdown-timeout") + 1]) if "--shutdown-timeout" in args else None
        assert stop_timeout > 1.5 * (grace or WorkerConfig.shutdown_timeout)
    assert "--token" not in args
    assert "LoadCredential" in service
    assert re.search(r"EVENTIX_(SERVER_)?TOKEN_FILE=%d/", unit.read_text())
