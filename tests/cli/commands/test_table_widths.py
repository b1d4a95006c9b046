"""The other tables at 80 and 120 columns (issue 20): stats, namespaces, trigger test and
schedule list readable on a terminal, never cut in a pipe; our own notices coloured on a
colour terminal only."""

from __future__ import annotations

import io
import json
import sys
import uuid
from pathlib import Path

import pytest
from freezegun import freeze_time
from rich.cells import cell_len

from eventix_cli.cli import output
from eventix_cli.core.statuses import TaskStatus
from tests.support.tasks import failed, seed

TRIGGERS = """\
triggers:
  TransactionStatusChangeCreatesInvoice:
    event_name: TTransactionStatusChangeEvent
    code: |
      def execute(self, event: TEventixEvent) -> TEventixTask:
          payload = event.payload_dict()
          if payload.get("status") != "ANNOUNCED":
              self.ignore()
          kwargs = dict(nr=payload["nr"], customer="ACME Corporation GmbH, Rechnungsabteilung")
          return TEventixTask(task="send_announcement_email", kwargs=kwargs, unique_key="announce:7")
  IgnoreDrafts:
    event_name: TTransactionStatusChangeEvent
    code: |
      def execute(self, event: TEventixEvent) -> TEventixTask:
          self.ignore()
"""

SCHEDULES = """\
[schedules.nightly_billing_report]
cron = "0 3 * * *"
task = "rebuild_monthly_billing_report"
namespace = "billing"
timezone = "Europe/Berlin"

[schedules.often]
every = "15m"
task = "poll"
"""


def _fits(text: str, width: int) -> bool:
    return all(cell_len(line) <= width for line in text.splitlines())


@pytest.mark.parametrize("width", [80, 120])
def test_trigger_test_is_readable(cli, tmp_path: Path, width: int) -> None:
    directory = tmp_path / "triggers"
    directory.mkdir()
    (directory / "billing.yaml").write_text(TRIGGERS)
    args = (
        "trigger",
        "test",
        str(directory),
        "TTransactionStatusChangeEvent",
        "--payload",
        '{"status": "ANNOUNCED", "nr": 7}',
    )
    result = cli.terminal(*args, columns=width)
    assert result.exit_code == 0, result.stderr
    assert _fits(result.stdout, width), result.stdout
    assert "…" not in result.stdout  # nothing cut: every trigger whole, in its own block
    assert result.stdout.splitlines()[0] == "TransactionStatusChangeCreatesInvoice"
    assert "  task             send_announcement_email" in result.stdout
    assert "  unique key       announce:7" in result.stdout
    assert "ACME Corporation GmbH" in result.stdout  # a long value goes on over lines
    assert "self.ignore()" in result.stdout
    piped = cli(*args, env={"COLUMNS": str(width)})
    assert piped.stdout.splitlines()[0].split()[:3] == ["TRIGGER", "RESULT", "TASK"]  # a pipe keeps the table
    assert "ACME Corporation GmbH, Rechnungsabteilung" in piped.stdout


@freeze_time("2026-03-28T12:01:00Z")
@pytest.mark.parametrize("width", [80, 120])
def test_schedule_list_shows_every_run_time(cli, tmp_path: Path, width: int) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text(SCHEDULES)
    result = cli.terminal("schedule", "list", str(path), "-n", "ops", columns=width)
    assert result.exit_code == 0, result.stderr
    assert _fits(result.stdout, width), result.stdout
    assert "…" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "nightly_billing_report"
    assert "  task       rebuild_monthly_billing_report" in lines
    assert "  next runs  2026-03-29 03:00+02:00" in lines
    assert "             2026-03-30 03:00+02:00" in lines
    assert "             2026-03-28 12:45Z" in lines
    piped = cli("schedule", "list", str(path), "-n", "ops", env={"COLUMNS": str(width)}).stdout
    assert piped.splitlines()[0].split()[0] == "NAME"
    assert "2026-03-29 03:00+02:00, 2026-03-30 03:00+02:00, 2026-03-31 03:00+02:00" in piped


