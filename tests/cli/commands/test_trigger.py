"""``eventix trigger check|test`` (no server) and ``eventix server --triggers`` start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.servers import REPO_ROOT, running_server

GOOD = """\
triggers:
  Announce:
    event_name: StatusChanged
    namespace: default
    trigger_type: default
    code: |
      def execute(self, event: TEventixEvent) -> TEventixTask:
          payload = event.payload_dict()
          if payload.get("status") != "ANNOUNCED":
              self.ignore()
          return TEventixTask(task="send_announcement", kwargs=dict(nr=payload["nr"]))
"""
BROKEN = """\
triggers:
  NoEvent:
    code: "def execute(self, event): pass"
  NoExecute:
    event_name: StatusChanged
    code: "x = 1"
"""


def make_dir(tmp_path: Path, **files: str) -> Path:
    directory = tmp_path / "triggers"
    directory.mkdir()
    for name, text in files.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


def test_check_ok(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, good=GOOD)
    result = cli("trigger", "check", str(directory))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "ok: 1 trigger(s) for 1 event(s) in 1 file(s)" in result.stderr


def test_check_one_line_per_problem_and_exit_2(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, good=GOOD, broken=BROKEN)
    result = cli("trigger", "check", str(directory))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "broken.yaml: trigger NoEvent: event_name: Field required",
        "broken.yaml: trigger NoExecute: code does not define execute(self, event) at its top level",
    ]
    assert f"error: 2 problem(s) in {directory} (TriggerConfigError)" in result.stderr
    as_json = cli("trigger", "check", str(directory), "-o", "json")
    assert [p["trigger"] for p in json.loads(as_json.stdout)] == ["NoEvent", "NoExecute"]


def test_test_prints_the_tasks_an_event_would_create(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, good=GOOD)
    payload = tmp_path / "event.json"
    payload.write_text('{"status": "ANNOUNCED", "nr": 7}')
    result = cli(
        "trigger", "test", str(directory), "StatusChanged", "--payload", f"@{payload}", "-n", "billing",
        "--priority", "3", "-o", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    [outcome] = json.loads(result.stdout)
    assert (outcome["trigger"], outcome["file"], outcome["result"]) == ("Announce", "good.yaml", "created")
    task = outcome["task"]
    # --priority is logical, as for `event post`: the task is stored as -3 (higher runs first)
    assert (task["task"], task["kwargs"], task["namespace"], task["priority"]) == (
        "send_announcement", {"nr": 7}, "billing", -3,
    )  # fmt: skip
    assert "1 task(s) created, 0 ignored, 0 failed" in result.stderr
    table = cli(
        "trigger", "test", str(directory), "StatusChanged", "--payload", f"@{payload}", "--priority", "3",
    )  # fmt: skip
    assert table.stdout.splitlines()[1].split()[:5] == [
        "Announce",
        "created",
        "send_announcement",
        "default",
        "3",
    ]


def test_test_table_shows_ignored_and_failed_with_reasons(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, good=GOOD)
    ignored = cli("trigger", "test", str(directory), "StatusChanged", "--payload", '{"status": "OPEN"}')
    assert ignored.exit_code == 0
    assert ignored.stdout.splitlines()[1].split() == ["Announce", "ignored", "self.ignore()"]
    failed = cli("trigger", "test", str(directory), "StatusChanged", "--payload", '{"status": "ANNOUNCED"}')
    assert failed.exit_code == 1
    assert "KeyError: 'nr' (line 5)" in failed.stdout
    assert "error: trigger Announce failed: KeyError: 'nr' (line 5) (TriggerRunFailed)" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_test_no_trigger_for_the_event(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, good=GOOD)
    result = cli("trigger", "test", str(directory), "Nobody", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert "no trigger listens for event Nobody" in result.stderr


def test_test_refuses_a_broken_directory_and_a_non_object_payload(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, broken=BROKEN)
    result = cli("trigger", "test", str(directory), "StatusChanged")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "error: broken.yaml: trigger NoEvent: event_name: Field required (TriggerConfigError)"
    )
    bad = cli("trigger", "test", str(directory), "e", "--payload", "[1]")
    assert bad.exit_code == 2
    assert "--payload must be a JSON object" in bad.stderr


def test_server_refuses_to_start_with_a_broken_trigger_file(tmp_path: Path) -> None:
    directory = make_dir(tmp_path, broken=BROKEN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTIX_")}
    result = subprocess.run(
        [sys.executable, "-m", "eventix_cli", "server", "--db", ":memory:", "--port", "0", "--triggers",
         str(directory)],
        cwd=REPO_ROOT, env={**env, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines()[-2:] == [
        "error: broken.yaml: trigger NoEvent: event_name: Field required (TriggerConfigError)",
        f"hint: 1 more problem(s); run 'eventix trigger check {directory}'",
    ]


def test_server_runs_triggers_on_post_event(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, good=GOOD)
    with (
        running_server(
            "embedded", tmp_path / "logs", extra_args=["--db", ":memory:", "--triggers", str(directory)]
        ) as srv,
        httpx.Client(base_url=srv.url, trust_env=False, timeout=10) as http,
    ):
        created = http.post(
            "/event",
            json={
                "name": "StatusChanged",
                "namespace": "n1",
                "payload": {"status": "ANNOUNCED", "nr": 1},
            },
        ).json()
        ignored = http.post("/event", json={"name": "StatusChanged", "payload": {"status": "OPEN"}}).json()
        stored = http.get(f"/task/{created[0]['uid']}").json()
        posted = cli(
            "event", "post", "StatusChanged", "--payload", '{"status": "ANNOUNCED", "nr": 2}',
            "--url", srv.url, "-n", "n2", "-o", "json",
        )  # fmt: skip
    assert posted.exit_code == 0, posted.stderr
    assert [(t["task"], t["namespace"], t["kwargs"]) for t in json.loads(posted.stdout)] == [
        ("send_announcement", "n2", {"nr": 2})
    ]
    assert "1 task(s) created" in posted.stderr
    assert [(t["task"], t["namespace"], t["kwargs"]) for t in created] == [
        ("send_announcement", "n1", {"nr": 1})
    ]
    assert stored["revision"] == created[0]["revision"]
    assert ignored == []
    assert "triggers: 1 loaded from" in srv.log()


RAISING = """\
triggers:
  Exits:
    event_name: Hostile
    code: |
      def execute(self, event):
          raise SystemExit(3)
  Interrupts:
    event_name: Hostile
    code: |
      def execute(self, event):
          raise KeyboardInterrupt
  Fine:
    event_name: Hostile
    code: |
      def execute(self, event):
          return TEventixTask(task="still_runs")
