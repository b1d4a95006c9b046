"""The root app: --version, --help, global options, usage errors, the entry points."""

from __future__ import annotations

import subprocess
import sys

from eventix_cli import __version__


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"eventix-cli {__version__}\n"


def test_help_lists_commands_and_examples(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    assert "ping" in result.stdout
    assert "Examples" in result.stdout
    assert "--profile" in result.stdout
    assert "Exit codes" in result.stdout


def test_no_args_shows_help(cli) -> None:
    result = cli()
    assert result.exit_code == 2  # no command is a usage error, as click has it
    assert "Usage: eventix [OPTIONS] COMMAND [ARGS]..." in result.stdout
    assert "Commands" in result.stdout


def test_command_help_has_examples(cli) -> None:
    result = cli("ping", "--help")
    assert result.exit_code == 0
    assert "eventix ping --url" in result.stdout
    assert "--url" in result.stdout


def test_unknown_option_is_one_line_usage_error(cli) -> None:
    result = cli("ping", "--nope")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: No such option: --nope (UsageError)",
        "hint: see 'eventix ping --help'",
    ]


def test_bad_output_format(cli) -> None:
    result = cli("ping", "-o", "xml")
    assert result.exit_code == 2
    assert "xml" in result.stderr
    assert result.stderr.startswith("error: ")


def test_malformed_config_exit_2(cli, tmp_path, monkeypatch) -> None:
    (tmp_path / "config.toml").write_text("[default\nurl = 1\n")
    monkeypatch.setenv("EVENTIX_CONFIG_DIR", str(tmp_path))
    result = cli("ping")
    assert result.exit_code == 2
    assert str(tmp_path / "config.toml") + ":1" in result.stderr
    assert "(ConfigError)" in result.stderr


def test_unknown_profile_exit_2(cli) -> None:
    result = cli("--profile", "nope", "ping")
    assert result.exit_code == 2
    assert "profile 'nope'" in result.stderr


def test_debug_shows_traceback_and_requests(cli, upstream) -> None:
    result = cli("--debug", "ping", "--url", upstream.url.replace(upstream.url.rsplit(":", 1)[1], "1"))
    assert result.exit_code == 3
    assert "Traceback" in result.stderr
    ok = cli("--debug", "ping", "--url", upstream.url)
    assert ok.exit_code == 0
    assert "GET " in ok.stderr
    assert "/healthz -> 200" in ok.stderr


def test_console_script_and_module_entry_points(upstream) -> None:
    bindir = __import__("pathlib").Path(sys.executable).parent
    for cmd in ([str(bindir / "eventix")], [sys.executable, "-m", "eventix_cli"]):
        proc = subprocess.run(
            [*cmd, "ping", "--url", upstream.url, "-o", "json"], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        assert '"status": "healthy"' in proc.stdout
        proc = subprocess.run([*cmd, "--version"], capture_output=True, text=True)
        assert proc.stdout.strip() == f"eventix-cli {__version__}"