def test_a_schedule_table_that_fits_stays_a_table(cli, tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text(SCHEDULES)
    result = cli.terminal("schedule", "list", str(path), "--count", "1", columns=120)
    assert result.stdout.splitlines()[0].split()[:2] == ["NAME", "TASK"]


@pytest.mark.parametrize("width", [80, 120])
def test_stats_across_namespaces_keeps_the_total(cli, embedded_url, namespace, width) -> None:
    seed(embedded_url, namespace, 3, task="rebuild_search_index_for_tenant")
    failed(embedded_url, namespace, task="send_invoice_reminder_email")
    seed(embedded_url, namespace, task="送信", status=TaskStatus.done)
    result = cli.terminal("stats", "--url", embedded_url, "-A", columns=width)
    assert result.exit_code == 0, result.stderr
    assert _fits(result.stdout, width), result.stdout
    assert "TOTAL" in result.stdout.splitlines()[0].split()
    row = next(line for line in result.stdout.splitlines() if line.startswith(namespace))
    assert row.split()[0] == namespace
    by_task = cli.terminal("stats", "--url", embedded_url, "-n", namespace, "--by", "task", columns=width)
    assert _fits(by_task.stdout, width), by_task.stdout
    header = by_task.stdout.splitlines()[0].split()
    assert header[:2] == ["NAMESPACE", "TASK"]
    assert header[-1] == "TOTAL"
    if width == 80:
        assert "PROCESSING" not in header  # 0 everywhere: it goes first
        assert "PROCESSING" in by_task.stderr
    assert "rebuild_search" in by_task.stdout


@pytest.mark.parametrize("width", [80, 120])
def test_namespace_list_on_a_terminal_and_in_a_pipe(cli, embedded_url, width) -> None:
    name = f"t-{uuid.uuid4().hex}-namespace-with-a-rather-long-name-for-a-team"
    seed(embedded_url, name)
    shown = cli.terminal("namespace", "list", "--url", embedded_url, columns=width)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == "NAMESPACE"
    assert name[: width - 1] in shown.stdout
    assert _fits(shown.stdout, width)
    assert name in cli("namespace", "list", "--url", embedded_url, env={"COLUMNS": "80"}).stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("say", [output.warn, lambda text: output.message(f"error: {text} (Oops)")])
def test_error_and_warning_prefixes_are_coloured_on_a_colour_terminal_only(monkeypatch, say) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    say("disk \x1b[2J full")
    coloured = terminal.getvalue()
    assert coloured.startswith(("\033[1;33mwarning:\033[0m disk \\e[2J full", "\033[1;31merror:\033[0m disk"))
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Terminal()
    monkeypatch.setattr(sys, "stderr", plain)
    say("disk full")
    assert "\033" not in plain.getvalue()
    monkeypatch.delenv("NO_COLOR")
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    say("disk full")
    assert "\033" not in pipe.getvalue()


def test_a_usage_error_is_coloured_on_a_colour_terminal(cli) -> None:
    result = cli.terminal("task", "show", columns=80, color=True)
    assert result.exit_code == 2
    assert result.stderr.startswith("\033[1;31merror:\033[0m give a task uid")
    assert cli("task", "show").stderr.startswith("error: give a task uid")
    assert json.dumps(result.stdout) == '""'


def test_top_once_across_namespaces_keeps_total_and_the_errors_namespace(cli, embedded_url) -> None:
    suffix = uuid.uuid4().hex[:6]
    for namespace in (f"t-billing-operations-{suffix}", f"t-b-{suffix}"):
        failed(embedded_url, namespace, task="send_invoice")
    result = cli.terminal("top", "--once", "-A", "--url", embedded_url, columns=80)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert _fits(result.stdout, 80), lines
    assert "TOTAL" in next(line for line in lines if line.startswith("NAMESPACE")).split()
    errors_header = lines[lines.index("latest errors") + 1].split()
    assert errors_header[:2] == ["WHEN", "NAMESPACE"]
    assert errors_header[-1] == "ERROR"
    assert f"t-b-{suffix}" in result.stdout