"""


def test_test_reports_a_trigger_raising_system_exit_as_failed(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, raising=RAISING.replace("raise KeyboardInterrupt", "return None"))
    result = cli("trigger", "test", str(directory), "Hostile")
    assert result.exit_code == 1, result.stderr
    rows = [line.split()[:2] for line in result.stdout.splitlines()[1:]]
    assert rows == [["Exits", "failed"], ["Interrupts", "failed"], ["Fine", "created"]]
    assert "SystemExit: 3 (line 2)" in result.stdout


def test_server_survives_triggers_raising_base_exceptions(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, raising=RAISING)
    with (
        running_server(
            "embedded", tmp_path / "logs", extra_args=["--db", ":memory:", "--triggers", str(directory)]
        ) as srv,
        httpx.Client(base_url=srv.url, trust_env=False, timeout=10) as http,
    ):
        answer = http.post("/event", json={"name": "Hostile"})
        assert answer.status_code == 200, answer.text
        assert [t["task"] for t in answer.json()] == ["still_runs"]
        again = cli("event", "post", "Hostile", "--url", srv.url, "-o", "json")
        assert http.get("/healthz").status_code == 200
    assert again.exit_code == 1, again.stderr  # the triggers that failed are named (issue 20)
    assert [t["task"] for t in json.loads(again.stdout)] == ["still_runs"]
    assert "2 triggers failed on the server" in again.stderr
    assert "trigger failed: SystemExit: 3" in srv.log()
    assert "trigger failed: KeyboardInterrupt" in srv.log()


ENDLESS = """\
triggers:
  Spins:
    event_name: Endless
    code: |
      def execute(self, event):
          while True:
              pass
  Fine:
    event_name: Other
    code: |
      def execute(self, event):
          return TEventixTask(task="other")
