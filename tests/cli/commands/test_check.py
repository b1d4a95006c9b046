"""`eventix check`: each rule at its boundaries with a frozen clock, against both servers; the
plugin exit codes; every error (unreachable server, bad options) is UNKNOWN (3); the number of
requests does not grow with the queue."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from freezegun import freeze_time

from eventix_cli.client.sender import HttpSender
from eventix_cli.core.statuses import TaskStatus
from eventix_cli.core.thresholds import Limit, State, parse_limit
from eventix_cli.core.times import utcnow
from tests.support.servers import free_port
from tests.support.tasks import failed, get, seed

MS = dt.timedelta(milliseconds=1)


def check(cli, server, namespace, *rules: str):
    result = cli("check", "--url", server.url, "-n", namespace, *rules)
    assert result.exit_code in (0, 1, 2), result.stderr
    return result


def states(cli, server, namespace, *rules: str) -> tuple[int, dict]:
    result = check(cli, server, namespace, *rules, "-o", "json")
    report = json.loads(result.stdout)
    assert report["exit_code"] == result.exit_code
    return result.exit_code, {c["rule"]: c for c in report["checks"]}


# -- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "value", "state"),
    [
        ("max", "10", 10, State.OK),
        ("max", "10", 11, State.CRITICAL),
        ("max", "5:20", 5, State.OK),
        ("max", "5:20", 6, State.WARNING),
        ("max", "5:20", 20, State.WARNING),
        ("max", "5:20", 21, State.CRITICAL),
        ("max", "0", 0, State.OK),
        ("max", "0", 1, State.CRITICAL),
        ("min", "1", 1, State.OK),
        ("min", "1", 0, State.CRITICAL),
        ("min", "10:1", 10, State.OK),
        ("min", "10:1", 9, State.WARNING),
        ("min", "10:1", 1, State.WARNING),
        ("min", "10:1", 0, State.CRITICAL),
    ],
)
def test_a_value_at_a_limit_is_within_it(kind, text, value, state) -> None:
    assert parse_limit(text, "--x", kind=kind).state(value) is state


def test_limits_parse_windows_and_durations() -> None:
    hour = dt.timedelta(hours=1)
    assert parse_limit("5:20/2h", "--e", kind="max", default_window=hour) == Limit(
        "max", 20, 5, dt.timedelta(hours=2)
    )
    assert parse_limit("3", "--e", kind="max", default_window=hour).window == hour
    assert parse_limit("2m:5m", "--o", kind="max", duration=True) == Limit("max", 300, 120, None, True)


# -- each rule against both servers, at its boundary ---------------------------------------------


def test_oldest_due_at_its_boundary(cli, server, namespace) -> None:
    eta = (utcnow() - dt.timedelta(hours=1)).replace(microsecond=0)
    seed(server.url, namespace, eta=eta)
    with freeze_time(eta + dt.timedelta(minutes=5)):
        code, checks = states(cli, server, namespace, "--max-oldest-due", "5m")
        assert (code, checks["oldest-due"]["value"]) == (0, 300)
        assert states(cli, server, namespace, "--max-oldest-due", "4m:5m")[0] == 1
    with freeze_time(eta + dt.timedelta(minutes=5) + MS):
        result = check(cli, server, namespace, "--max-oldest-due", "5m")
        assert result.exit_code == 2
        assert result.stdout == (
            f"CRITICAL {namespace} oldest-due: oldest due task waited 5m (critical > 5m)\n"
        )


def test_errors_within_the_window_at_its_boundary(cli, server, namespace) -> None:
    updated = get(server.url, failed(server.url, namespace)[0].uid).updated_time
    seed(server.url, namespace, status=TaskStatus.done)  # not an error
    with freeze_time(updated + dt.timedelta(hours=1)):
        code, checks = states(cli, server, namespace, "--max-errors", "0/1h")
        assert (code, checks["errors"]["value"], checks["errors"]["exact"]) == (2, 1, False)
        assert states(cli, server, namespace, "--max-errors", "0:1")[0] == 1  # default window 1h
        result = check(cli, server, namespace, "--max-errors", "1/1h")
        assert result.stdout == f"OK {namespace} errors: 1 tasks failed within 1h (critical > 1)\n"
    with freeze_time(updated + dt.timedelta(hours=1) + MS):
        assert states(cli, server, namespace, "--max-errors", "0/1h")[0] == 0


def test_min_done_at_its_boundary(cli, server, namespace) -> None:
    done = seed(server.url, namespace, status=TaskStatus.done)[0]
    updated = get(server.url, done.uid).updated_time
    with freeze_time(updated + dt.timedelta(minutes=10)):
        assert states(cli, server, namespace, "--min-done", "1/10m")[0] == 0
        assert states(cli, server, namespace, "--min-done", "2:1/10m")[0] == 1
    with freeze_time(updated + dt.timedelta(minutes=10) + MS):
        code, checks = states(cli, server, namespace, "--min-done", "1/10m")
        assert (code, checks["done"]["value"]) == (2, 0)


def test_processing_past_its_lease_at_the_boundary(cli, server, namespace) -> None:
    lease = (utcnow() + dt.timedelta(minutes=1)).replace(microsecond=0)
    seed(server.url, namespace, status=TaskStatus.processing, worker_id="w1", worker_expires=lease)
    seed(
        server.url, namespace, status=TaskStatus.processing, worker_id="w2", worker_expires=lease + MS * 1000
    )
    with freeze_time(lease):
        assert states(cli, server, namespace, "--max-processing-expired", "0")[0] == 0
    with freeze_time(lease + MS):
        code, checks = states(cli, server, namespace, "--max-processing-expired", "0")
        assert (code, checks["processing-expired"]["value"]) == (2, 1)
        assert states(cli, server, namespace, "--max-processing-expired", "1")[0] == 0


def test_queued_counts_and_the_worst_line_first(cli, server, namespace) -> None:
    seed(server.url, namespace, 3)
    failed(server.url, namespace)  # an error, not queued
    assert states(cli, server, namespace, "--max-queued", "3")[0] == 0
    assert states(cli, server, namespace, "--max-queued", "2:5")[0] == 1
    result = check(cli, server, namespace, "--max-queued", "2", "--max-errors", "5")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0] == f"CRITICAL {namespace} queued: 3 tasks queued (critical > 2)"
    assert lines[1].startswith(f"OK {namespace} errors: 1 tasks failed within 1h")


def test_jsonl_and_csv_have_one_record_per_rule(cli, server, namespace) -> None:
    seed(server.url, namespace, 2)
    rules = ("--max-queued", "1:5", "--max-errors", "3/2h")
    lines = check(cli, server, namespace, *rules, "-o", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "state": "WARNING", "namespace": namespace, "rule": "queued", "value": 2, "exact": True,
            "warning": 1, "critical": 5, "window_seconds": None,
        },
        {
            "state": "OK", "namespace": namespace, "rule": "errors", "value": 0, "exact": True,
            "warning": None, "critical": 3, "window_seconds": 7200.0,
        },
    ]  # fmt: skip
    csv = check(cli, server, namespace, *rules, "-o", "csv").stdout.splitlines()
    assert csv[0] == "state,namespace,rule,value,exact,warning,critical,window_seconds"
    assert csv[1].startswith(f"WARNING,{namespace},queued,2,")


def test_every_namespace_with_A(cli, server, namespace) -> None:
    seed(server.url, namespace)
    seed(server.url, f"{namespace}-b", 2)
    result = cli("check", "--url", server.url, "-A", "--max-queued", "1", "-o", "json")
    checks = {c["namespace"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks[namespace]["state"] == "OK"
    assert checks[f"{namespace}-b"]["state"] == "CRITICAL"
    assert result.exit_code == 2


# -- UNKNOWN ----------------------------------------------------------------------------------


def test_an_unreachable_server_is_unknown(cli) -> None:
    result = cli("check", "--url", f"http://127.0.0.1:{free_port()}", "--max-queued", "1")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "ServerUnreachable" in result.stderr
    assert result.stderr.splitlines()[-1] == "UNKNOWN: the checks could not be run"


@pytest.mark.parametrize(
    "args",
    [
        [],  # no rule
        ["--max-queued", "many"],
        ["--max-errors", "20:5"],  # warning above critical
        ["--min-done", "1:10"],  # warning below critical
        ["--max-errors", "1/soon"],
        ["--max-queued", "1/1h"],  # no window for this rule
        ["--max-oldest-due", "soon"],
        ["--max-errors", "20000"],  # beyond what one page decides
        ["--no-such-option"],
        ["--max-queued", "1", "-o", "ids"],  # no task uids to print
    ],
)
def test_bad_options_are_unknown_not_critical(cli, args) -> None:
    result = cli("check", "--url", f"http://127.0.0.1:{free_port()}", *args)
    assert result.exit_code == 3, result.stderr
    assert result.stderr.startswith("error: ")
    assert "(UsageError)" in result.stderr


def test_help_is_not_an_error(cli) -> None:
    result = cli("check", "--help")
    assert result.exit_code == 0
    assert "--max-oldest-due" in result.stdout


# -- requests ---------------------------------------------------------------------------------


def test_requests_do_not_grow_with_the_queue(cli, embedded_url, namespace, monkeypatch) -> None:
    sent: list[str] = []
    real = HttpSender.request

    def counting(self, method, path, **kwargs):
        sent.append(f"{method} {path}")
        return real(self, method, path, **kwargs)

    rules = ["--max-oldest-due", "5m", "--max-errors", "5:20/1h", "--min-done", "1/10m"]
    rules += ["--max-processing-expired", "0", "--max-queued", "100"]
    url_ns = ["--url", embedded_url, "-n", namespace]
    counts = []
    for size in (1, 400):
        seed(embedded_url, namespace, size)
        failed(embedded_url, namespace, size)
        monkeypatch.setattr(HttpSender, "request", counting)
        sent.clear()
        assert cli("check", *url_ns, *rules).exit_code in (0, 1, 2)
        monkeypatch.setattr(HttpSender, "request", real)
        counts.append(len(sent))
    # one request per rule (the oldest due task: one per pending status, each answered from an
    # index), whatever the queue holds
    assert counts == [6, 6]
