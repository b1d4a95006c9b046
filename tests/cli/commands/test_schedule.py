"""``eventix schedule list`` and ``eventix scheduler --once``."""

from __future__ import annotations

import json
from pathlib import Path

from freezegun import freeze_time

from eventix_cli.client.api import EventixClient

FILE = """\
[schedules.nightly_report]
cron = "0 3 * * *"
task = "rebuild_report"
kwargs = { scope = "all" }
namespace = "billing"
timezone = "Europe/Berlin"

[schedules.often]
every = "15m"
task = "poll"

[[schedule]]
schedule = "*/5 * * * *"
task = "poll_inbox"
"""


@freeze_time("2026-03-28T12:01:00Z")
def test_list_shows_the_next_runs(cli, tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text(FILE)
    result = cli("schedule", "list", str(path), "-n", "ops", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "NAME             TASK             NAMESPACE   WHEN                        CATCH UP   NEXT RUNS",
        "nightly_report   rebuild_report   billing     0 3 * * * (Europe/Berlin)   latest     "
        "2026-03-29 03:00+02:00, 2026-03-30 03:00+02:00, 2026-03-31 03:00+02:00",
        "often            poll             ops         every 15m                   latest     "
        "2026-03-28 12:15Z, 2026-03-28 12:30Z, 2026-03-28 12:45Z",
        "poll_inbox       poll_inbox       ops         */5 * * * *                 latest     "
        "2026-03-28 12:05Z, 2026-03-28 12:10Z, 2026-03-28 12:15Z",
    ]
    as_json = json.loads(cli("schedule", "list", str(path), "-o", "json", "--count", "2").stdout)
    assert as_json[0]["next_runs"] == ["2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"]
    assert as_json[0]["unique_key_prefix"] == "schedule:nightly_report:"


def test_list_refuses_a_broken_file_with_every_problem(cli, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[schedules.a]\ntask = "t"\n[schedules.b]\ncron = "x"\ntask = "t"\n')
    result = cli("schedule", "list", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("  s.toml: schedule b: cron 'x'")
    assert lines[1] == "error: s.toml: schedule a: give exactly one of cron or every (ScheduleConfigError)"
    assert lines[2] == "hint: 1 more problem(s) listed above"
    missing = cli("schedule", "list", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 2
    assert "nope.toml: no such file" in missing.stderr


def test_scheduler_once_enqueues_the_current_slot_and_exits(
    cli, tmp_path: Path, embedded_url, namespace
) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[schedules.tick]\nevery = "1s"\ntask = "add"\nargs = [1, 2]\n')
    result = cli("scheduler", str(path), "--once", "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    with EventixClient(embedded_url, retries=0) as client:
        [task] = client.by_status(namespace=namespace).tasks
    assert task.unique_key.startswith("schedule:tick:")
    assert (task.task, task.args) == ("add", [1, 2])


def test_scheduler_once_unreachable_exits_3(cli, tmp_path: Path) -> None:
    from tests.support.servers import free_port

    path = tmp_path / "s.toml"
    path.write_text('[schedules.tick]\nevery = "1s"\ntask = "add"\n')
    result = cli("scheduler", str(path), "--once", "--url", f"http://127.0.0.1:{free_port()}")
    assert result.exit_code == 3
    assert "(ServerUnreachable)" in result.stderr


def test_scheduler_once_with_nothing_due_says_so(cli, tmp_path: Path, embedded_url, namespace) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[schedules.nightly]\ncron = "0 3 * * *"\ntask = "add"\ncatch_up = "none"\n')
    with freeze_time("2026-03-28T12:00:00Z"):
        result = cli("scheduler", str(path), "--once", "--url", embedded_url, "-n", namespace)
    assert result.exit_code == 0, result.stderr
    assert (
        "nothing due now; the next slot is in 15 h 0 min (nightly at 2026-03-29T03:00:00Z)" in result.stderr
    )
    with EventixClient(embedded_url, retries=0) as client:
        assert client.by_status(namespace=namespace).tasks == []