"""


def test_server_bounds_a_trigger_that_never_ends(cli, tmp_path: Path) -> None:
    # A trigger that loops forever must not take the server with it: the event is answered
    # with TriggersTooSlow after the time limit, and every other request is served meanwhile.
    directory = make_dir(tmp_path, endless=ENDLESS)
    args = ["--db", ":memory:", "--triggers", str(directory), "--trigger-time-limit", "0.5"]
    with (
        running_server("embedded", tmp_path / "logs", extra_args=args) as srv,
        httpx.Client(base_url=srv.url, trust_env=False, timeout=10) as http,
    ):
        posted = cli("event", "post", "Endless", "--url", srv.url, "--request-timeout", "8")
        assert http.get("/healthz", timeout=2).status_code == 200
        other = http.post("/event", json={"name": "Other"}, timeout=5)
        assert other.status_code == 200, other.text
        assert [t["task"] for t in other.json()] == ["other"]
        raw = http.post("/event", json={"name": "Endless"}, timeout=5)
    assert posted.exit_code == 5, posted.stderr
    assert posted.stderr.splitlines()[0] == (
        "error: the triggers of event Endless ran longer than 0.5 s (trigger Spins is still running): "
        "the event was not fully handled (TriggersTooSlow)"
    )
    assert raw.status_code == 500
    assert raw.json()["error_class"] == "TriggersTooSlow"
    assert raw.json()["error_payload"] == {"event": "Endless", "trigger": "Spins", "limit": 0.5}
    assert "Traceback" not in posted.stderr


SLOW = """\
triggers:
  Slow:
    event_name: Slow
    code: |
      def execute(self, event):
          import time
          time.sleep(1.0)
          return TEventixTask(task="late")
"""


def test_a_trigger_finishing_after_the_time_limit_still_stores_its_task(tmp_path: Path) -> None:
    directory = make_dir(tmp_path, slow=SLOW)
    args = ["--db", ":memory:", "--triggers", str(directory), "--trigger-time-limit", "0.2"]
    with (
        running_server("embedded", tmp_path / "logs", extra_args=args) as srv,
        httpx.Client(base_url=srv.url, trust_env=False, timeout=10) as http,
    ):
        answer = http.post("/event", json={"name": "Slow", "namespace": "late"})
        assert answer.status_code == 500
        assert answer.json()["error_class"] == "TriggersTooSlow"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            page = http.put("/tasks/by_status", json={"filter": {"namespace": "late"}}).json()
            if page["ids"]:
                break
            time.sleep(0.05)
        assert [t["task"] for t in page["data"].values()] == ["late"]
    assert "Traceback" not in srv.log(), srv.log()


FAILING = """\
triggers:
  Crashes:
    event_name: StatusChanged
    namespace: default
    trigger_type: default
    code: |
      def execute(self, event: TEventixEvent) -> TEventixTask:
          raise ValueError("no invoice " + str(event.payload_dict()["nr"]))
"""


def test_event_post_says_a_trigger_failed_on_the_server(cli, tmp_path: Path) -> None:
    directory = make_dir(tmp_path, good=GOOD, failing=FAILING)
    with running_server(
        "embedded", tmp_path / "logs", extra_args=["--db", ":memory:", "--triggers", str(directory)]
    ) as srv:
        base = ("event", "post", "StatusChanged", "--url", srv.url, "-n", "n1")
        both = cli(*base, "--payload", '{"status": "ANNOUNCED", "nr": 3}')
        only_failed = cli(*base, "--payload", '{"status": "OPEN", "nr": 4}')
    assert both.exit_code == 1
    assert len(both.stdout.splitlines()) == 2  # the created task's table (header and row)
    assert "event StatusChanged posted; 1 task(s) created" in both.stderr
    assert "error: trigger Crashes failed on the server: ValueError: no invoice 3" in both.stderr
    assert only_failed.exit_code == 1
    assert "no trigger created a task" not in only_failed.stderr
    assert "error: trigger Crashes failed on the server: ValueError: no invoice 4" in only_failed.stderr


KEYED = """\
triggers:
  Keyed:
    event_name: Remind
    namespace: default
    code: |
      def execute(self, event: TEventixEvent) -> TEventixTask:
          return TEventixTask(task="remind", unique_key="remind:7", kwargs=dict(n=2))
"""


def test_undo_of_an_event_keeps_a_pending_task_the_trigger_only_updated(cli, tmp_path: Path) -> None:
    """A trigger's task with the unique key of a pending task updates that task: undoing the
    event must not delete a task the event did not add."""
    directory = make_dir(tmp_path, keyed=KEYED)
    with (
        running_server(
            "embedded", tmp_path / "logs", extra_args=["--db", ":memory:", "--triggers", str(directory)]
        ) as srv,
        httpx.Client(base_url=srv.url, trust_env=False, timeout=10) as http,
    ):
        existing = http.post(
            "/task",
            json={
                "task": "remind",
                "namespace": "n1",
                "unique_key": "remind:7",
                "kwargs": {"n": 1},
            },
        ).json()  # created a moment before the event: a script's `task add` then `event post`
        posted = cli("event", "post", "Remind", "--url", srv.url, "-n", "n1", "-o", "json")
        assert posted.exit_code == 0, posted.stderr
        assert [t["uid"] for t in json.loads(posted.stdout)] == [existing["uid"]]
        undone = cli("undo", "--yes", "--url", srv.url)
        after = http.get(f"/task/{existing['uid']}")
    assert after.status_code == 200, undone.stderr
