"""Schedules files: TOML tables, upstream's entries, YAML/JSON, and one problem per line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from eventix_cli.schedules import Schedule, ScheduleFileError, load_schedules

EXAMPLE = """\
[schedules.nightly_report]
cron = "0 3 * * *"          # or: every = "15m"
task = "rebuild_report"
kwargs = { scope = "all" }
namespace = "billing"       # default: the active namespace
priority = 0                # logical
timezone = "Europe/Berlin"  # default UTC; cron is read in it (DST handled)

[schedules.poll]
every = "90s"
task = "poll"
args = [1, "a"]
catch_up = "all"

[[schedule]]
schedule = "*/5 * * * *"
task = "poll_inbox"
name = "inbox"
args = [1]
kwargs = { box = "main" }
priority = 3

[[schedule]]
schedule = "0 0 * * * 30"   # croniter's optional sixth field: seconds
task = "half_past"
"""


def test_the_readme_example_and_upstream_entries(tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text(EXAMPLE)
    nightly, poll, inbox, half = load_schedules(path)
    assert nightly == Schedule(
        name="nightly_report",
        task="rebuild_report",
        cron="0 3 * * *",
        kwargs={"scope": "all"},
        namespace="billing",
        timezone="Europe/Berlin",
    )
    assert (poll.every, poll.args, poll.catch_up, poll.cron) == (90, (1, "a"), "all", None)
    assert (inbox.name, inbox.cron, inbox.args, inbox.kwargs, inbox.priority) == (
        "inbox",
        "*/5 * * * *",
        (1,),
        {"box": "main"},
        3,
    )
    assert (half.name, half.cron) == ("half_past", "30 0 0 * * *")
    slot = dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC)
    assert nightly.unique_key(slot) == "schedule:nightly_report:2026-03-29T01:00:00Z"


def test_an_upstream_worker_config_in_yaml_or_json(tmp_path: Path) -> None:
    config = {
        "register_tasks": ["myapp.tasks"],
        "namespace": "ops",
        "schedule": [{"schedule": "@hourly", "task": "sync", "kwargs": {"full": True}}],
    }
    (tmp_path / "worker.json").write_text(json.dumps(config))
    (tmp_path / "worker.yaml").write_text(
        "schedule:\n  - schedule: '@hourly'\n    task: sync\n    kwargs: {full: true}\n"
    )
    assert load_schedules(tmp_path / "worker.json") == load_schedules(tmp_path / "worker.yaml")
    [entry] = load_schedules(tmp_path / "worker.yaml")
    assert (entry.name, entry.cron, entry.kwargs) == ("sync", "0 * * * *", {"full": True})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[schedules.a]\ntask = "t"\n', "s.toml: schedule a: give exactly one of cron or every"),
        ('[schedules.a]\ncron = "0 3 * *"\ntask = "t"\n', "s.toml: schedule a: cron '0 3 * *': 4 field(s)"),
        ('[schedules.a]\ncron = "0 25 * * *"\ntask = "t"\n', "s.toml: schedule a: cron '0 25 * * *': Bad hour"),  # noqa: E501
        ('[schedules.a]\nevery = "soon"\ntask = "t"\n', "s.toml: schedule a: invalid every 'soon'"),
        ('[schedules.a]\nevery = "0.5s"\ntask = "t"\n', "s.toml: schedule a: every '0.5s': use whole seconds"),  # noqa: E501
        ('[schedules.a]\nevery = "1m"\n', "s.toml: schedule a: task: missing"),
        ('[schedules.a]\nevery = "1m"\ntask = "t"\ntimezone = "Mars/Base"\n', "s.toml: schedule a: timezone 'Mars/Base'"),  # noqa: E501
        ('[schedules.a]\nevery = "1m"\ntask = "t"\ncatch_up = "some"\n', "s.toml: schedule a: catch_up 'some'"),  # noqa: E501
        ('[schedules.a]\nevery = "1m"\ntask = "t"\nkwargs = [1]\n', "s.toml: schedule a: kwargs must be a table"),  # noqa: E501
        ('[schedules.a]\nevery = "1m"\ntask = "t"\ncorn = "x"\n', "s.toml: schedule a: unknown field(s) corn"),  # noqa: E501
        ('[schedules."a:b"]\nevery = "1m"\ntask = "t"\n', "s.toml: schedule a:b: a name must be non-empty and hold no ':'"),  # noqa: E501
        ('[[schedule]]\ntask = "t"\n', "s.toml: schedule t: schedule: missing"),
        ('[schedules.t]\nevery = "1m"\ntask = "t"\n[[schedule]]\nschedule = "* * * * *"\ntask = "t"\n',
         "s.toml: schedule t: defined twice"),
        # what could never be posted is found at load, not when the slot comes (it would stop
        # the scheduler and every other schedule with it)
        ('[schedules.a]\nevery = "1m"\ntask = "t"\nkwargs = {x = nan}\n', "s.toml: schedule a: cannot send kwargs.x = nan"),  # noqa: E501
        ('[schedules.a]\nevery = "1m"\ntask = "t"\nargs = [-inf]\n', "s.toml: schedule a: cannot send args[0] = -inf"),  # noqa: E501
        ('[schedules.a]\nevery = "1m"\ntask = "t"\nargs = [{n = 99999999999999999999}]\n', "s.toml: schedule a: cannot send args[0].n = 99999999999999999999"),  # noqa: E501
        ('[schedules.a]\nevery = "1m"\ntask = "t"\npriority = -9223372036854775808\n', "s.toml: schedule a: cannot send priority = 9223372036854775808"),  # noqa: E501
        ("[schedules\n", "s.toml: cannot parse:"),
        ("", "s.toml: defines no schedules"),
    ],
)  # fmt: skip
def test_problems_name_the_file_and_schedule(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScheduleFileError) as caught:
        load_schedules(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(problem), caught.value.problems


def test_every_problem_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[schedules.a]\ntask = "t"\n[schedules.b]\ncron = "x"\ntask = "t"\n[schedules.c]\nevery = "1h"\ntask = "t"\n'  # noqa: E501
    )
    with pytest.raises(ScheduleFileError) as caught:
        load_schedules(path)
    assert [p.split(":")[1].strip() for p in caught.value.problems] == ["schedule a", "schedule b"]
